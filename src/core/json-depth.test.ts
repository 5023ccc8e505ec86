import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeValue, jsonTooDeep, maxJsonDepth } from './json-depth.ts';

describe('jsonTooDeep', () => {
  it('finds nesting past the limit without parsing', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    assert.equal(jsonTooDeep(Buffer.from(deep)), true);
    assert.equal(jsonTooDeep(`${'['.repeat(maxJsonDepth)}${']'.repeat(maxJsonDepth)}`), false);
    assert.equal(jsonTooDeep(`${'{"a":'.repeat(maxJsonDepth + 1)}1${'}'.repeat(maxJsonDepth + 1)}`), true);
  });
  it('ignores brackets inside strings, escaped quotes included', () => {
    const s = JSON.stringify({ note: `\\"${'['.repeat(500)}`, b: [1, 2] });
    assert.equal(jsonTooDeep(s), false);
    assert.equal(jsonTooDeep(`["\\"", ${'['.repeat(100)}]`), true);
  });
  it('a native reading batch is far below the limit', () => {
    const batch = { readings: [{ type: 'blood-pressure', components: { systolic: 120, diastolic: 80 } }] };
    assert.equal(jsonTooDeep(JSON.stringify(batch), 4), false);
  });
});

describe('describeValue', () => {
  it('never serializes structures, cuts long strings', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    assert.equal(describeValue(deep), 'an array');
    assert.equal(describeValue({ a: 1 }), 'an object');
    assert.equal(describeValue('kg'), '"kg"');
    assert.ok(describeValue('x'.repeat(1000)).length < 80);
    assert.equal(describeValue(null), 'null');
  });
});
