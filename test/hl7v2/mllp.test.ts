import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { VigilError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { buildAck } from '../../src/ingest/hl7v2/ack.ts';
import { MllpFramer } from '../../src/ingest/hl7v2/mllp-framer.ts';
import { MllpServer } from '../../src/ingest/hl7v2/mllp-server.ts';
import { testDatabaseUrl } from '../support/databases.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { asWire, corpusDir, frameOf, MllpClient, parseAck } from './support.ts';

const files = readdirSync(corpusDir).sort();
const message = (name: string) => asWire(readFileSync(new URL(name, corpusDir), 'latin1'));
const INVALID = 'wan__invalid-glucose-continua-wan.hl7v2';
const REQUEST2 = 'pcd01__valid-pcd01-request2.hl7v2';

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`HL7 v2 PCD-01 over MLLP [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let t: InProcess;
    let port: number;
    const count = async (sql: string, params: unknown[] = []) =>
      ((await t.vigil.db.query<{ n: number }>(sql, params))[0] as { n: number }).n;
    const readings = (device: string) =>
      count('select count(*)::int as n from observation where device_id = $1', [device]);
    const deadLetters = (reason: string) =>
      count(`select count(*)::int as n from dead_letter where transport = 'hl7v2' and reason_code = $1`, [
        reason,
      ]);

    before(async () => {
      t = await startInProcess({
        postgres: backend === 'postgres',
        env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1' },
      });
      port = t.vigil.mllpPort as number;
      const token = await t.token();
      for (const [id, kind, identifier] of [
        // OBX-18 of the IPF Continua / PCD-01 messages: the measuring device behind gateway ACDE48…
        ['cuff-1', 'blood-pressure-cuff', '01-23-45-67-89-AB-CD-EF'],
        // MSH-3 of the bedside monitor message (no OBX-18)
        ['monitor-1', 'bedside-monitor', '080019ffff4f6ac0'],
      ]) {
        const r = await t.inject({
          method: 'POST',
          url: '/api/v1/devices',
          headers: { authorization: `Bearer ${token}` },
          payload: { id, kind, identifier },
        });
        assert.equal(r.statusCode, 201);
      }
    });
    after(async () => t?.stop());

    it('listens on an ephemeral port when VIGIL_MLLP_PORT=0', () => {
      assert.ok(port > 0);
    });

    it('acknowledges all 11 corpus messages after commit: AA with the control id echoed, AR/AE for the invalid one', async () => {
      const c = await MllpClient.open(port);
      try {
        for (const name of files) {
          const ack = parseAck(await c.send(message(name)));
          assert.equal(ack.type, 'ACK^R01^ACK', name);
          assert.notEqual(ack.ackId, 'MSGID1234');
          const expectedId = name === REQUEST2 ? '12d15a9:11df9e61347:-7fee:30456965' : 'MSGID1234';
          assert.equal(ack.controlId, expectedId, `${name}: MSA-2 echoes MSH-10`);
          if (name === INVALID) {
            assert.ok(ack.code === 'AE' || ack.code === 'AR', `${name} refused, got ${ack.code}`);
            assert.equal(ack.err?.[2], 'OBX^8^2');
            assert.match(ack.err?.[5] ?? '', /^VIGIL_ERR_HL7V2_MISSING_VALUE_TYPE\^/);
          } else {
            assert.equal(ack.code, 'AA', `${name}: ${ack.err?.join('|')}`);
          }
        }
      } finally {
        c.close();
      }
      // The ten valid messages reuse MSGID1234 with different content: all of it is stored.
      assert.equal(await readings('cuff-1'), 13);
      assert.equal(await readings('monitor-1'), 1);
      assert.equal(await deadLetters('VIGIL_ERR_HL7V2_MISSING_VALUE_TYPE'), 1);
      const bp = await t.vigil.db.query<{ code: string }>(
        `select code from observation where device_id = 'cuff-1' and code = '85354-9'`,
      );
      assert.equal(bp.length, 2, 'two BP panels (PCD-01 request and Continua WAN BP)');
    });

    it('deduplicates true resends: the same messages again are acknowledged AA and store nothing new', async () => {
      const before = await readings('cuff-1');
      const c = await MllpClient.open(port);
      try {
        for (const name of files.filter((f) => f !== INVALID)) {
          assert.equal(parseAck(await c.send(message(name))).code, 'AA', name);
        }
      } finally {
        c.close();
      }
      assert.equal(await readings('cuff-1'), before);
      assert.equal(await readings('monitor-1'), 1);
    });

    it('assembles frames across reads and splits several frames in one read', async () => {
      const c = await MllpClient.open(port);
      try {
        const one = frameOf(
          message('wan__valid-oximeter-continua-wan.hl7v2').replace('MSGID1234', 'SPLIT-1'),
        );
        for (let i = 0; i < one.length; i += 7) {
          c.socket.write(one.subarray(i, i + 7));
          await new Promise((r) => setImmediate(r));
        }
        const two = Buffer.concat([
          Buffer.from('noise outside a frame'),
          frameOf(message('wan__valid-thermometer-continua-wan.hl7v2').replace('MSGID1234', 'BATCH-1')),
          frameOf(message('wan__valid-glucose-continua-wan.hl7v2').replace('MSGID1234', 'BATCH-2')),
        ]);
        c.socket.write(two);
        const acks = (await c.waitFor(3)).map(parseAck);
        assert.deepEqual(
          acks.map((a) => [a.code, a.controlId]),
          [
            ['AA', 'SPLIT-1'],
            ['AA', 'BATCH-1'],
            ['AA', 'BATCH-2'],
          ],
        );
      } finally {
        c.close();
      }
      // New control ids, same content and times: new idempotency keys, so stored again.
      assert.equal(await readings('cuff-1'), 16);
    });

    it('refuses a device nobody registered with AR and keeps a dead letter', async () => {
      const unknown = message('wan__valid-oximeter-continua-wan.hl7v2')
        .replaceAll('ACDE48234567ABCD', 'FFEEDDCCBBAA0099')
        .replaceAll('0123456789ABCDEF', 'FFEEDDCCBBAA0011')
        .replace('MSGID1234', 'UNKNOWN-1');
      const c = await MllpClient.open(port);
      try {
        const ack = parseAck(await c.send(unknown));
        assert.equal(ack.code, 'AR');
        assert.equal(ack.controlId, 'UNKNOWN-1');
        assert.match(ack.err?.[3] ?? '', /^204\^/);
        assert.match(ack.err?.[5] ?? '', /^VIGIL_ERR_HL7V2_UNKNOWN_DEVICE/);
      } finally {
        c.close();
      }
      assert.equal(await deadLetters('VIGIL_ERR_HL7V2_UNKNOWN_DEVICE'), 1);
    });

    it('answers AR to other message types and to bytes that are not HL7 v2', async () => {
      const c = await MllpClient.open(port);
      try {
        const adt = message('wan__valid-oximeter-continua-wan.hl7v2').replace(
          'ORU^R01^ORU_R01',
          'ADT^A01^ADT_A01',
        );
        const a = parseAck(await c.send(adt));
        assert.equal(a.code, 'AR');
        assert.match(a.err?.[3] ?? '', /^200\^/);
        const b = parseAck(await c.send('GET / HTTP/1.1'));
        assert.equal(b.code, 'AR');
        assert.equal(b.controlId, '');
      } finally {
        c.close();
      }
      assert.equal(await deadLetters('VIGIL_ERR_HL7V2_MALFORMED'), 1);
    });
  });
}

describe('MLLP pieces', () => {
  it('framer: buffers by frame, tolerates an end block split across reads, reports oversize', () => {
    const f = new MllpFramer(32);
    const msg = frameOf('MSH|^~\\&|A');
    const events = [...f.push(msg.subarray(0, msg.length - 1)), ...f.push(msg.subarray(msg.length - 1))];
    assert.deepEqual(
      events.map((e) => (e.kind === 'message' ? e.bytes.toString() : e.kind)),
      ['MSH|^~\\&|A'],
    );
    const big = f.push(frameOf('x'.repeat(100)));
    assert.deepEqual(
      big.map((e) => e.kind),
      ['oversize'],
    );
    assert.equal(f.push(frameOf('ok')).length, 1, 'the next frame is read normally');
  });

  it('enhanced mode answers CA/CE/CR; ERR text is escaped', () => {
    const subject = {
      controlId: 'X|1',
      version: '2.6',
      processingId: 'P',
      sendingApplication: 'A',
      sendingFacility: '',
    };
    const ok = buildAck({ subject, outcome: 'accept', mode: 'enhanced', ackControlId: 'n1', now: 0 });
    assert.match(ok, /\rMSA\|CA\|X\\F\\1\r$/);
    const err = buildAck({
      subject,
      outcome: 'error',
      mode: 'enhanced',
      ackControlId: 'n2',
      now: 0,
      error: { code: 'VIGIL_ERR_INGEST_NOT_A_NUMBER', message: 'a|b', field: 'OBX[3]-5' },
    });
    assert.match(err, /MSA\|CE\|/);
    assert.match(err, /ERR\|\|OBX\^3\^5\|102\^Data type error\^HL70357\|E\|/);
  });

  it('closes connections from addresses outside the allow-list without reading them', async () => {
    let ingested = 0;
    const server = new MllpServer({
      ingest: {
        ingest: async () => {
          ingested++;
          return [{ status: 'accepted', ids: [] }];
        },
        refuse: async (_e, err: VigilError) => ({
          status: 'rejected',
          reason: err.code,
          message: err.message,
          deadLetterId: 'x',
        }),
      },
      inspect: () => {
        throw new VigilError('VIGIL_ERR_HL7V2_MALFORMED', 'no');
      },
      devices: { byIdentifiers: async () => [] },
      clock: systemClock,
      log: createLogger('silent'),
      maxMessageBytes: 1024,
      allow: ['10.0.0.0/8'],
    });
    const p = await server.listen(0, '127.0.0.1');
    try {
      const c = await MllpClient.open(p);
      c.socket.write(frameOf(message('wan__valid-oximeter-continua-wan.hl7v2')));
      const acks = await c.waitFor(1);
      assert.equal(acks.length, 0);
      assert.equal(c.closed, true);
      assert.equal(ingested, 0);
    } finally {
      await server.close();
    }
  });
});
