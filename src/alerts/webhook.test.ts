import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './outbox.ts';
import { signWebhook, verifyWebhook } from './webhook.ts';

describe('webhook signature', () => {
  const secret = 'whsec_test';
  const body = '{"id":"n1","reason":"raised"}';
  const t = 1_772_000_000;

  it('verifies a signature over timestamp.body', () => {
    assert.deepEqual(verifyWebhook(body, signWebhook(body, secret, t), secret, t + 10), {
      ok: true,
      timestamp: t,
    });
  });

  it('rejects a changed body, a wrong secret, a replay outside the tolerance and a malformed header', () => {
    const h = signWebhook(body, secret, t);
    assert.equal(verifyWebhook(`${body} `, h, secret, t).ok, false);
    assert.deepEqual(verifyWebhook(body, h, 'other', t), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyWebhook(body, h, secret, t + 301), { ok: false, reason: 'too-old' });
    assert.deepEqual(verifyWebhook(body, 'v1=abc', secret, t), { ok: false, reason: 'malformed' });
    // A signature cannot be moved to another timestamp.
    const moved = h.replace(`t=${t}`, `t=${t + 100}`);
    assert.deepEqual(verifyWebhook(body, moved, secret, t + 100), { ok: false, reason: 'bad-signature' });
  });

  it('backs off exponentially with jitter, capped', () => {
    const o = { baseMs: 1000, maxMs: 60_000 };
    assert.equal(
      backoffDelay(1, o, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1, o, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(4, o, () => 1),
      8000,
    );
    assert.equal(
      backoffDelay(30, o, () => 1),
      60_000,
    );
    assert.ok(backoffDelay(3, o, () => 0.5) > backoffDelay(2, o, () => 0.5));
  });
});
