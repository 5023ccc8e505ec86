import { badRequest } from '../outcomes.ts';

/**
 * Keyset paging cursors (`_cursor` in next links): the last row's first sort key as the store wrote
 * it and its id, base64url JSON. Opaque to clients; a page link is only ever followed as given.
 */
export function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

const uuid = /^[0-9a-f-]{36}$/i;
const timestamp = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d(:?\d\d)?|Z)$/;

export function decodeCursor(raw: string): { key: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      uuid.test(v[1]) &&
      (uuid.test(v[0]) || timestamp.test(v[0]))
    )
      return { key: v[0], id: v[1] };
  } catch {
    // answered below
  }
  throw badRequest('_cursor is not a cursor this server wrote (follow the next link as given)', '_cursor');
}
