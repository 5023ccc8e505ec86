import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { syllable } from 'syllable';

const load = (lang: string) =>
  JSON.parse(
    readFileSync(new URL(`../../web/src/patient/locales/${lang}.json`, import.meta.url), 'utf8'),
  ) as Record<string, string>;
const en = load('en');
const others = { es: load('es'), ar: load('ar') };
const placeholders = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

/** Flesch–Kincaid grade level: 0.39 × words/sentence + 11.8 × syllables/word − 15.59. */
export function fkGrade(text: string): number {
  const sentences = text.split(/[.!?]+/).filter((s) => s.trim().length > 0);
  const words = text.match(/[A-Za-z']+/g) ?? [];
  if (words.length === 0 || sentences.length === 0) return 0;
  const syllables = words.reduce((n, w) => n + syllable(w), 0);
  return 0.39 * (words.length / sentences.length) + 11.8 * (syllables / words.length) - 15.59;
}

describe('patient app languages', () => {
  for (const [lang, strings] of Object.entries(others)) {
    it(`${lang} has every English key, no other key, no empty text, and the same placeholders`, () => {
      assert.deepEqual(Object.keys(strings).sort(), Object.keys(en).sort());
      for (const [k, v] of Object.entries(strings)) {
        assert.ok(v.trim().length > 0, `${lang}.${k} is empty`);
        assert.deepEqual(placeholders(v), placeholders(en[k] ?? ''), `${lang}.${k} placeholders`);
      }
    });
  }

  it('reads at a 6th-grade level in English (Flesch–Kincaid ≤ 6): each sentence of five words or more, and all together', () => {
    const prose = Object.entries(en).filter(([, v]) => (v.match(/[A-Za-z']+/g) ?? []).length >= 5);
    assert.ok(prose.length >= 10, 'the check has prose to score');
    for (const [k, v] of prose) assert.ok(fkGrade(v) <= 6, `${k}: grade ${fkGrade(v).toFixed(1)} — "${v}"`);
    const all = prose.map(([, v]) => (/[.!?]$/.test(v) ? v : `${v}.`)).join(' ');
    assert.ok(fkGrade(all) <= 6, `all together: grade ${fkGrade(all).toFixed(1)}`);
  });

  it('scores a hard sentence above grade 6 (the check can fail)', () => {
    assert.ok(
      fkGrade(
        'Physiological deterioration necessitates immediate communication with your multidisciplinary healthcare organisation.',
      ) > 6,
    );
  });
});
