import { VigilError } from '../core/errors.ts';

/** A stored template version as ingest hands it to normalize (compiled there). */
export interface ResolvedTemplate {
  name: string;
  version: number;
  spec: unknown;
}

export interface TemplateSource {
  forDevice(
    deviceId: string,
    template: string,
  ): Promise<{ name: string; version: number; spec: unknown } | 'unassigned' | undefined>;
}

export const templateNamePattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Which vendor template (and version) a device's `template:<name>` payload goes through: the
 * template must exist and be assigned to the device or its model. Answers are cached briefly
 * (`ttlMs`): a change made through the API of this process applies at once (`invalidate`), one made
 * through another worker within the TTL.
 */
export class VendorTemplateResolver {
  readonly #source: TemplateSource;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { at: number; value: ResolvedTemplate | VigilError }>();

  constructor(source: TemplateSource, opts: { ttlMs?: number; now?: () => number } = {}) {
    this.#source = source;
    this.#ttlMs = opts.ttlMs ?? 5000;
    this.#now = opts.now ?? Date.now;
  }

  /** The template version to use; throws a coded VigilError (kept as the dead letter's reason). */
  async resolve(deviceId: string, name: string): Promise<ResolvedTemplate> {
    const key = `${deviceId}\u0000${name}`;
    const hit = this.#cache.get(key);
    let value: ResolvedTemplate | VigilError;
    if (hit && this.#now() - hit.at < this.#ttlMs) value = hit.value;
    else {
      value = await this.#lookup(deviceId, name);
      if (this.#cache.size >= 10_000) this.#cache.clear(); // bounded: many devices × templates
      this.#cache.set(key, { at: this.#now(), value });
    }
    if (value instanceof VigilError) throw value;
    return value;
  }

  invalidate(): void {
    this.#cache.clear();
  }

  async #lookup(deviceId: string, name: string): Promise<ResolvedTemplate | VigilError> {
    const unknown = new VigilError(
      'VIGIL_ERR_INGEST_UNKNOWN_TEMPLATE',
      `no vendor template named ${templateNamePattern.test(name) ? name : '(invalid name)'}`,
      404,
    );
    if (!templateNamePattern.test(name)) return unknown;
    const found = await this.#source.forDevice(deviceId, name);
    if (found === undefined) return unknown;
    if (found === 'unassigned') {
      return new VigilError(
        'VIGIL_ERR_INGEST_TEMPLATE_NOT_ASSIGNED',
        `vendor template ${name} is not assigned to this device or its model`,
        403,
      );
    }
    return { name: found.name, version: found.version, spec: found.spec };
  }
}
