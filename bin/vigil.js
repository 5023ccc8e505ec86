#!/usr/bin/env node
// The `vigil` command. Vigil runs on Node.js 24 (TypeScript by type stripping); when started by an
// older Node, re-run with the Node 24 that `npm ci` installed into node_modules (the `node` package).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`vigil: needs Node.js 24 (found ${process.version}); run \`npm ci\` first\n`);
    process.exit(1);
  }
  // An IPC channel to the child: when this launcher dies, even by SIGKILL, the operating system
  // closes it and the child stops (below) — no orphan keeps the ports and the data directory.
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, VIGIL_LAUNCHED_BY: String(process.pid) },
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  if (process.env.VIGIL_LAUNCHED_BY && process.channel) {
    // Started by the launcher above: its end is ours. A graceful stop (SIGTERM: commit what was
    // accepted, close), and should that hang, an exit after the grace time.
    delete process.env.VIGIL_LAUNCHED_BY;
    process.channel.unref();
    process.once('disconnect', () => {
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => process.exit(1), 60_000).unref();
    });
  }
  const { main } = await import('../src/cli/main.ts');
  // Exit explicitly: a command is done when main resolves, whatever handles a library left open.
  process.exit(await main(process.argv.slice(2)));
}
