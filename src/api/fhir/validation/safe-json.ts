/** Deeper than any R4 resource nests (Questionnaire items included); deeper input is refused. */
export const maxDepth = 100;

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The first thing in parsed JSON that no FHIR string may hold and PostgreSQL's json cannot store:
 * a NUL character, an unpaired UTF-16 surrogate (in a key or a value), or nesting deeper than
 * `maxDepth`. Iterative, so hostile depth costs no stack. Returns the element path and the problem.
 */
export function unstorable(root: unknown, rootPath = ''): { path: string; problem: string } | undefined {
  const stack: Array<[unknown, string, number]> = [[root, rootPath, 0]];
  const bad = (s: string) =>
    s.includes('\u0000') ? 'a NUL character' : loneSurrogate.test(s) ? 'an unpaired surrogate' : undefined;
  while (stack.length) {
    const [node, path, depth] = stack.pop() as [unknown, string, number];
    if (typeof node === 'string') {
      const p = bad(node);
      if (p) return { path, problem: `contains ${p}` };
      continue;
    }
    if (!node || typeof node !== 'object') continue;
    if (depth >= maxDepth) return { path, problem: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}[${i}]`, depth + 1]);
      continue;
    }
    for (const [k, v] of Object.entries(node)) {
      const p = bad(k);
      if (p) return { path, problem: `has a property name that contains ${p}` };
      stack.push([v, path ? `${path}.${k}` : k, depth + 1]);
    }
  }
  return undefined;
}
