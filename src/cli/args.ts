/** Minimal, strict argument parsing for subcommands (node:util parseArgs with friendly errors). */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { VigilError } from '../core/errors.ts';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new VigilError('VIGIL_ERR_CLI_USAGE', `${e instanceof Error ? e.message : e}\nusage: ${usage}`, 2);
  }
}
