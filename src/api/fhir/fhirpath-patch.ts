import { evalFhirPath, evalFhirPathTyped, parseFhirPath, toTypedValue, tryGetDataType } from '@medplum/core';
import { badRequest, unprocessable } from './outcomes.ts';
import { definitions } from './validation/definitions.ts';

/**
 * FHIRPath Patch (FHIR R4 http.html#patch, fhirpatch.html): a Parameters resource whose `operation`
 * parameters each carry `type` (add | insert | delete | replace | move), `path` and, by type, `name`,
 * `value[x]`, `index`, `source`, `destination`. Paths are evaluated with @medplum/core's FHIRPath
 * engine; only the application of each operation is done here. Malformed operations and unparseable
 * paths → 400; a path that matches nothing (or too much) where the type needs one element → 422.
 */
export interface FhirPathOperation {
  type: 'add' | 'insert' | 'delete' | 'replace' | 'move';
  path: string;
  name?: string;
  value?: unknown;
  index?: number;
  source?: number;
  destination?: number;
}

type Json = Record<string, unknown>;
const types = new Set(['add', 'insert', 'delete', 'replace', 'move']);

/** The operations of a Parameters body, checked for shape (400 on anything malformed). */
export function fhirPathOperations(body: Json): FhirPathOperation[] {
  const params = body['parameter'];
  if (!Array.isArray(params) || params.length === 0)
    throw badRequest('a FHIRPath Patch needs at least one operation parameter', 'Parameters.parameter');
  return params.map((p: Json, i) => {
    const at = `Parameters.parameter[${i}]`;
    if (p?.['name'] !== 'operation' || !Array.isArray(p['part']))
      throw badRequest(`parameter ${i} is not an operation (name 'operation' with parts)`, at);
    const op: Json = {};
    for (const part of p['part'] as Json[]) {
      const name = part?.['name'];
      if (typeof name !== 'string')
        throw badRequest(`operation ${i} has a part without a name`, `${at}.part`);
      const valueKey = Object.keys(part).find((k) => k.startsWith('value'));
      if (name === 'value') {
        if (part['resource'] !== undefined) op['value'] = part['resource'];
        else if (valueKey) op['value'] = part[valueKey];
        else if (Array.isArray(part['part']))
          throw badRequest(
            `operation ${i}: a value given as parts is not supported; use a value[x] of the element's type`,
            `${at}.part`,
          );
        else throw badRequest(`operation ${i}: the value part has no value`, `${at}.part`);
      } else if (valueKey) op[name] = part[valueKey];
      else throw badRequest(`operation ${i}: part '${name}' has no value`, `${at}.part`);
    }
    const type = op['type'];
    if (typeof type !== 'string' || !types.has(type))
      throw badRequest(`operation ${i}: type must be add, insert, delete, replace or move`, `${at}.part`);
    if (typeof op['path'] !== 'string' || op['path'] === '')
      throw badRequest(`operation ${i} (${type}) needs a path`, `${at}.part`);
    try {
      parseFhirPath(op['path']);
    } catch (e) {
      throw badRequest(`operation ${i}: the path is not FHIRPath: ${(e as Error).message}`, `${at}.part`);
    }
    const needs: Record<string, string[]> = {
      add: ['name', 'value'],
      insert: ['index', 'value'],
      delete: [],
      replace: ['value'],
      move: ['source', 'destination'],
    };
    for (const n of needs[type] ?? []) {
      if (op[n] === undefined) throw badRequest(`operation ${i} (${type}) needs ${n}`, `${at}.part`);
      if (
        ['index', 'source', 'destination'].includes(n) &&
        !(Number.isInteger(op[n]) && (op[n] as number) >= 0)
      )
        throw badRequest(`operation ${i} (${type}): ${n} must be a non-negative integer`, `${at}.part`);
    }
    if (type === 'add' && !/^[A-Za-z][A-Za-z0-9]*$/.test(op['name'] as string))
      throw badRequest(`operation ${i} (add): name must be an element name`, `${at}.part`);
    return op as unknown as FhirPathOperation;
  });
}

interface Slot {
  holder: Json;
  key: string;
  /** set when the element is one item of a list */
  index?: number;
}

function findByIdentity(node: unknown, target: unknown, out: Slot[]): void {
  if (!node || typeof node !== 'object') return;
  for (const [key, v] of Object.entries(node as Json)) {
    if (Array.isArray(v)) {
      v.forEach((item, index) => {
        if (item === target) out.push({ holder: node as Json, key, index });
        else findByIdentity(item, target, out);
      });
    } else if (v === target) out.push({ holder: node as Json, key });
    else findByIdentity(v, target, out);
  }
}

