import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase } from './databases.ts';
import { tempDir } from './process.ts';

export const testAdminPassword = 'a-long-test-password';

export interface InProcess {
  vigil: Vigil;
  /** Everything the logger wrote (JSON lines). */
  logs: () => string;
  token: () => Promise<string>;
  inject: Vigil['app']['inject'];
  stop: () => Promise<void>;
}

/**
 * A whole Vigil in this process (no MQTT listener unless asked), on PGlite in a temp dir or on a
 * fresh PostgreSQL database when `postgres` is true.
 */
export async function startInProcess(
  opts: { postgres?: boolean; mqtt?: boolean; env?: Record<string, string>; dataDir?: string } = {},
): Promise<InProcess> {
  let drop: (() => Promise<void>) | undefined;
  const env: Record<string, string> = {
    VIGIL_HTTP_PORT: '0',
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_MQTT_PORT: opts.mqtt ? '0' : 'off',
    VIGIL_MQTT_HOST: '127.0.0.1',
    VIGIL_LOG_LEVEL: 'debug',
    VIGIL_ADMIN_PASSWORD: testAdminPassword,
    VIGIL_DATA_DIR: opts.dataDir ?? tempDir(),
    ...opts.env,
  };
  if (opts.postgres) {
    const fresh = await createFreshPostgresDatabase();
    env['VIGIL_DATABASE_URL'] = fresh.url;
    drop = fresh.drop;
  }
  let logs = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const vigil = await startVigil(loadConfig(env), { print: () => {}, log: createLogger('debug', sink) });
  let token: string | undefined;
  return {
    vigil,
    logs: () => logs,
    inject: vigil.app.inject.bind(vigil.app),
    token: async () => {
      if (token) return token;
      const r = await vigil.app.inject({
        method: 'POST',
        url: '/auth/token',
        payload: { username: 'admin', password: testAdminPassword },
      });
      token = (r.json() as { access_token: string }).access_token;
      return token;
    },
    stop: async () => {
      await vigil.stop();
      await drop?.();
    },
  };
}

/** A Patient row the way the FHIR API stores it (for tests that do not go through /fhir). */
export async function insertPatient(vigil: Vigil, id: string): Promise<void> {
  await vigil.db.query(
    `insert into fhir_resource (resource_type, id, version_id, last_updated, content)
     values ('Patient', $1, 1, now(), $2::jsonb) on conflict do nothing`,
    [id, JSON.stringify({ resourceType: 'Patient', id, meta: { versionId: '1' } })],
  );
}
