/**
 * Online run: provision the population in a running Vigil through its API (Patients, one CareTeam
 * per patient naming its monitoring program, devices registered and assigned), then play the
 * devices in (accelerated) simulated time over MQTT and HTTP.
 */
import { VigilFhir } from '../../core/fhir-namespace.ts';
import type { SimPatient } from '../population.ts';
import { SIM_IDENTIFIER_SYSTEM } from '../population.ts';
import type { FhirResource, SimApiClient } from './api-client.ts';
import { planTime, simulatedNow, type TimePlan } from './time-model.ts';
import { type DeviceLink, emptySendStats, httpLink, mqttLink, type SendStats } from './transport.ts';

export const PROGRAM_SYSTEM = VigilFhir.monitoringProgram;

export interface ProvisionOptions {
  /** Practitioner ids to put on every patient's care team (demo: the clinician and the nurse). */
  practitionerIds?: readonly string[];
  /** Assignment start: readings earlier than this are not attributed. */
  assignFromMs: number;
  onPatient?: (done: number, total: number) => void;
}

export interface Provisioned {
  /** device id → its secret. */
  secrets: Map<string, string>;
}

function patientResource(p: SimPatient): FhirResource & { identifier: { system: string; value: string }[] } {
  return {
    resourceType: 'Patient',
    identifier: [{ system: SIM_IDENTIFIER_SYSTEM, value: p.identifier }],
    active: true,
    name: [{ use: 'official', family: p.name.family, given: [p.name.given] }],
    gender: p.gender,
    birthDate: p.birthDate,
  };
}

function careTeamResource(p: SimPatient, practitionerIds: readonly string[], startMs: number): FhirResource {
  return {
    resourceType: 'CareTeam',
    identifier: [{ system: `${SIM_IDENTIFIER_SYSTEM}/care-team`, value: p.identifier }],
    status: 'active',
    category: [
      { coding: [{ system: PROGRAM_SYSTEM, code: p.program, display: `${p.program} remote monitoring` }] },
    ],
    name: `${p.program} remote monitoring`,
    subject: { reference: `Patient/${p.id}` },
    period: { start: new Date(startMs).toISOString() },
    participant: practitionerIds.map((id) => ({ member: { reference: `Practitioner/${id}` } })),
  };
}

/** Creates (or finds again, by identifier) every patient, its care team and its devices. Sets `p.id`. */
export async function provision(
  api: SimApiClient,
  patients: SimPatient[],
  o: ProvisionOptions,
): Promise<Provisioned> {
  const secrets = new Map<string, string>();
  let done = 0;
  // A few at a time: argon2 hashing of device secrets is deliberately slow on the server.
  const queue = [...patients];
  const worker = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      p.id = await api.ensurePatient(patientResource(p));
      const teams = await api.search(
        'CareTeam',
        `identifier=${encodeURIComponent(`${SIM_IDENTIFIER_SYSTEM}/care-team|${p.identifier}`)}`,
      );
      if (teams.length === 0) await api.create(careTeamResource(p, o.practitionerIds ?? [], o.assignFromMs));
      await enrol(api, p);
      for (const d of p.devices) {
        const secret = await api.ensureDevice({
          id: d.id,
          kind: d.model.kind,
          manufacturer: d.model.manufacturer,
          model: d.model.model,
          serial: d.id.slice(-24),
        });
        secrets.set(d.id, secret);
        await api.assign(d.id, p.id, new Date(o.assignFromMs).toISOString());
      }
      o.onPatient?.(++done, patients.length);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { secrets };
}

/**
 * Enrols the patient in its monitoring program (PUT /api/v1/patients/:id/monitoring) so detection
 * evaluates its readings; COPD patients get NEWS2 SpO2 Scale 2. Skipped if this Vigil has no such
 * route (404).
 */
async function enrol(api: SimApiClient, p: SimPatient): Promise<void> {
  const monitoring = { programs: [p.program], ...(p.run.news2Scale === 2 ? { spo2Scale: 2 } : {}) };
  await api.request(
    'PUT',
    `/api/v1/patients/${encodeURIComponent(p.id)}/monitoring`,
    { monitoring, reason: 'simulated patient' },
    { ok404: true },
  );
}

export interface OnlineProgress {
  plan: TimePlan;
  simNowMs: number;
  stats: SendStats;
  done: boolean;
}

export interface OnlineRunOptions {
  api: SimApiClient;
  /** mqtt://host:port of Vigil's broker (needed when a device speaks MQTT). */
  mqttUrl?: string;
  patients: readonly SimPatient[];
  secrets: Map<string, string>;
  plan: TimePlan;
  tickMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: OnlineProgress) => void;
  now?: () => number;
}

/** Plays every device until the window ends (or, with plan.follow, until the signal aborts). */
export async function runOnline(o: OnlineRunOptions): Promise<SendStats> {
  const now = o.now ?? Date.now;
  const stats = emptySendStats();
  const links = new Map<string, DeviceLink>();
  const devices = o.patients.flatMap((p) => p.devices);
  try {
    for (const d of devices) {
      const secret = o.secrets.get(d.id);
      if (!secret) throw new Error(`device ${d.id} was not provisioned`);
      if (d.transport === 'mqtt') {
        if (!o.mqttUrl) throw new Error(`device ${d.id} speaks MQTT but no MQTT URL is known (--mqtt-url)`);
        links.set(d.id, await mqttLink(o.mqttUrl, d.id, secret));
      } else links.set(d.id, httpLink(o.api, secret));
    }
    const tickMs = o.tickMs ?? 250;
    for (;;) {
      const tickStart = now();
      const simNow = simulatedNow(o.plan, tickStart);
      const finished = !o.plan.follow && simNow >= o.plan.windowEndMs;
      // The last tick also flushes what is still queued (late duplicates) up to the window end.
      await Promise.all(
        devices.map((d) =>
          (links.get(d.id) as DeviceLink).send(d.advance(finished ? simNow + 1 : simNow), stats),
        ),
      );
      o.onProgress?.({ plan: o.plan, simNowMs: simNow, stats, done: finished });
      if (finished || o.signal?.aborted) break;
      const wait = tickMs - (now() - tickStart);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await Promise.all([...links.values()].map((l) => l.close().catch(() => {})));
  }
  return stats;
}

export { planTime };
