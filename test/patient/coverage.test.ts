import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { coverageText, daysText } from '../../web/src/patient/coverage.ts';

const en = JSON.parse(
  readFileSync(new URL('../../web/src/patient/locales/en.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const t = (k: string, v: Record<string, string> = {}) =>
  (en[k] ?? k).replace(/\{\{(\w+)\}\}/g, (_m, x: string) => v[x] ?? '');

describe("the patient app's 'is anyone watching' statement", () => {
  it('names the days as a range, a list or every day, in the language', () => {
    assert.equal(daysText([1, 2, 3, 4, 5], 'en', t), 'Monday to Friday');
    assert.equal(daysText([7, 6], 'en', t), 'Saturday and Sunday');
    assert.equal(daysText([1, 2, 3, 4, 5, 6, 7], 'en', t), 'every day');
    assert.match(daysText([1, 2, 3, 4, 5], 'es', t), /lunes/);
  });

  it('says the hours, the zone when it is not the phone’s, and what happens after hours', () => {
    const c = {
      timeZone: 'Europe/Madrid',
      days: [1, 2, 3, 4, 5],
      start: '08:00',
      end: '18:00',
      workingHoursNow: true,
      afterHoursAlerts: false,
    };
    const [hours, after] = coverageText(c, 'en', t, 'UTC');
    assert.match(
      hours,
      /^Your care team looks at your readings Monday to Friday, from 8:00\sAM to 6:00\sPM\./,
    );
    assert.match(hours, /\(Europe\/Madrid time\)$/);
    assert.match(after, /no one looks at your readings/);
    const [local, onCall] = coverageText({ ...c, afterHoursAlerts: true }, 'en', t, 'Europe/Madrid');
    assert.doesNotMatch(local, /Madrid/);
    assert.match(onCall, /on call/);
  });
});
