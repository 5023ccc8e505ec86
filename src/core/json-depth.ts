/**
 * JSON nesting depth, measured on the bytes before anything recursive touches them. `JSON.parse`
 * itself copes with deep input, but every later recursive walk (`JSON.stringify`, normalizers,
 * schema validators) overflows the stack on `[[[[…]]]]` thousands deep: a 40 KB payload under the
 * size limit. One pass, no allocation; strings (and the escapes in them) are skipped.
 */

/** Deepest nesting accepted from outside: far above any device format (Vigil's own is 4). */
export const maxJsonDepth = 64;

/** True when the text nests objects/arrays deeper than `max`. Not a validator: only depth is judged. */
export function jsonTooDeep(bytes: Uint8Array | string, max = maxJsonDepth): boolean {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * A short, safe rendering of an untrusted value for an error message: primitives quoted (long
 * strings cut), objects and arrays named, never serialized (they may be deep or huge).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** The same limit on an already parsed value (an API body), walked without recursion. */
export function valueTooDeep(value: unknown, max = maxJsonDepth): boolean {
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  return false;
}
