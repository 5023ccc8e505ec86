import { Worker } from 'node:worker_threads';
import type { Database, Sql } from '../database.ts';
import type { Request, Response } from './pglite-worker.ts';

type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * PGlite on a worker thread. The database engine (WASM) then uses the second core instead of the
 * event loop that parses MQTT and HTTP; each query costs a message each way. Same semantics as
 * PgliteDatabase: one connection, a transaction holds it exclusively, errors keep their SQLSTATE
 * `code`. Rows cross the thread boundary by structured clone (Date, Uint8Array for bytea).
 */
export class PgliteWorkerDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #nextId = 1;
  #nextTx = 1;
  #closed = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (r: Response) => {
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (this.#pending.size === 0) worker.unref();
      if (r.ok) p.resolve(r.value);
      else p.reject(Object.assign(new Error(String(r.error['message'])), r.error));
    });
    worker.on('error', (e) => this.#failAll(e));
    worker.on('exit', (code) => {
      this.#closed = true; // later calls fail at once instead of waiting for a thread that is gone
      this.#failAll(new Error(`PGlite worker exited (${code})`));
    });
  }

  /** dataDir undefined = in memory. */
  static async open(dataDir?: string): Promise<PgliteWorkerDatabase> {
    // A worker inherits the host's flags, but `--input-type` (for `node -e` only) makes it fail to
    // load: then it gets none. (Given explicitly, flags are validated, and the test runner's are not
    // all valid for workers, so otherwise nothing is passed.)
    const inputType = process.execArgv.some((a) => a.startsWith('--input-type'));
    const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), {
      workerData: { dataDir },
      ...(inputType ? { execArgv: [] } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      worker.once('error', onError);
      worker.once('exit', (c) => reject(new Error(`PGlite worker exited (${c}) while opening`)));
      worker.once('message', () => {
        worker.off('error', onError);
        worker.removeAllListeners('exit');
        resolve();
      });
    });
    worker.unref(); // an idle database does not keep the process alive (as in-thread PGlite does not)
    return new PgliteWorkerDatabase(worker);
  }

  #failAll(e: unknown): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  #call<T>(msg: Call): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('database is closed'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, ...msg });
    });
  }

  query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.#call<T[]>({ op: 'query', text, params: params as unknown[] });
  }

  async exec(text: string): Promise<void> {
    await this.#call({ op: 'exec', text });
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    // begin is not awaited: the statements follow it at once and the worker runs them in order
    const tx = this.#nextTx++;
    const begun = this.#call<number>({ op: 'begin', tx });
    const sql: Sql = {
      query: <R>(text: string, params: readonly unknown[] = []) =>
        this.#call<R[]>({ op: 'query', text, params: params as unknown[], tx }),
      exec: async (text: string) => {
        await this.#call({ op: 'exec', text, tx });
      },
    };
    let result: T;
    try {
      [, result] = await Promise.all([begun, fn(sql)]);
    } catch (e) {
      await this.#call({ op: 'rollback', tx }).catch(() => {});
      throw e;
    }
    await this.#call({ op: 'commit', tx });
    return result;
  }

  async ping(): Promise<void> {
    await this.query('select 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#call({ op: 'close' });
    this.#closed = true;
    await this.#worker.terminate();
  }
}
