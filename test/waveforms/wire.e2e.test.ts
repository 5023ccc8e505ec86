import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { parseSampleData } from '../../src/core/waveform.ts';
import type { Vigil } from '../../src/server.ts';
import { MllpClient, parseAck } from '../hl7v2/support.ts';
import { call, signIn, startTestVigil } from '../pipeline/support.ts';
import { validateFhir } from '../support/fhir-validator.ts';

/**
 * The other two ways a strip arrives, from the wire to a FHIR read: the documented PCD-01 example
 * (docs/examples/pcd01-ecg-waveform.hl7) over MLLP, a pleth strip over MQTT
 * (`devices/{id}/waveforms`), and the HL7 PHD IG rtsa example through FHIR create.
 */
const MDC = 'urn:iso:std:iso:11073:10101';

describe('waveform strips over MLLP, MQTT and FHIR create', () => {
  let vigil: Vigil;
  let url: string;
  let token: string;
  let patientId: string;
  let secret: string;
  const search = async (code: string) =>
    (
      await call(
        url,
        token,
        'GET',
        `/fhir/Observation?patient=${patientId}&code=${encodeURIComponent(`${MDC}|${code}`)}`,
      )
    ).body as { entry?: { resource: Record<string, never> }[] };

  before(async () => {
    vigil = await startTestVigil({ env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1' } });
    url = vigil.httpUrl;
    token = await signIn(url);
    const p = await call<{ id: string }>(
      url,
      token,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      'application/fhir+json',
    );
    patientId = p.body.id;
    const dev = await call<{ secret: string }>(url, token, 'POST', '/api/v1/devices', {
      id: 'bed-12-monitor',
      kind: 'bedside-monitor',
      identifier: '00-A0-37-00-98-00-66-40',
    });
    assert.equal(dev.status, 201, JSON.stringify(dev.body));
    secret = dev.body.secret;
    const asg = await call(url, token, 'POST', '/api/v1/devices/bed-12-monitor/assignments', {
      patientId,
      start: '2026-01-01T00:00:00Z',
    });
    assert.equal(asg.status, 201, JSON.stringify(asg.body));
  });
  after(async () => {
    await vigil?.stop();
  });

  it('PCD-01 over MLLP: AA after commit, the NA row served as a lead II strip with its values', async () => {
    const text = readFileSync(new URL('../../docs/examples/pcd01-ecg-waveform.hl7', import.meta.url), 'utf8');
    const c = await MllpClient.open(vigil.mllpPort as number);
    try {
      const ack = parseAck(await c.send(text));
      assert.equal(ack.code, 'AA');
      assert.equal(ack.controlId, 'WAVE0001');
    } finally {
      c.close();
    }
    const found = await search('131330');
    assert.equal(found.entry?.length, 1);
    const obs = found.entry?.[0]?.resource as never as {
      valueSampledData: {
        origin: { value: number; code: string };
        factor: number;
        period: number;
        data: string;
      };
      subject: { reference: string };
    };
    assert.deepEqual(validateFhir(obs as never), []);
    assert.equal(obs.subject.reference, `Patient/${patientId}`);
    const sd = obs.valueSampledData;
    assert.equal(sd.period, 4);
    assert.equal(sd.origin.code, 'mV');
    const parsed = parseSampleData(sd.data);
    assert.ok('counts' in parsed);
    const sent = (text.split('\r').find((l) => l.startsWith('OBX|4|')) ?? '').split('|')[5]?.split('^') ?? [];
    assert.deepEqual(
      parsed.counts.map((n) => Number((sd.origin.value + sd.factor * n).toFixed(6))),
      sent.map(Number),
    );
  });

  it('MQTT devices/{id}/waveforms: a pleth strip acknowledged (QoS 1) and served', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${vigil.mqttPort}`, {
      clientId: 'bed-12-monitor',
      username: 'bed-12-monitor',
      password: secret,
      reconnectPeriod: 0,
    });
    const data = [120, 180, 260, 300, 280, 220, 170, 140, 130, 125];
    try {
      await client.publishAsync(
        'devices/bed-12-monitor/waveforms',
        JSON.stringify({
          messageId: 'pleth-mqtt-1',
          time: new Date(Date.now() - 60_000).toISOString(),
          channels: [{ code: { system: MDC, code: '150452' }, unit: '1', periodMs: 4, data }],
        }),
        { qos: 1 },
      );
    } finally {
      await client.endAsync();
    }
    const found = await search('150452');
    assert.equal(found.entry?.length, 1);
    const first = found.entry?.[0]?.resource as never as
      | { valueSampledData: { data: string; origin: { code: string } } }
      | undefined;
    const sd = first?.valueSampledData;
    assert.ok(sd);
    assert.equal(sd.data, data.join(' '));
    assert.equal(sd.origin.code, '1');
  });

  it('FHIR create of the PHD IG rtsa ECG example: stored and read back with its SampledData', async () => {
    const example = JSON.parse(
      readFileSync(new URL('../corpora/fhir-phd-ig-examples/rtsa-example-2.json', import.meta.url), 'utf8'),
    );
    // The example's references point at its own Patient/Devices; ours exist here.
    const { extension: _gateway, performer: _performer, id: _id, ...rest } = example;
    const body = {
      ...rest,
      subject: { reference: `Patient/${patientId}` },
      device: { reference: 'Device/bed-12-monitor' },
    };
    const created = await call<{ id: string }>(
      url,
      token,
      'POST',
      '/fhir/Observation',
      body,
      'application/fhir+json',
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const read = await call(url, token, 'GET', `/fhir/Observation/${created.body.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.valueSampledData.data, example.valueSampledData.data);
    assert.equal(read.body.valueSampledData.factor, 1.612);
  });
});
