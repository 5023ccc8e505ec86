import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * LoRaWAN uplinks over HTTP from the two network servers, in their documented JSON, through a
 * vendor codec run in QuickJS, to a FHIR read. The codec is written the way vendors publish them
 * (TS013 Payload Codec API: `decodeUplink(input)` → `{ data, warnings, errors }`).
 */
const cuffCodec = `
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) return { errors: ['unknown fPort ' + input.fPort] };
  if (b.length < 5) return { errors: ['frame too short'] };
  // byte 0: flags; bytes 1-2 systolic, 3 diastolic (mmHg), 4 pulse (/min)
  var sys = (b[1] << 8) | b[2];
  return {
    data: { readings: [
      { type: 'blood-pressure', components: { systolic: sys, diastolic: b[3] }, unit: 'mm[Hg]' },
      { type: 'heart-rate', value: b[4], unit: '/min' }
    ] },
    warnings: (b[0] & 1) ? ['irregular heartbeat flag'] : []
  };
}`;

// A frame: flags 0, systolic 0x0084 = 132, diastolic 0x52 = 82, pulse 0x48 = 72.
const frame = Buffer.from([0x00, 0x00, 0x84, 0x52, 0x48]).toString('base64');
const devEui = '70B3D57ED005A1C2';

function chirpstackUp(fCnt: number, data = frame, gatewayCount = 1) {
  return {
    deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
    time: '2026-12-01T08:00:00.000Z',
    deviceInfo: {
      tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
      tenantName: 'Home monitoring',
      applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
      applicationName: 'cuffs',
      deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
      deviceProfileName: 'ACME BP-1',
      deviceName: 'cuff-17',
      devEui: devEui.toLowerCase(),
      tags: {},
    },
    devAddr: '00189440',
    adr: true,
    dr: 1,
    fCnt,
    fPort: 2,
    confirmed: false,
    data,
    rxInfo: Array.from({ length: gatewayCount }, (_, i) => ({
      gatewayId: `0016c001f153a14${i}`,
      uplinkId: 4217106255 + i,
      rssi: -36 - i,
      snr: 10.5,
      context: 'E3OWOQ==',
      metadata: { region_common_name: 'EU868', region_config_id: 'eu868' },
    })),
    txInfo: {
      frequency: 868300000,
      modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } },
    },
  };
}

function ttsUp(fCnt: number, data = frame) {
  return {
    end_device_ids: {
      device_id: 'cuff-17',
      application_ids: { application_id: 'home-cuffs' },
      dev_eui: devEui,
      join_eui: '0000000000000000',
      dev_addr: '260B1234',
    },
    correlation_ids: ['as:up:01J...'],
    received_at: '2026-12-01T09:00:00.120Z',
    uplink_message: {
      session_key_id: 'AYf1nPH3VTk0Vt1hxcybAw==',
      f_port: 2,
      f_cnt: fCnt,
      frm_payload: data,
      rx_metadata: [
        {
          gateway_ids: { gateway_id: 'home-gw', eui: 'B827EBFFFE8A1D2C' },
          time: '2026-12-01T09:00:00.050Z',
          rssi: -41,
          channel_rssi: -41,
          snr: 9.25,
        },
      ],
      settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 7 } }, frequency: '868100000' },
      received_at: '2026-12-01T09:00:00.100Z',
      consumed_airtime: '0.051456s',
    },
  };
}

