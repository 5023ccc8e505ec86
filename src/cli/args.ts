/** Minimal, strict argument parsing for subcommands (node:util parseArgs with friendly errors). */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { VigilError } from '../core/errors.ts';

/** The options of every command that talks to the running server. */
export const commonOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Prints the command's usage on stderr; returns the exit code for a usage error. */
export function usageError(usage: string): number {
  process.stderr.write(`usage: ${usage}\n`);
  return 2;
}

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
