import { createInterface } from 'node:readline/promises';
import { parse, usageError } from '../args.ts';
import { ApiClient, saveLogin } from '../client.ts';
import type { Command } from '../command.ts';

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const p = await rl.question('password: ');
  rl.close();
  return p;
}

export const command: Command = {
  name: 'login',
  summary: 'sign in to a running Vigil and keep the tokens (access and refresh) for later commands',
  usage: 'vigil login --username NAME [--totp CODE] [--url URL] [--password-stdin] [--print-token]',
  async run(args) {
    const { values } = parse(
      args,
      {
        username: { type: 'string' },
        totp: { type: 'string' },
        url: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'print-token': { type: 'boolean' },
      },
      this.usage,
    );
    if (!values.username) return usageError(this.usage);
    const client = new ApiClient({ url: values.url });
    const password = await readPassword(values['password-stdin'] ?? false);
    const r = await client.request<{ access_token: string; refresh_token?: string; expires_in: number }>(
      'POST',
      '/auth/token',
      { username: values.username, password, ...(values.totp ? { totp: values.totp } : {}) },
      false,
    );
    saveLogin({
      url: client.url,
      token: r.access_token,
      refreshToken: r.refresh_token,
      expiresAt: Date.now() + r.expires_in * 1000,
    });
    if (values['print-token']) process.stdout.write(`${r.access_token}\n`);
    else
      process.stderr.write(
        `signed in to ${client.url} (access token valid ${Math.round(r.expires_in / 60)} min, renewed with the session's refresh token)\n`,
      );
    return 0;
  },
};
