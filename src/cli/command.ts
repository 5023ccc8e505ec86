/** A `vigil` subcommand: one file each under cli/commands/, registered in cli/commands/index.ts. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}
