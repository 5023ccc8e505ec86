import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAck } from './ack.ts';

const subject = (messageType?: string) => ({
  controlId: 'MSG1',
  version: '2.6',
  processingId: 'P',
  sendingApplication: 'ADT_SYS',
  sendingFacility: 'WARD',
  ...(messageType ? { messageType } : {}),
});
const msh9 = (ack: string) => ack.split('\r')[0]?.split('|')[8];

test('ACK MSH-9 echoes the trigger event of the message acknowledged', () => {
  const base = { outcome: 'reject' as const, mode: 'original' as const, ackControlId: 'A1', now: 0 };
  assert.equal(msh9(buildAck({ ...base, subject: subject('ADT^A01') })), 'ACK^A01^ACK');
  assert.equal(msh9(buildAck({ ...base, subject: subject('ORU^R01') })), 'ACK^R01^ACK');
  assert.equal(msh9(buildAck({ ...base, subject: subject('ADT^A40') })), 'ACK^A40^ACK');
  // Unreadable MSH-9: the PCD-01 default.
  assert.equal(msh9(buildAck({ ...base, subject: subject() })), 'ACK^R01^ACK');
  assert.equal(msh9(buildAck({ ...base, subject: undefined })), 'ACK^R01^ACK');
  assert.equal(msh9(buildAck({ ...base, subject: subject('ADT^<script>') })), 'ACK^R01^ACK');
});
