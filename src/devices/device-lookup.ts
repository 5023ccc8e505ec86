import type { Database } from '../store/database.ts';

export interface DeviceByIdentifier {
  id: string;
  /** The registered identifier, normalized (upper-case, no `-` or `:`). */
  identifier: string;
  /** false when the device's credential is revoked. */
  active: boolean;
}

/**
 * Devices by hardware identifier (an EUI-64 for IEEE 11073 / PCD-01 equipment), for transports
 * whose devices cannot present a Vigil secret themselves (HL7 v2 over MLLP). Identifiers are
 * compared without separators and case: `00-A0-37-…`, `00a037…` and `00A037…` are one device.
 */
export class SqlDeviceLookup {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async byIdentifiers(identifiers: readonly string[]): Promise<DeviceByIdentifier[]> {
    if (identifiers.length === 0) return [];
    const rows = await this.#db.query<{ id: string; ident: string; revoked: boolean }>(
      `select id, upper(replace(replace(identifier, '-', ''), ':', '')) as ident, revoked_at is not null as revoked
       from device
       where upper(replace(replace(identifier, '-', ''), ':', '')) in (select jsonb_array_elements_text($1::jsonb))
       order by id`,
      [JSON.stringify(identifiers.map((i) => i.replace(/[-:]/g, '').toUpperCase()))],
    );
    return rows.map((r) => ({ id: r.id, identifier: r.ident, active: !r.revoked }));
  }
}
