import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessPolicy, devicePublishAllowed } from './access-policy.ts';
import type { Principal } from './token-service.ts';

const careTeams = { patientsOf: async (pr: string) => new Set(pr === 'pr-1' ? ['p1'] : []) };
const consent = {
  isPermitted: async (patient: string) => patient !== 'p2',
  refusing: async () => new Set(['p2']),
};
const policy = new AccessPolicy(careTeams, consent);
const principals: Record<string, Principal> = {
  admin: { kind: 'user', id: 'a', roles: ['admin'], scopes: [] },
  clinician: { kind: 'user', id: 'c', roles: ['clinician'], scopes: [], practitionerId: 'pr-1' },
  unlinkedNurse: { kind: 'user', id: 'n', roles: ['nurse'], scopes: [] },
  patient: { kind: 'user', id: 'p', roles: ['patient'], scopes: [], patientId: 'p1' },
  integration: {
    kind: 'integration',
    id: 'ehr',
    roles: ['integration'],
    scopes: ['system/Observation.read'],
  },
  device: { kind: 'device', id: 'd', roles: ['device'], scopes: [] },
};

test('the care-team, own-record, scope and consent rules', async () => {
  const can = async (who: string, patient: string, action: 'read' | 'write', type = 'Observation') =>
    (await policy.canAccessPatient(principals[who], patient, action, type)).allowed;
  assert.equal(await can('admin', 'p3', 'write'), true);
  assert.equal(await can('clinician', 'p1', 'write'), true);
  assert.equal(await can('clinician', 'p3', 'read'), false);
  assert.equal(await can('unlinkedNurse', 'p1', 'read'), false);
  assert.equal(await can('patient', 'p1', 'read'), true);
  assert.equal(await can('patient', 'p1', 'write'), false);
  assert.equal(await can('patient', 'p3', 'read'), false);
  assert.equal(await can('integration', 'p1', 'read'), true);
  assert.equal(await can('integration', 'p1', 'read', 'Patient'), false, 'scope names Observation only');
  assert.equal(await can('integration', 'p2', 'read'), false, 'p2 refuses sharing');
  assert.equal(await can('integration', 'p1', 'write'), false);
  assert.equal(await can('device', 'p1', 'read'), false);
  assert.equal((await policy.canAccessPatient(undefined, 'p1', 'read')).allowed, false);
  assert.equal(devicePublishAllowed('d1', 'd1'), true);
  assert.equal(devicePublishAllowed('d1', 'd2'), false);
  assert.equal(devicePublishAllowed(undefined, 'd2'), false);
});

test('the synchronous snapshot decides exactly as the policy does', async () => {
  for (const [name, p] of Object.entries(principals)) {
    const snap = await policy.snapshot(p);
    for (const patient of ['p1', 'p2', 'p3', null]) {
      for (const action of ['read', 'write'] as const) {
        for (const type of ['Observation', 'Patient', 'Practitioner', 'Bundle']) {
          const want = (await policy.authorizeFhir(p, type, action, patient)).allowed;
          assert.equal(
            snap.decide(type, action, patient).allowed,
            want,
            `${name} ${action} ${type} of ${patient}`,
          );
        }
      }
    }
    assert.equal(snap.decide('AuditEvent', 'read').allowed, name === 'admin');
  }
});

test('a patient reads no unattributed clinical data, only directory resources', async () => {
  const snap = await policy.snapshot(principals['patient']);
  assert.equal(snap.decide('Observation', 'read', null).allowed, false);
  assert.equal(snap.decide('Bundle', 'read', null).allowed, false);
  assert.equal(snap.decide('Practitioner', 'read', null).allowed, true);
  assert.equal(snap.decide('Practitioner', 'write', null).allowed, false);
});

test('the snapshot names the patients searches may return', async () => {
  const set = async (who: string) => (await policy.snapshot(principals[who])).patients;
  assert.equal(await set('admin'), 'all');
  assert.deepEqual(await set('clinician'), { only: new Set(['p1']) });
  assert.deepEqual(await set('unlinkedNurse'), { only: new Set() });
  assert.deepEqual(await set('patient'), { only: new Set(['p1']) });
  assert.deepEqual(await set('integration'), { except: new Set(['p2']) });
  assert.deepEqual(await set('device'), { only: new Set() });
  assert.deepEqual((await policy.snapshot(undefined)).patients, { only: new Set() });
});

