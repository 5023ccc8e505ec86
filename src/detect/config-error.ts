import { VigilError } from '../core/errors.ts';

/** A refused configuration: the message names the bad field by its JSON path. */
export function configError(path: string, problem: string): VigilError {
  return new VigilError('VIGIL_ERR_DETECT_CONFIG_INVALID', `${path}: ${problem}`, 400, { path });
}
