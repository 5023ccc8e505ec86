/**
 * The worker-thread side of PgliteWorkerDatabase: owns the PGlite instance, so the WASM database
 * engine runs on its own thread beside the event loop that serves HTTP and MQTT. Requests come as
 * messages; an open transaction is held here until the main thread commits or rolls it back.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';

export type Request =
  | { id: number; op: 'query'; text: string; params: unknown[]; tx?: number }
  | { id: number; op: 'exec'; text: string; tx?: number }
  | { id: number; op: 'begin'; tx: number }
  | { id: number; op: 'commit' | 'rollback'; tx: number }
  | { id: number; op: 'close' };

export type Response =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: Record<string, unknown> };

const port = parentPort;
if (!port) throw new Error('pglite-worker runs in a worker thread');
const dataDir = (workerData as { dataDir?: string }).dataDir;
if (dataDir) mkdirSync(dataDir, { recursive: true });

let db: PGlite;
/**
 * Open transactions by the id the main thread chose: `begin` and the statements after it are posted
 * back to back (no round trip per step), so a statement may arrive before its transaction is open.
 */
const txs = new Map<
  number,
  { ready: Promise<Transaction>; end: (commit: boolean, requestId: number) => void }
>();

function errorOf(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { message: String(e) };
  // DatabaseError fields (code = SQLSTATE, detail, constraint, …) survive, as the adapter exposes them
  const out: Record<string, unknown> = { message: e.message, name: e.name };
  for (const [k, v] of Object.entries(e)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  }
  return out;
}

const reply = (r: Response) => port.postMessage(r);
const rollbackMarker = new Error('rollback');
const noReply = Symbol('no reply');

function begin(id: number, tx: number): void {
  let opened!: (t: Transaction) => void;
  let failed!: (e: unknown) => void;
  const ready = new Promise<Transaction>((res, rej) => {
    opened = res;
    failed = rej;
  });
  ready.catch(() => {}); // observed by the statements and the end request
  let decide!: (commit: boolean) => void;
  const decided = new Promise<boolean>((r) => {
    decide = r;
  });
  let endRequest = 0;
  txs.set(tx, {
    ready,
    end: (commit, requestId) => {
      endRequest = requestId;
      decide(commit);
    },
  });
  db.transaction(async (t) => {
    opened(t);
    if (!(await decided)) throw rollbackMarker;
  }).then(
    () => {
      txs.delete(tx);
      reply({ id: endRequest, ok: true, value: null });
    },
    (e: unknown) => {
      txs.delete(tx);
      failed(e); // BEGIN itself failed: the statements and the end request get the error
      if (endRequest)
        reply(
          e === rollbackMarker
            ? { id: endRequest, ok: true, value: null }
            : { id: endRequest, ok: false, error: errorOf(e) },
        );
    },
  );
  reply({ id, ok: true, value: tx });
}

async function target(tx: number | undefined): Promise<PGlite | Transaction> {
  if (!tx) return db;
  const t = txs.get(tx);
  if (!t) throw new Error('transaction is not open');
  return t.ready;
}

async function handle(m: Request): Promise<unknown> {
  switch (m.op) {
    case 'query':
      return (await (await target(m.tx)).query(m.text, m.params)).rows;
    case 'exec':
      await (await target(m.tx)).exec(m.text);
      return null;
    case 'begin':
      begin(m.id, m.tx);
      return noReply;
    case 'commit':
    case 'rollback': {
      const t = txs.get(m.tx);
      if (!t) throw new Error('transaction is not open');
      t.end(m.op === 'commit', m.id);
      return noReply; // answered when the transaction has ended
    }
    case 'close':
      if (!db.closed) await db.close();
      return null;
  }
}

db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
port.on('message', (m: Request) => {
  handle(m).then(
    (value) => {
      if (value !== noReply) reply({ id: m.id, ok: true, value });
    },
    (e: unknown) => reply({ id: m.id, ok: false, error: errorOf(e) }),
  );
});
port.postMessage({ ready: true });
