import { type ProgramDefinition, validateProgramConfig } from '../program-config.ts';
import copd from './copd.json' with { type: 'json' };
import diabetesCgm from './diabetes-cgm.json' with { type: 'json' };
import heartFailure from './heart-failure.json' with { type: 'json' };
import hypertension from './hypertension.json' with { type: 'json' };
import inpatientContinuous from './inpatient-continuous.json' with { type: 'json' };
import postSurgical from './post-surgical.json' with { type: 'json' };

/**
 * The built-in monitoring programs, validated at load: a broken definition fails at import with
 * the field named, not at the first reading.
 */
export const builtInPrograms: ProgramDefinition[] = [
  hypertension,
  heartFailure,
  diabetesCgm,
  copd,
  postSurgical,
  inpatientContinuous,
].map((p, i) => validateProgramConfig(p, `programs[${i}]`));

export function builtInProgram(name: string): ProgramDefinition | undefined {
  return builtInPrograms.find((p) => p.name === name);
}
