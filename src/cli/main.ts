import { isVigilError } from '../core/errors.ts';
import { commands } from './commands/index.ts';

async function help(): Promise<string> {
  const lines = [
    'Vigil — continuous patient monitoring (IoMT) platform',
    '',
    'usage: vigil <command> [options]',
    '',
    'commands:',
  ];
  for (const [name, load] of Object.entries(commands)) {
    const summary = await load().then(
      (m) => m.command.summary,
      () => '(unavailable)',
    );
    lines.push(`  ${name.padEnd(14)}${summary}`);
  }
  lines.push(
    '',
    'vigil <command> --help shows a command’s options. Configuration: VIGIL_* variables (see .env.example).',
  );
  return lines.join('\n');
}

/** Entry point of the `vigil` command; returns the exit code. Errors are one line, never a bare stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`vigil: unknown command "${name}"\n\n${await help()}\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\nusage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (isVigilError(e)) {
      process.stderr.write(`vigil ${name}: ${e.message} [${e.code}]\n`);
      return e.status === 2 ? 2 : 1;
    }
    process.stderr.write(
      `vigil ${name}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 1;
  }
}
