/**
 * Escapes text for an ER7 field with the standard delimiters `|^~\&`. (The normalize stage has its
 * own parser; ingest may not import it, see docs/architecture.md §3.)
 */
export function escapeEr7(value: string): string {
  return value
    .replace(/\\/g, '\\E\\')
    .replace(/\|/g, '\\F\\')
    .replace(/\^/g, '\\S\\')
    .replace(/&/g, '\\T\\')
    .replace(/~/g, '\\R\\')
    .replace(/[\r\n]+/g, ' ');
}
