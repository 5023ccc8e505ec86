import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { command } from '../../src/cli/commands/alerts.ts';
import type { Vigil } from '../../src/server.ts';
import { adminPassword, firing, signIn, startWithCareTeam } from './support.ts';

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  // Only the command's text: the test runner itself reports through stdout in binary frames.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await command.run(args), out };
  } finally {
    process.stdout.write = write;
  }
}

describe('vigil alerts CLI', () => {
  let vigil: Vigil;
  let stop: () => Promise<void>;
  let common: string[];

  before(async () => {
    ({ vigil, stop } = await startWithCareTeam('vigil-alerts-cli-'));
    const admin = await signIn(vigil, 'admin', adminPassword);
    const created = await vigil.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${admin}` },
      payload: { username: 'cli-nurse', roles: ['nurse'], practitionerId: 'nurse-1' },
    });
    const token = await signIn(vigil, 'cli-nurse', created.json().password);
    common = ['--url', `http://127.0.0.1:${vigil.httpPort}`, '--token', token];
  });

  after(() => stop());

  it('lists, acknowledges, shows and exports metrics as CSV', async () => {
    const [alert] = await vigil.alerts.onDetections([firing({ conditionKey: 'cli' })]);
    assert.ok(alert);
    const list = await run(['list', '--state', 'open', '--json', ...common]);
    assert.equal(list.code, 0);
    assert.ok(JSON.parse(list.out).alerts.some((a: { id: string }) => a.id === alert.id));
    const human = await run(['list', ...common]);
    assert.match(human.out, new RegExp(alert.id));
    const ack = await run(['ack', alert.id, '--note', 'from the CLI', ...common]);
    assert.match(ack.out, /acknowledged/);
    const snooze = await run(['snooze', alert.id, '--minutes', '10', ...common]);
    assert.match(snooze.out, /snoozed/);
    const show = await run(['show', alert.id, '--json', ...common]);
    const detail = JSON.parse(show.out);
    assert.deepEqual(
      detail.timeline.map((e: { type: string }) => e.type),
      ['raised', 'acknowledged', 'snoozed'],
    );
    assert.equal(detail.timeline[1].note, 'from the CLI');
    const csv = await run(['metrics', '--csv', ...common]);
    assert.match(csv.out, /^severity,team,alerts,/);
    assert.match(csv.out, /\r\nhigh,\*,1,1,/);
    const usage = await run(['snooze', alert.id, ...common]);
    assert.equal(usage.code, 2, 'snooze without --minutes is a usage error');
  });
});