test('a device on FHIR (PHD gateway): creates Observations for its assigned patient or none, and Devices; nothing else', async () => {
  const gw: Principal = { kind: 'device', id: 'gw', roles: ['device'], scopes: [], patientId: 'p1' };
  const snap = await policy.snapshot(gw);
  const d = (type: string, action: 'read' | 'write', patient: string | null, interaction?: string) =>
    snap.decide(type, action, patient, interaction).allowed;
  assert.equal(d('Observation', 'write', 'p1', 'create'), true, 'its assigned patient');
  assert.equal(d('Observation', 'write', null, 'create'), true, 'no patient (coincident time stamp)');
  assert.equal(d('Observation', 'write', 'p3', 'create'), false, 'another patient');
  assert.equal(d('Observation', 'read', 'p1', 'read'), true, 'what its conditional create matched');
  assert.equal(d('Observation', 'read', 'p3', 'read'), false);
  assert.equal(d('Device', 'write', null, 'create'), true);
  assert.equal(d('Patient', 'write', 'p1', 'create'), false, 'creates no Patient');
  assert.equal(d('Patient', 'read', 'p1', 'read'), false, 'reads no Patient');
  assert.equal(d('Observation', 'write', 'p1', 'update'), false, 'no update');
  assert.equal(d('Observation', 'write', 'p1', 'delete'), false, 'no delete');
  assert.equal(d('AuditEvent', 'read', null, 'search'), false);
  // The same answers from the asynchronous hook.
  assert.equal((await policy.authorizeFhir(gw, 'Observation', 'write', 'p1')).allowed, true);
  assert.equal((await policy.authorizeFhir(gw, 'Observation', 'write', 'p3')).allowed, false);
  const unassigned: Principal = { ...gw, patientId: null };
  assert.equal(
    (await policy.snapshot(unassigned)).decide('Observation', 'write', 'p1', 'create').allowed,
    false,
  );
});

test('a SMART app token: the person’s access, further limited by the app’s patient/ and user/ scopes', async () => {
  const app = (scopes: string[], launchPatient?: string): Principal => ({
    ...(principals['admin'] as Principal),
    scopes,
    smartClientId: 'chart-app',
    ...(launchPatient ? { launchPatient } : {}),
  });
  const patientApp = app(['patient/Observation.rs'], 'p1');
  const snap = await policy.snapshot(patientApp);
  assert.equal(snap.decide('Observation', 'read', 'p1').allowed, true);
  assert.equal(snap.decide('Observation', 'read', 'p3').allowed, false, 'admin, but the launch patient only');
  assert.equal(snap.decide('Observation', 'write', 'p1').allowed, false, 'rs is no write');
  assert.equal(snap.decide('Patient', 'read', 'p1').allowed, false, 'no Patient scope');
  assert.equal(snap.decide('Observation', 'read', null).allowed, false, 'an unattributed reading');
  assert.deepEqual(snap.patients, { only: new Set(['p1']) });
  const userApp = await policy.snapshot({
    ...(principals['clinician'] as Principal),
    scopes: ['user/*.rs'],
    smartClientId: 'x',
  });
  assert.equal(userApp.decide('Observation', 'read', 'p1').allowed, true);
  assert.equal(userApp.decide('Observation', 'read', 'p3').allowed, false, 'not in the care team');
  assert.equal(userApp.decide('Observation', 'write', 'p1').allowed, false);
  assert.equal((await policy.canAccessPatient(patientApp, 'p3', 'read')).allowed, false);
  assert.equal(
    (await policy.authorizeFhir(patientApp, 'Practitioner', 'read', null)).allowed,
    false,
    'no scope',
  );
  const dirApp = app(['patient/*.rs'], 'p1');
  assert.equal((await policy.authorizeFhir(dirApp, 'Practitioner', 'read', null)).allowed, true, 'directory');
});
