import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VigilError } from '../core/errors.ts';
import { commonOptions, parse } from './args.ts';

/**
 * The CLI talks to a running Vigil over its HTTP API (so it works while embedded PGlite holds the
 * data). Server: --url, VIGIL_URL, the saved login, or http://localhost:8080. Token: --token,
 * VIGIL_TOKEN, or the one `vigil login` saved (file mode 0600) with its refresh token: when the saved
 * access token has expired (or is refused), the client refreshes it once (the server rotates the
 * refresh token; the new pair is saved), so a sign-in lasts as long as the session, not 15 minutes.
 */
const credentialsFile = () =>
  join(process.env['VIGIL_CLI_HOME'] ?? join(homedir(), '.vigil'), 'credentials.json');

interface Saved {
  url: string;
  token: string;
  refreshToken?: string | undefined;
  /** When the access token expires (epoch ms). */
  expiresAt?: number | undefined;
}

function readSaved(): Saved | undefined {
  try {
    return JSON.parse(readFileSync(credentialsFile(), 'utf8')) as Saved;
  } catch {
    return undefined;
  }
}

export function saveLogin(s: Saved): void {
  const f = credentialsFile();
  mkdirSync(join(f, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(f, JSON.stringify(s), { mode: 0o600 });
}

export interface ClientOptions {
  url?: string | undefined;
  token?: string | undefined;
}

export class ApiClient {
  readonly url: string;
  #token: string | undefined;
  /** The saved login, when the token comes from it (not --token or VIGIL_TOKEN) and its server is this one. */
  #saved: Saved | undefined;

  constructor(opts: ClientOptions = {}) {
    const saved = readSaved();
    this.url = (opts.url ?? process.env['VIGIL_URL'] ?? saved?.url ?? 'http://localhost:8080').replace(
      /\/$/,
      '',
    );
    const explicit = opts.token ?? process.env['VIGIL_TOKEN'];
    this.#token = explicit ?? saved?.token;
    this.#saved = !explicit && saved && saved.url.replace(/\/$/, '') === this.url ? saved : undefined;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    if (auth && this.#saved?.refreshToken && (this.#saved.expiresAt ?? 0) - 30_000 < Date.now())
      await this.#refresh();
    try {
      return await this.#request<T>(method, path, body, auth);
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (!auth || status !== 401 || !this.#saved?.refreshToken) throw e;
      if (!(await this.#refresh())) throw e;
      return this.#request<T>(method, path, body, auth);
    }
  }

  /** A request whose body is text of its own type (a CSV import), sent as it is. */
  async requestText<T = unknown>(
    method: string,
    path: string,
    text: string,
    contentType: string,
  ): Promise<T> {
    return this.request<T>(method, path, new RawBody(text, contentType));
  }

  /** Trades the saved refresh token for a new pair and saves it; false when the session has ended. */
  async #refresh(): Promise<boolean> {
    const saved = this.#saved;
    if (!saved?.refreshToken) return false;
    try {
      const r = await this.#request<{ access_token: string; refresh_token?: string; expires_in: number }>(
        'POST',
        '/auth/token',
        { grant_type: 'refresh_token', refresh_token: saved.refreshToken },
        false,
      );
      this.#saved = {
        url: saved.url,
        token: r.access_token,
        refreshToken: r.refresh_token ?? saved.refreshToken,
        expiresAt: Date.now() + r.expires_in * 1000,
      };
      this.#token = r.access_token;
      saveLogin(this.#saved);
      return true;
    } catch {
      this.#saved = { ...saved, refreshToken: undefined };
      saveLogin(this.#saved); // the session is over: the next command says "not signed in" at once
      return false;
    }
  }

  async #request<T = unknown>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined)
      headers['content-type'] = body instanceof RawBody ? body.contentType : 'application/json';
    if (auth) {
      if (!this.#token)
        throw new VigilError(
          'VIGIL_ERR_CLI_NOT_LOGGED_IN',
          'not signed in: run `vigil login` or set VIGIL_TOKEN',
          1,
        );
      headers['authorization'] = `Bearer ${this.#token}`;
    }
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: body instanceof RawBody ? body.text : JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new VigilError(
        'VIGIL_ERR_CLI_UNREACHABLE',
        `cannot reach Vigil at ${this.url} (${e instanceof Error ? e.message : e}); is it running?`,
        1,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    if (!res.ok) {
      const err = (
        json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined
      )?.error;
      const issue = (json as { issue?: Array<{ diagnostics?: string }> } | undefined)?.issue?.[0]
        ?.diagnostics;
      throw Object.assign(
        new VigilError(
          err?.code ?? `VIGIL_ERR_HTTP_${res.status}`,
          err?.message ?? issue ?? `HTTP ${res.status}`,
          1,
          err?.details,
        ),
        { status: res.status },
      );
    }
    return json as T;
  }
}

/** A body sent as text with its own content type (see ApiClient.requestText). */
class RawBody {
  readonly text: string;
  readonly contentType: string;
  constructor(text: string, contentType: string) {
    this.text = text;
    this.contentType = contentType;
  }
}

type Options = Parameters<typeof parse>[1];

/**
 * The start of a command that talks to the running server: `args` parsed with the common options
 * (--url, --token, --json) and `options`; the client, whether to answer in JSON, and the first
 * positional argument (usually an id).
 */
export function serverArgs<T extends Options>(args: string[], options: T, usage: string) {
  const { values, positionals } = parse<typeof commonOptions & T>(
    args,
    { ...commonOptions, ...options },
    usage,
  );
  return {
    values,
    positionals,
    id: positionals[0],
    json: (values as { json?: boolean }).json ?? false,
    client: new ApiClient(values),
  };
}
