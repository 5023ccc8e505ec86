import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { eventually, startTestVigil } from '../pipeline/support.ts';

it('VIGIL_NOTIFY_FILE: a running server appends every notification to the file as a JSON line', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-notify-')), 'notifications.ndjson');
  const vigil = await startTestVigil({ env: { VIGIL_NOTIFY_FILE: file } });
  try {
    assert.equal(vigil.config.notifyFile, file);
    const alert = await vigil.alerts.manager.raiseManual(
      { patientId: 'pat-notify', severity: 'high', summary: 'raised by hand' },
      { kind: 'user', id: 'u-test' },
    );
    const lines = await eventually('the notification in the file', async () => {
      if (!existsSync(file)) return undefined;
      const l = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
      return l.length > 0 ? l : undefined;
    });
    const n = JSON.parse(lines[0] as string) as { reason: string; alert: { id: string } };
    assert.equal(n.reason, 'raised');
    assert.equal(n.alert.id, alert.id);
    const [d] = await vigil.alerts.repo.deliveries({ target: 'recording' });
    assert.equal(d?.channel, 'notifier');
  } finally {
    await vigil.stop();
  }
});
