import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);

describe('vigil smart-client register|list|revoke', () => {
  let t: InProcess;
  let env: Record<string, string>;
  const vigil = async (...args: string[]) => {
    try {
      const r = await exec(process.execPath, [vigilBin, ...args], { env });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  before(async () => {
    t = await startInProcess();
    env = {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: t.vigil.httpUrl.replace('localhost', '127.0.0.1'),
      VIGIL_TOKEN: await t.token(),
      VIGIL_CLI_HOME: tempDir(),
    };
  });
  after(async () => t?.stop());

  it('registers a public app, a confidential app (secret once) and a backend client from a JWKS file', async () => {
    const pub = await vigil(
      'smart-client',
      'register',
      'chart-app',
      '--name',
      'Chart',
      '--kind',
      'public',
      '--scope',
      'launch/patient openid fhirUser patient/*.rs',
      '--redirect-uri',
      'https://chart.example/cb',
      '--redirect-uri',
      'http://127.0.0.1:5000/cb',
      '--json',
    );
    assert.equal(pub.code, 0, pub.stderr);
    const j = JSON.parse(pub.stdout) as { client: { redirectUris: string[]; kind: string } };
    assert.deepEqual(j.client.redirectUris, ['https://chart.example/cb', 'http://127.0.0.1:5000/cb']);
    const conf = await vigil(
      'smart-client',
      'register',
      'conf-app',
      '--name',
      'Conf',
      '--kind',
      'confidential',
      '--scope',
      'user/Observation.rs',
      '--redirect-uri',
      'https://conf.example/cb',
    );
    assert.equal(conf.code, 0, conf.stderr);
    assert.match(conf.stdout, /vgc_[A-Za-z0-9_-]+/);
    const { publicKey } = await generateKeyPair('ES384');
    const file = join(tempDir(), 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
    const be = await vigil(
      'smart-client',
      'register',
      'etl',
      '--name',
      'ETL',
      '--kind',
      'backend',
      '--scope',
      'system/Observation.rs',
      '--jwks-file',
      file,
    );
    assert.equal(be.code, 0, be.stderr);
    const bad = await vigil(
      'smart-client',
      'register',
      'bad',
      '--name',
      'Bad',
      '--kind',
      'backend',
      '--scope',
      'system/*.rs',
    );
    assert.notEqual(bad.code, 0, 'a backend client without keys is refused');
    const list = await vigil('smart-client', 'list', '--json');
    const ids = (JSON.parse(list.stdout) as { clients: Array<{ id: string }> }).clients.map((c) => c.id);
    assert.deepEqual(ids, ['chart-app', 'conf-app', 'etl']);
    const rev = await vigil('smart-client', 'revoke', 'etl');
    assert.equal(rev.code, 0, rev.stderr);
    const after = JSON.parse((await vigil('smart-client', 'list', '--json')).stdout) as {
      clients: Array<{ id: string; revokedAt: string | null }>;
    };
    assert.ok(after.clients.find((c) => c.id === 'etl')?.revokedAt);
  });
});
