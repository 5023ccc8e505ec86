import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFhirError } from '../outcomes.ts';
import { notificationBundle } from './notification.ts';
import { ext, parseSubscription } from './subscription-input.ts';
import { topics } from './topics.ts';

const now = Date.parse('2030-01-01T00:00:00Z');
const obsTopic = topics.find((t) => t.key === 'observation')?.url as string;

const base = (over: Record<string, unknown> = {}, channel: Record<string, unknown> = {}) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'r',
  criteria: obsTopic,
  channel: {
    type: 'rest-hook',
    endpoint: 'https://ehr.example.org/hook',
    payload: 'application/fhir+json',
    ...channel,
  },
  ...over,
});

function code(body: unknown): string | undefined {
  try {
    parseSubscription(body, now);
    return undefined;
  } catch (e) {
    assert.ok(isFhirError(e), `a FhirError, not ${String(e)}`);
    return e.outcome.issue?.[0]?.details?.coding?.[0]?.code ?? String(e.status);
  }
}

describe('parseSubscription (backport profile)', () => {
  it('reads topic, patient filter, content, heartbeat, timeout, headers; defaults id-only and 10 s', () => {
    const s = parseSubscription(
      base(
        { _criteria: { extension: [{ url: ext.filter, valueString: 'Observation?patient=Patient/p-1' }] } },
        {
          header: ['Authorization: Bearer x'],
          _payload: { extension: [{ url: ext.content, valueCode: 'full-resource' }] },
          extension: [
            { url: ext.heartbeat, valueUnsignedInt: 60 },
            { url: ext.timeout, valueUnsignedInt: 5 },
          ],
        },
      ),
      now,
    );
    assert.equal(s.topic.key, 'observation');
    assert.equal(s.patientId, 'p-1');
    assert.equal(s.content, 'full-resource');
    assert.equal(s.heartbeatSeconds, 60);
    assert.equal(s.timeoutSeconds, 5);
    assert.deepEqual(s.headers, [['Authorization', 'Bearer x']]);
    const d = parseSubscription(base(), now);
    assert.equal(d.content, 'id-only');
    assert.equal(d.timeoutSeconds, 10);
    assert.equal(d.patientId, null);
    assert.equal(d.heartbeatSeconds, null);
  });

  it('a bare patient id in the filter is the Patient', () => {
    const s = parseSubscription(
      base({ _criteria: { extension: [{ url: ext.filter, valueString: 'Observation?patient=p-2' }] } }),
      now,
    );
    assert.equal(s.patientId, 'p-2');
  });

  it('refuses with coded OperationOutcomes', () => {
    assert.equal(code(base({ criteria: 'https://x.example/t' })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_TOPIC');
    assert.equal(code(base({}, { type: 'email' })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_CHANNEL');
    // A websocket channel has no endpoint: the client binds a socket with a token.
    assert.equal(code(base({}, { type: 'websocket' })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    const ws = parseSubscription(base({}, { type: 'websocket', endpoint: undefined }), now);
    assert.equal(ws.channel, 'websocket');
    assert.equal(ws.endpoint, '');
    assert.equal(code(base({ status: 'error' })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    assert.equal(code(base({}, { endpoint: 'mailto:a@b' })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    assert.equal(
      code(base({}, { extension: [{ url: ext.timeout, valueUnsignedInt: 61 }] })),
      'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID',
    );
    assert.equal(
      code(base({}, { extension: [{ url: ext.heartbeat, valueUnsignedInt: 9 }] })),
      'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID',
    );
    assert.equal(code(base({}, { header: ['Host: evil'] })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    assert.equal(code(base({}, { header: ['X: a\r\nY: b'] })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    assert.equal(code(base({ end: '2029-12-31T00:00:00Z' })), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    const twoFilters = {
      _criteria: {
        extension: [
          { url: ext.filter, valueString: 'Observation?patient=a' },
          { url: ext.filter, valueString: 'Observation?patient=b' },
        ],
      },
    };
    assert.equal(code(base(twoFilters)), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
    // Not R4 at all: the R4 validator's code.
    assert.equal(code(base({ channel: 'x' })), 'VIGIL_ERR_FHIR_INVALID');
    assert.equal(code(null), 'VIGIL_ERR_FHIR_SUBSCRIPTION_INVALID');
  });
});

describe('notificationBundle (backport-subscription-notification-r4)', () => {
  const input = {
    subscriptionId: 's-1',
    baseUrl: 'https://vigil.example/fhir',
    topic: obsTopic,
    status: 'active',
    type: 'event-notification' as const,
    eventsSinceStart: 7,
    events: [{ eventNumber: 7, at: '2030-01-01T00:00:00.000Z', focus: 'Observation/o-1' }],
  };

  it('status first (event numbers as strings), then the focus by content', () => {
    const b = notificationBundle({ ...input, content: 'id-only' }, '2030-01-01T00:00:01.000Z');
    assert.equal(b.type, 'history');
    const p = b.entry?.[0]?.resource as {
      parameter: Array<{ name: string; valueString?: string; part?: unknown[] }>;
    };
    assert.equal(p.parameter.find((x) => x.name === 'events-since-subscription-start')?.valueString, '7');
    const ev = p.parameter.find((x) => x.name === 'notification-event') as {
      part: Array<Record<string, unknown>>;
    };
    assert.deepEqual(ev.part[0], { name: 'event-number', valueString: '7' });
    assert.deepEqual(ev.part[2], {
      name: 'focus',
      valueReference: { reference: 'https://vigil.example/fhir/Observation/o-1' },
    });
    assert.equal(b.entry?.[1]?.fullUrl, 'https://vigil.example/fhir/Observation/o-1');
    assert.equal(b.entry?.[1]?.resource, undefined);
    const empty = notificationBundle({ ...input, content: 'empty' }, '2030-01-01T00:00:01.000Z');
    assert.equal(empty.entry?.length, 1);
    const ep = empty.entry?.[0]?.resource as {
      parameter: Array<{ name: string; part?: Array<{ name: string }> }>;
    };
    assert.ok(
      !ep.parameter.find((x) => x.name === 'notification-event')?.part?.some((x) => x.name === 'focus'),
    );
  });
});
