import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import postgres from 'postgres';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil } from '../../src/server.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { tempDir } from '../support/process.ts';

const skip = testDatabaseUrl ? false : 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL roles test skipped';

describe('PostgreSQL least privilege (deploy/postgres/roles.sql)', { skip }, () => {
  it('the migration role applies the schema; the runtime role runs Vigil and cannot change the schema', async () => {
    const fresh = await createFreshPostgresDatabase();
    const dbName = new URL(fresh.url).pathname.slice(1);
    const suffix = randomBytes(3).toString('hex');
    const migrator = `vigil_migrate_${suffix}`;
    const app = `vigil_app_${suffix}`;
    const sql = readFileSync(new URL('../../deploy/postgres/roles.sql', import.meta.url), 'utf8')
      .replaceAll('vigil_migrate', migrator)
      .replaceAll('vigil_app', app)
      .replaceAll('on database vigil', `on database ${dbName}`);
    const admin = postgres(fresh.url, { max: 1, onnotice: () => {} });
    const as = (role: string) => {
      const u = new URL(fresh.url);
      u.username = role;
      return u.toString();
    };
    try {
      await admin.unsafe(sql);
      const m = await openDatabase({ databaseUrl: as(migrator) });
      try {
        assert.ok((await migrate(m)).length > 5);
      } finally {
        await m.close();
      }
      const vigil = await startVigil(
        loadConfig({
          VIGIL_DATABASE_URL: as(app),
          VIGIL_HTTP_PORT: '0',
          VIGIL_MQTT_PORT: 'off',
          VIGIL_LOG_LEVEL: 'silent',
          VIGIL_ADMIN_PASSWORD: 'least-privilege-pw-1',
          VIGIL_DATA_DIR: tempDir(),
        }),
        { print: () => {} },
      );
      try {
        const r = await vigil.app.inject({
          method: 'POST',
          url: '/auth/token',
          payload: { username: 'admin', password: 'least-privilege-pw-1' },
        });
        assert.equal(r.statusCode, 200, 'the runtime role reads and writes rows');
        await assert.rejects(vigil.db.exec('create table intruder (x int)'), /permission denied/);
        await assert.rejects(
          vigil.db.exec('drop table schema_migrations'),
          /must be owner|permission denied/,
        );
      } finally {
        await vigil.stop();
      }
    } finally {
      await admin.end();
      await fresh.drop();
      const a = postgres(testDatabaseUrl as string, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop role if exists ${app}`).catch(() => {});
      await a.unsafe(`drop role if exists ${migrator}`).catch(() => {});
      await a.end();
    }
  });
});
