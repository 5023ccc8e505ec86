import { VigilError } from '../core/errors.ts';

/**
 * Zones where equipment can be: site → building → floor → unit → room (docs/equipment.md), served
 * as FHIR R4 Location with `partOf` for the hierarchy and `physicalType` for the level. Pure:
 * validation, the hierarchy walk and the FHIR rendering; the rows come from the equipment repository.
 */

export const locationKinds = ['site', 'building', 'floor', 'unit', 'room'] as const;
export type LocationKind = (typeof locationKinds)[number];

/** The kinds a location of each kind may be part of (a room may hang off a floor without a unit). */
const parentKinds: Record<LocationKind, readonly LocationKind[]> = {
  site: [],
  building: ['site'],
  floor: ['building'],
  unit: ['floor'],
  room: ['unit', 'floor'],
};

export const locationIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export interface Location {
  id: string;
  name: string;
  kind: LocationKind;
  partOf: string | null;
  /** A zone at a building exit: tagged equipment seen there raises "left-building". */
  exit: boolean;
  /** The vendor RTLS system's name for this zone. */
  rtlsZone: string | null;
  version: number;
  updatedAt: string;
}

export const LOCATION_INVALID = 'VIGIL_ERR_EQUIPMENT_LOCATION_INVALID';

const invalid = (message: string): never => {
  throw new VigilError(LOCATION_INVALID, message, 400);
};

/**
 * A location as given (POST/PUT), checked against its parent: the id and kind, a parent of the
 * level just above (none for a site), no exit flag on a site or building.
 */
export function checkLocation(
  input: {
    id: string;
    name: string;
    kind: string;
    partOf?: string | null;
    exit?: boolean;
    rtlsZone?: string | null;
  },
  parent: Location | undefined,
): Omit<Location, 'version' | 'updatedAt'> {
  if (!locationIdPattern.test(input.id))
    invalid('location id must be 1–64 of letters, digits, . _ : - (starting with a letter or digit)');
  if (!(locationKinds as readonly string[]).includes(input.kind))
    invalid(`location kind must be one of ${locationKinds.join(', ')}`);
  const kind = input.kind as LocationKind;
  const name = input.name.trim();
  if (!name) invalid('location name must not be empty');
  const partOf = input.partOf ?? null;
  if (kind === 'site' && partOf !== null) invalid('a site is part of nothing');
  if (kind !== 'site') {
    if (partOf === null) invalid(`a ${kind} must be part of a ${parentKinds[kind].join(' or ')}`);
    if (partOf === input.id) invalid('a location cannot be part of itself');
    if (!parent)
      throw new VigilError('VIGIL_ERR_EQUIPMENT_LOCATION_NOT_FOUND', `no location ${partOf} (partOf)`, 404);
    if (!parentKinds[kind].includes(parent.kind))
      invalid(`a ${kind} must be part of a ${parentKinds[kind].join(' or ')}, not a ${parent.kind}`);
  }
  const exit = input.exit ?? false;
  if (exit && (kind === 'site' || kind === 'building'))
    invalid('exit marks a zone at a building exit (a floor, unit or room), not a site or building');
  const rtlsZone = input.rtlsZone?.trim() || null;
  return { id: input.id, name, kind, partOf, exit, rtlsZone };
}

/** The chain from the site down to this location (ids unknown to the map end the walk). */
export function ancestry(id: string, byId: ReadonlyMap<string, Location>): Location[] {
  const chain: Location[] = [];
  const seen = new Set<string>();
  let at = byId.get(id);
  while (at && !seen.has(at.id)) {
    seen.add(at.id);
    chain.unshift(at);
    at = at.partOf ? byId.get(at.partOf) : undefined;
  }
  return chain;
}

/** The nearest enclosing location of a kind (the location itself counts), or null. */
export function enclosing(id: string | null, kind: LocationKind, byId: ReadonlyMap<string, Location>) {
  if (!id) return null;
  return ancestry(id, byId).find((l) => l.kind === kind) ?? null;
}

/** The location and everything below it. */
export function descendants(id: string, all: readonly Location[]): Set<string> {
  const out = new Set([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const l of all)
      if (l.partOf && out.has(l.partOf) && !out.has(l.id)) {
        out.add(l.id);
        grew = true;
      }
  }
  return out;
}

/** HL7 location-physical-type codes for the levels (terminology.hl7.org CodeSystem location-physical-type). */
const physicalType: Record<LocationKind, { code: string; display: string }> = {
  site: { code: 'si', display: 'Site' },
  building: { code: 'bu', display: 'Building' },
  floor: { code: 'lvl', display: 'Level' },
  unit: { code: 'wa', display: 'Ward' },
  room: { code: 'ro', display: 'Room' },
};

/** The location as a FHIR R4 Location resource. */
export function toFhirLocation(l: Location): Record<string, unknown> {
  const t = physicalType[l.kind];
  return {
    resourceType: 'Location',
    id: l.id,
    meta: { versionId: String(l.version), lastUpdated: l.updatedAt },
    ...(l.rtlsZone ? { identifier: [{ system: 'urn:vigil:rtls-zone', value: l.rtlsZone }] } : {}),
    status: 'active',
    name: l.name,
    mode: 'instance',
    physicalType: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/location-physical-type',
          code: t.code,
          display: t.display,
        },
      ],
    },
    ...(l.partOf ? { partOf: { reference: `Location/${l.partOf}` } } : {}),
  };
}
