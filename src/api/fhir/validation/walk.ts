import type { ElementDefinition, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Definitions } from './definitions.ts';

/** A reference found in a resource, with the types its element allows. */
export interface FoundReference {
  expression: string;
  reference: string;
  /** Type names from the element's targetProfile ('Resource' or empty = any). */
  targets: string[];
  /** Inside `contained` or a Bundle entry: resolves there, not against the server. */
  nested: boolean;
}

const typeName = (url: string) => url.slice(url.lastIndexOf('/') + 1);
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * What Medplum's structural validator leaves out, walked by the R4 definitions: required bindings
 * of `code` elements (Patient.gender, Observation.status, HumanName.use, …) and every Reference
 * with the target types its element allows.
 */
export function walkResource(
  defs: Definitions,
  resource: Record<string, unknown>,
): { issues: OperationOutcomeIssue[]; references: FoundReference[] } {
  const issues: OperationOutcomeIssue[] = [];
  const references: FoundReference[] = [];
  const type = String(resource['resourceType']);

  const visitResource = (node: Record<string, unknown>, expr: string, nested: boolean) => {
    const t = node['resourceType'];
    if (typeof t !== 'string' || !defs.types.has(t)) return;
    visit(node, t, t, expr, nested || t === 'Bundle');
  };

  const visit = (node: unknown, sdType: string, path: string, expr: string, nested: boolean) => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return;
    const obj = node as Record<string, unknown>;
    for (const el of defs.children(sdType, path)) {
      const name = (el.path ?? '').slice(path.length + 1);
      if (name.endsWith('[x]')) {
        const base = name.slice(0, -3);
        for (const t of el.type ?? []) {
          const prop = base + cap(t.code ?? '');
          if (obj[prop] !== undefined) each(obj[prop], el, t.code ?? '', sdType, `${expr}.${base}`, nested);
        }
      } else if (obj[name] !== undefined) {
        each(obj[name], el, el.type?.[0]?.code ?? '', sdType, `${expr}.${name}`, nested);
      }
    }
  };

  const each = (
    value: unknown,
    el: ElementDefinition,
    code: string,
    sdType: string,
    expr: string,
    nested: boolean,
  ) => {
    const list = Array.isArray(value) ? value : [value];
    const many = el.max !== '1' && el.max !== '0';
    list.forEach((v, i) => {
      one(v, el, code, sdType, many ? `${expr}[${i}]` : expr, nested);
    });
  };

  const one = (
    v: unknown,
    el: ElementDefinition,
    code: string,
    sdType: string,
    expr: string,
    nested: boolean,
  ) => {
    if (el.contentReference) {
      visit(v, sdType, el.contentReference.replace(/^.*#/, ''), expr, nested);
      return;
    }
    if (code === 'code') {
      if (typeof v !== 'string' || el.binding?.strength !== 'required' || !el.binding.valueSet) return;
      const allowed = defs.codes(el.binding.valueSet);
      if (allowed && !allowed.has(v))
        issues.push({
          severity: 'error',
          code: 'code-invalid',
          diagnostics: `'${v}' is not a code of the required value set ${el.binding.valueSet.split('|')[0]}`,
          expression: [expr],
        });
      return;
    }
    if (code === 'Resource') {
      if (v && typeof v === 'object') visitResource(v as Record<string, unknown>, expr, true);
      return;
    }
    if (code === 'BackboneElement' || code === 'Element') {
      visit(v, sdType, el.path ?? '', expr, nested);
      return;
    }
    if (code === 'Reference' && v && typeof v === 'object') {
      const ref = (v as { reference?: unknown }).reference;
      if (typeof ref === 'string') {
        const targets = (el.type ?? [])
          .filter((t) => t.code === 'Reference')
          .flatMap((t) => t.targetProfile ?? [])
          .map(typeName);
        references.push({ expression: `${expr}.reference`, reference: ref, targets, nested });
      }
    }
    if (code && code[0] === code[0]?.toUpperCase() && defs.types.has(code))
      visit(v, code, code, expr, nested);
  };

  visitResource(resource, type, false);
  return { issues, references };
}
