import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { addDevice, addPatient, addStaff, must, push, type Running, signIn, startTestVigil } from './seed.ts';

/**
 * Issue: a suspected CGM compression low (clinical-reference §9) is left out of the CGM metrics when
 * the rule judges it an artefact — and only then. A real low, judged the same way by the same rule,
 * stays in. From readings over HTTP through detection and alerting to the AGP API, in event time.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

interface Agp {
  excluded: Array<{ from: string; to: string; reason: string }>;
  metrics: { readings: number; excludedReadings: number; below70: number | null; below54: number | null };
}
interface AlertList {
  alerts: Array<{ conditionKey: string; state: string; data: Record<string, unknown> }>;
}

for (const engine of ['PGlite', 'PostgreSQL'] as const) {
  describe(`CGM metrics leave out compression lows judged artefacts (${engine})`, {
    skip: engine === 'PostgreSQL' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let s: Running;
    let drop: (() => Promise<void>) | undefined;
    let clinician: string;
    let patient: string;
    // Two nights, UTC (the program's default night is 22:00–07:00 at utcOffsetMinutes 0).
    const night1 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY; // 00:00 UTC two days ago
    const night2 = night1 + DAY;
    const compression = { from: night1 + 2 * HOUR, readings: 4 }; // 02:00–02:15, 4 readings
    const realLowAt = night2 + 3 * HOUR; // a gradual fall into a low that lasts 90 min

    before(async () => {
      const env: Record<string, string> = {};
      if (engine === 'PostgreSQL') {
        const fresh = await createFreshPostgresDatabase();
        env['VIGIL_DATABASE_URL'] = fresh.url;
        drop = fresh.drop;
      }
      s = await startTestVigil(env);
      const { practitionerId } = await addStaff(
        s.url,
        s.admin,
        'dr.gluco',
        'clinician',
        { given: 'Gil', family: 'Uco' },
        'clinician-pass-2026',
      );
      clinician = await signIn(s.url, 'dr.gluco', 'clinician-pass-2026');
      patient = await addPatient(s.url, s.admin, { given: 'Cy', family: 'Sugar', program: 'diabetes-cgm' }, [
        practitionerId,
      ]);
      await must(s.url, s.admin, 'PUT', `/api/v1/patients/${patient}/monitoring`, {
        monitoring: { programs: ['diabetes-cgm'] },
      });
      const secret = await addDevice(s.url, s.admin, { id: 'cgm-cl', kind: 'cgm' }, patient, night1 - DAY);
      const value = (t: number): number => {
        // Night 1: steady 120, a drop to 60 within 5 min at 02:00 (12 mg/dL/min), 15 min low, back to 120.
        if (t >= compression.from && t < compression.from + compression.readings * 5 * MIN) return 60;
        // Night 2: from 03:00 a fall of 1 mg/dL/min from 120 to 60, 90 min there, then back up.
        if (t >= realLowAt && t < realLowAt + 60 * MIN) return 120 - (t - realLowAt) / MIN;
        if (t >= realLowAt + 60 * MIN && t < realLowAt + 150 * MIN) return 60;
        return 120;
      };
      const readings = [];
      for (let t = night1 - 6 * HOUR; t < night2 + 12 * HOUR; t += 5 * MIN)
        readings.push({
          messageId: `cl-${t}`,
          time: new Date(t).toISOString(),
          type: 'cgm-glucose',
          value: value(t),
          unit: 'mg/dL',
        });
      await push(s.url, secret, readings);
      // Detection and alerting follow the commit: wait until both lows have been judged.
      for (let i = 0; i < 200; i++) {
        const a = await must<AlertList>(
          s.url,
          clinician,
          'GET',
          `/api/v1/alerts?patient=${patient}&limit=1000`,
        );
        const c = a.alerts.find((x) => x.conditionKey === 'glucose:compression-low');
        const lows = a.alerts.filter((x) => x.conditionKey.startsWith('glucose:low'));
        if (c?.state === 'resolved' && lows.length > 0 && lows.every((x) => x.state === 'resolved')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    after(async () => {
      await s?.stop();
      await drop?.();
    });

    it('the compression low is resolved as recovered, with its end in event time', async () => {
      const a = await must<AlertList>(
        s.url,
        clinician,
        'GET',
        `/api/v1/alerts?patient=${patient}&limit=1000`,
      );
      const c = a.alerts.filter((x) => x.conditionKey === 'glucose:compression-low');
      assert.equal(c.length, 1, 'one suspected compression low (night 1), none for the gradual fall');
      assert.equal(c[0]?.state, 'resolved');
      assert.equal(c[0]?.data['clearOutcome'], 'recovered');
      assert.equal(
        c[0]?.data['clearedAt'],
        new Date(compression.from + compression.readings * 5 * MIN).toISOString(),
      );
      assert.ok(
        a.alerts.some((x) => x.conditionKey.startsWith('glucose:low')),
        'the real low on night 2 alarmed as a low',
      );
    });

    it('its readings are left out of the glucose figures but count as worn; the real low stays in', async () => {
      const agp = await must<Agp>(
        s.url,
        clinician,
        'GET',
        `/api/v1/dashboard/patients/${patient}/agp?days=14&tz=UTC`,
      );
      assert.equal(agp.excluded.length, 1);
      assert.equal(agp.excluded[0]?.reason, 'compression-low');
      assert.equal(agp.excluded[0]?.from, new Date(compression.from).toISOString());
      assert.equal(agp.metrics.excludedReadings, compression.readings);
      // Below 70 now holds only the real low: the end of the fall under 70 and the 90 min at 60 mg/dL,
      // counted from the readings as they were sent.
      const used = agp.metrics.readings - agp.metrics.excludedReadings;
      let below = 0;
      for (let t = realLowAt; t < realLowAt + 150 * MIN; t += 5 * MIN) {
        const v = t < realLowAt + 60 * MIN ? 120 - (t - realLowAt) / MIN : 60;
        if (v < 70) below++;
      }
      assert.equal(agp.metrics.below70, Math.round((below / used) * 1000) / 10);
    });
  });
}