describe('LoRaWAN uplinks (ChirpStack v4, The Things Stack v3)', () => {
  let t: InProcess;
  let admin: string;
  let chirp: { id: string; secret: string; uplinkPath: string };
  let tts: { id: string; secret: string; uplinkPath: string };

  const api = async (method: string, url: string, body?: unknown, token = admin) =>
    fetch(`${t.vigil.httpUrl}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const observations = async () =>
    (
      await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'lora-cuff-1'`,
      )
    )[0]?.n ?? 0;
  const deadLetters = async (code: string) =>
    (
      await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from dead_letter where transport = 'lorawan' and reason_code = $1`,
        [code],
      )
    )[0]?.n ?? 0;

  before(async () => {
    t = await startInProcess();
    admin = await t.token();
    const d = await api('POST', '/api/v1/devices', {
      id: 'lora-cuff-1',
      kind: 'blood-pressure-cuff',
      identifier: '70-B3-D5-7E-D0-05-A1-C2',
      manufacturer: 'ACME',
      model: 'ACME BP-1',
    });
    assert.equal(d.status, 201, await d.text());
    const c = await api('PUT', `/api/v1/lorawan/codecs/${encodeURIComponent('ACME BP-1')}`, {
      source: cuffCodec,
    });
    assert.equal(c.status, 201, await c.text());
    const i1 = await api('POST', '/api/v1/lorawan/integrations', {
      network: 'chirpstack',
      name: 'Home ChirpStack',
    });
    assert.equal(i1.status, 201);
    chirp = (await i1.json()) as typeof chirp;
    const i2 = await api('POST', '/api/v1/lorawan/integrations', { network: 'tts', name: 'TTS cloud' });
    tts = (await i2.json()) as typeof tts;
  });
  after(async () => t?.stop());

  it('stores a ChirpStack uplink decoded by the model codec and serves it through FHIR', async () => {
    const r = await api('POST', `${chirp.uplinkPath}?event=up`, chirpstackUp(10), chirp.secret);
    assert.equal(r.status, 200, await r.clone().text());
    const body = (await r.json()) as { deviceId: string; results: { status: string; ids: string[] }[] };
    assert.equal(body.deviceId, 'lora-cuff-1');
    assert.deepEqual(
      body.results.map((x) => x.status),
      ['accepted'],
    );
    const ids = body.results[0]?.ids ?? [];
    assert.equal(ids.length, 2);
    const obs = await Promise.all(
      ids.map(async (id) => (await api('GET', `/fhir/Observation/${id}`)).json()),
    );
    const bp = obs.find((o) => o.code.coding.some((c: { code: string }) => c.code === '85354-9'));
    const hr = obs.find((o) => o.code.coding.some((c: { code: string }) => c.code === '8867-4'));
    assert.ok(bp && hr, 'a blood-pressure panel and a heart rate');
    const sys = bp.component.find(
      (c: { code: { coding: { code: string }[] } }) => c.code.coding[0]?.code === '8480-6',
    );
    assert.equal(sys.valueQuantity.value, 132);
    assert.equal(hr.valueQuantity.value, 72);
    assert.equal(
      hr.effectiveDateTime,
      '2026-12-01T08:00:00.000Z',
      'the network server time stands in for a device clock',
    );
    assert.equal(hr.device.reference, 'Device/lora-cuff-1');
  });

  it('a frame heard again (another gateway, a retry, a second network server) is one reading', async () => {
    const before = await observations();
    const r = await api('POST', `${chirp.uplinkPath}?event=up`, chirpstackUp(10, frame, 3), chirp.secret);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { results: { status: string }[] };
    assert.deepEqual(
      body.results.map((x) => x.status),
      ['duplicate'],
    );
    assert.equal(await observations(), before);
    // A new frame counter is a new measurement.
    const next = await api('POST', `${chirp.uplinkPath}?event=up`, chirpstackUp(11), chirp.secret);
    assert.equal(((await next.json()) as { results: { status: string }[] }).results[0]?.status, 'accepted');
    assert.equal(await observations(), before + 2);
  });

  it('stores a The Things Stack uplink', async () => {
    const before = await observations();
    const r = await api('POST', tts.uplinkPath, ttsUp(3), tts.secret);
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(await observations(), before + 2);
  });

  it('acknowledges other ChirpStack events without storing them', async () => {
    const before = await observations();
    const r = await api(
      'POST',
      `${chirp.uplinkPath}?event=join`,
      { deviceInfo: { devEui }, devAddr: '01020304' },
      chirp.secret,
    );
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ignored: 'join' });
    assert.equal(await observations(), before);
  });

  it('refuses a missing, wrong, revoked or other network’s credential', async () => {
    assert.equal((await api('POST', `${chirp.uplinkPath}?event=up`, chirpstackUp(20), '')).status, 401);
    assert.equal(
      (await api('POST', `${chirp.uplinkPath}?event=up`, chirpstackUp(20), 'vgl_wrong')).status,
      401,
    );
    // The TTS integration's secret is not valid on the ChirpStack route of another integration id.
    assert.equal(
      (await api('POST', `${chirp.uplinkPath}?event=up`, chirpstackUp(20), tts.secret)).status,
      401,
    );
    const extra = (await (
      await api('POST', '/api/v1/lorawan/integrations', { network: 'chirpstack', name: 'old' })
    ).json()) as typeof chirp;
    assert.equal((await api('DELETE', `/api/v1/lorawan/integrations/${extra.id}`)).status, 204);
    const r = await api('POST', `${extra.uplinkPath}?event=up`, chirpstackUp(21), extra.secret);
    assert.equal(r.status, 401);
    assert.equal(
      ((await r.json()) as { error: { code: string } }).error.code,
      'VIGIL_ERR_INGEST_BAD_CREDENTIAL',
    );
  });

  it('bad uplinks get a coded answer and a dead letter, never a 500', async () => {
    const cases: [unknown, number, string][] = [
      ['not json at all', 400, 'VIGIL_ERR_INGEST_MALFORMED_JSON'],
      [{ hello: 'world' }, 400, 'VIGIL_ERR_LORAWAN_BAD_UPLINK'],
      [{ ...chirpstackUp(30), deviceInfo: { devEui: 'zz' } }, 400, 'VIGIL_ERR_LORAWAN_BAD_UPLINK'],
      [{ ...chirpstackUp(30), data: '***' }, 400, 'VIGIL_ERR_LORAWAN_BAD_UPLINK'],
      [
        { ...chirpstackUp(30), deviceInfo: { devEui: '0011223344556677' } },
        404,
        'VIGIL_ERR_LORAWAN_UNKNOWN_DEVICE',
      ],
      // The codec refuses the frame (too short): its error is the reason.
      [chirpstackUp(31, Buffer.from([1, 2]).toString('base64')), 422, 'VIGIL_ERR_LORAWAN_CODEC_FAILED'],
      // Decoded to an implausible systolic pressure (1,024 mmHg): refused by normalization like any other reading.
      [
        chirpstackUp(32, Buffer.from([0, 0x04, 0x00, 0x52, 0x48]).toString('base64')),
        422,
        'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE',
      ],
    ];
    for (const [body, status, code] of cases) {
      const before = await deadLetters(code);
      const r = await fetch(`${t.vigil.httpUrl}${chirp.uplinkPath}?event=up`, {
        method: 'POST',
        headers: { authorization: `Bearer ${chirp.secret}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await r.text();
      assert.equal(r.status, status, text);
      assert.ok(text.includes(code), `${code} in ${text}`);
      assert.equal(await deadLetters(code), before + 1, `a dead letter for ${code}`);
    }
  });

  it('a codec cannot hang, exhaust memory or reach Node', async () => {
    const hostile = [
      'function decodeUplink() { while (true) {} }',
      'function decodeUplink() { var a = []; for (;;) a.push(new Array(100000).fill(1)); }',
      'function f() { return f() + 1 } function decodeUplink() { return f() }',
      'function decodeUplink() { return { data: { readings: [{ type: "heart-rate", value: typeof process + typeof require, unit: "/min" }] } } }',
    ];
    for (const [i, source] of hostile.entries()) {
      const model = `hostile-${i}`;
      const d = await api('POST', '/api/v1/devices', {
        id: `lora-h${i}`,
        kind: 'wearable',
        identifier: `A0B0C0D0E0F0000${i}`,
        model,
      });
      assert.equal(d.status, 201);
      assert.equal((await api('PUT', `/api/v1/lorawan/codecs/${model}`, { source })).status, 201);
      const up = {
        ...chirpstackUp(1),
        deviceInfo: { ...chirpstackUp(1).deviceInfo, devEui: `A0B0C0D0E0F0000${i}` },
      };
      const r = await api('POST', `${chirp.uplinkPath}?event=up`, up, chirp.secret);
      const text = await r.text();
      assert.equal(r.status, 422, text);
      // The last one runs but sees neither `process` nor `require` ("undefinedundefined" is no number).
      assert.match(text, /VIGIL_ERR_LORAWAN_CODEC_FAILED|VIGIL_ERR_INGEST_/);
      if (i === 3) assert.ok(!text.includes('object'), text);
    }
    // The engine still works after a runaway codec.
    const ok = await api('POST', `/api/v1/lorawan/codecs/${encodeURIComponent('ACME BP-1')}/decode`, {
      payload: '0000845248',
      fPort: 2,
    });
    assert.equal(ok.status, 200);
    const decoded = (await ok.json()) as { data: { readings: { value?: number }[] } };
    assert.equal(decoded.data.readings[1]?.value, 72);
  });

  it('refuses a codec that does not load or defines no decodeUplink', async () => {
    for (const source of ['function decodeUplink( {', 'var decode = 1;']) {
      const r = await api('PUT', '/api/v1/lorawan/codecs/broken', { source });
      assert.equal(r.status, 400);
      assert.equal(
        ((await r.json()) as { error: { code: string } }).error.code,
        'VIGIL_ERR_LORAWAN_CODEC_FAILED',
      );
    }
  });

  it('codecs are versioned and only admins manage LoRaWAN', async () => {
    const again = await api('PUT', `/api/v1/lorawan/codecs/${encodeURIComponent('ACME BP-1')}`, {
      source: cuffCodec,
    });
    assert.equal(((await again.json()) as { version: number }).version, 2);
    const list = (await (await api('GET', '/api/v1/lorawan/codecs')).json()) as {
      codecs: { model: string; version: number }[];
    };
    assert.equal(list.codecs.find((c) => c.model === 'ACME BP-1')?.version, 2);
    assert.equal((await api('GET', '/api/v1/lorawan/integrations', undefined, '')).status, 401);
  });
});
