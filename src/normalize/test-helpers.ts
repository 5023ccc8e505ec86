/** Test helpers: turn drafts into complete Readings the way ingest would, with fixed identities. */
import type { Reading, Transport } from '../core/reading.ts';
import type { ReadingDraft } from './reading-draft.ts';

export function completeReading(
  draft: ReadingDraft,
  opts: { id: string; patientId: string | null; received: string; transport?: Transport },
): Reading {
  const { messageId, ...rest } = draft;
  return {
    ...rest,
    id: opts.id,
    patientId: opts.patientId,
    transport: opts.transport ?? 'mqtt',
    received: opts.received,
    idempotencyKey: `${draft.deviceId}|${messageId ? `m:${messageId}` : `t:${draft.effective}`}|${draft.code}`,
  };
}