const trailing = /^(.+)\.([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$/;

/** Where in the resource each element the path selects lives (its holder and key, and list index). */
function locate(resource: Json, path: string, i: number): Slot[] {
  const m = trailing.exec(path);
  if (m) {
    const [, parentPath, key, idx] = m as unknown as [string, string, string, string | undefined];
    const slots: Slot[] = [];
    for (const parent of evalPath(parentPath, resource, i)) {
      if (!parent || typeof parent !== 'object' || Array.isArray(parent)) continue;
      const v = (parent as Json)[key];
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        if (idx !== undefined) {
          if (Number(idx) < v.length) slots.push({ holder: parent as Json, key, index: Number(idx) });
        } else
          for (let index = 0; index < v.length; index++) slots.push({ holder: parent as Json, key, index });
      } else if (idx === undefined || idx === '0') slots.push({ holder: parent as Json, key });
    }
    return slots;
  }
  const slots: Slot[] = [];
  for (const r of evalPath(path, resource, i)) {
    if (!r || typeof r !== 'object')
      throw unprocessable(
        `operation ${i}: the path selects a primitive that cannot be located; end it with the element name`,
      );
    findByIdentity(resource, r, slots);
  }
  return slots;
}

function evalPath(path: string, resource: Json, i: number): unknown[] {
  try {
    return evalFhirPath(path, resource);
  } catch (e) {
    throw unprocessable(`operation ${i}: the path cannot be evaluated: ${(e as Error).message}`);
  }
}

function one(slots: Slot[], op: FhirPathOperation, i: number): Slot {
  if (slots.length !== 1)
    throw unprocessable(
      `operation ${i} (${op.type}): the path '${op.path}' matches ${slots.length} elements; it must match exactly one`,
    );
  return slots[0] as Slot;
}

/** Whether element `name` of the FHIR type `type` is a list (per the loaded R4 definitions). */
function isList(type: string, name: string): boolean | undefined {
  definitions();
  const el = tryGetDataType(type)?.elements?.[name];
  return el ? el.isArray : undefined;
}

/** Applies the operations in order to `resource` (mutated). */
export function applyFhirPathPatch(resource: Json, operations: FhirPathOperation[]): void {
  operations.forEach((op, i) => {
    switch (op.type) {
      case 'add': {
        const name = op.name as string;
        let containers: ReturnType<typeof evalFhirPathTyped>;
        try {
          containers = evalFhirPathTyped(op.path, [toTypedValue(resource)]);
        } catch (e) {
          throw unprocessable(`operation ${i}: the path cannot be evaluated: ${(e as Error).message}`);
        }
        if (containers.length !== 1 || !containers[0]?.value || typeof containers[0].value !== 'object')
          throw unprocessable(
            `operation ${i} (add): the path '${op.path}' must match exactly one element (it matches ${containers.length})`,
          );
        const holder = containers[0].value as Json;
        const list = isList(containers[0].type, name);
        if (list === undefined)
          throw unprocessable(`operation ${i} (add): ${containers[0].type} has no element '${name}'`);
        const existing = holder[name];
        if (list) holder[name] = [...((existing as unknown[] | undefined) ?? []), op.value];
        else if (existing !== undefined)
          throw unprocessable(
            `operation ${i} (add): '${name}' is already present and is not a list; use replace`,
          );
        else holder[name] = op.value;
        return;
      }
      case 'insert': {
        const list = listAt(resource, op, i);
        if ((op.index as number) > list.length)
          throw unprocessable(
            `operation ${i} (insert): index ${op.index} is past the end of the list (${list.length})`,
          );
        list.splice(op.index as number, 0, op.value);
        return;
      }
      case 'delete': {
        const slots = locate(resource, op.path, i);
        if (slots.length === 0) return; // nothing to delete
        const s = one(slots, op, i);
        if (s.index === undefined) delete s.holder[s.key];
        else {
          const list = s.holder[s.key] as unknown[];
          list.splice(s.index, 1);
          if (list.length === 0) delete s.holder[s.key];
        }
        return;
      }
      case 'replace': {
        const s = one(locate(resource, op.path, i), op, i);
        if (s.index === undefined) s.holder[s.key] = op.value;
        else (s.holder[s.key] as unknown[])[s.index] = op.value;
        return;
      }
      case 'move': {
        const list = listAt(resource, op, i);
        const { source, destination } = op as { source: number; destination: number };
        if (source >= list.length || destination >= list.length)
          throw unprocessable(
            `operation ${i} (move): source and destination must be within the list (${list.length})`,
          );
        const [item] = list.splice(source, 1);
        list.splice(destination, 0, item);
        return;
      }
    }
  });
}

/** The list a path names (insert and move): the path must end with the list element's name. */
function listAt(resource: Json, op: FhirPathOperation, i: number): unknown[] {
  const m = /^(.+)\.([A-Za-z][A-Za-z0-9]*)$/.exec(op.path);
  if (!m)
    throw unprocessable(`operation ${i} (${op.type}): the path must end with the name of a list element`);
  const [, parentPath, key] = m as unknown as [string, string, string];
  const parents = evalPath(parentPath, resource, i).filter(
    (p) => p && typeof p === 'object' && !Array.isArray(p),
  );
  if (parents.length !== 1)
    throw unprocessable(`operation ${i} (${op.type}): the path '${op.path}' must name exactly one list`);
  const holder = parents[0] as Json;
  const v = holder[key];
  if (v === undefined && op.type === 'insert') {
    holder[key] = [];
    return holder[key] as unknown[];
  }
  if (!Array.isArray(v)) throw unprocessable(`operation ${i} (${op.type}): '${op.path}' is not a list`);
  return v;
}
