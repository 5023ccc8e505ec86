import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '../../src/core/metrics.ts';

const deploy = fileURLToPath(new URL('../../deploy/', import.meta.url));
const read = (p: string) => readFileSync(join(deploy, p), 'utf8');

describe('deploy/: what an operator installs', () => {
  it('one systemd unit per role, each with its role and its own HTTP port', () => {
    const ports = new Set<string>();
    for (const role of ['api', 'ingest', 'detect']) {
      const unit = read(`systemd/vigil-${role}.service`);
      assert.match(unit, new RegExp(`^Environment=VIGIL_ROLE=${role}$`, 'm'));
      const port = /^Environment=VIGIL_HTTP_PORT=(\d+)$/m.exec(unit)?.[1];
      assert.ok(port, `vigil-${role} sets its port`);
      ports.add(port);
      assert.match(unit, /^User=vigil$/m, 'not root');
      assert.match(unit, /^ExecStart=.*bin\/vigil\.js start$/m);
    }
    assert.equal(ports.size, 3, 'three workers on one host do not collide');
    assert.doesNotMatch(read('systemd/vigil.env.example'), /^VIGIL_HTTP_PORT=/m, 'would override the units');
  });

  it('the units pass systemd-analyze verify (where systemd-analyze exists)', (t) => {
    let found = false;
    try {
      execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
      found = true;
    } catch {
      found = false;
    }
    if (!found) return t.skip('systemd-analyze is not installed on this machine');
    const units = readdirSync(join(deploy, 'systemd'))
      .filter((f) => /\.(service|target)$/.test(f))
      .map((f) => join(deploy, 'systemd', f));
    // throws (and fails the test) with systemd-analyze's own message on any error
    const out = execFileSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8', stdio: 'pipe' });
    assert.equal(out.trim(), '');
  });

  it('every metric the Prometheus rules use is one Vigil exports', async () => {
    const rules = read('prometheus/vigil-rules.yml');
    const used = new Set(
      [...rules.matchAll(/\bvigil_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')),
    );
    assert.ok(used.size >= 8);
    const metrics = createMetrics();
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const unknown = [...used].filter((n) => !exported.has(n));
    assert.deepEqual(unknown, []);
  });

  it('the image runs a production install as a non-root user; compose has every role', () => {
    const docker = read('Dockerfile');
    assert.match(docker, /npm ci --omit=dev/);
    assert.match(docker, /^USER vigil$/m);
    const compose = read('compose.yaml');
    for (const s of ['postgres:', 'nats:', 'mosquitto:', 'migrate:', 'api:', 'ingest:', 'detect:'])
      assert.ok(compose.includes(`\n  ${s}`), `compose service ${s}`);
    for (const role of ['api', 'ingest', 'detect']) assert.match(compose, new RegExp(`VIGIL_ROLE: ${role}`));
    assert.match(read('mosquitto/mosquitto.conf'), /^allow_anonymous false$/m);
    assert.match(read('mosquitto/mosquitto.conf'), /mosquitto_dynamic_security\.so/);
    assert.ok(existsSync(join(deploy, 'postgres/roles.sql')));
  });
});
