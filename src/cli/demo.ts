/**
 * `vigil start --demo` / `npm run demo`: on the running embedded Vigil, creates a clinician and a
 * nurse (Practitioner + user account, random passwords printed once), 50 virtual patients in five
 * programs with their devices and care teams, and plays them: three simulated days replayed in
 * ~40 seconds (deteriorating patients reach their critical point about 30 s in), then live.
 *
 * In-process (it uses the server's user repository and token service for the accounts), so it sits
 * in cli/ rather than sim/ (sim/ talks to Vigil only over the wire); everything patient- and
 * device-side goes through the public API like the standalone `vigil simulate`.
 */

import { hashPassword, randomPassword } from '../auth/passwords.ts';
import { VigilFhir } from '../core/fhir-namespace.ts';
import { newId } from '../core/ids.ts';
import type { Vigil } from '../server.ts';
import { DEFAULT_BEHAVIOUR } from '../sim/devices/device.ts';
import { SimApiClient } from '../sim/online/api-client.ts';
import { planTime, provision, runOnline } from '../sim/online/run-online.ts';
import { buildPopulation } from '../sim/population.ts';
import { progressReporter } from '../sim/progress.ts';

/** Stable and deteriorating patients across the programs; 10 of every 10 → 5 deteriorating. */
const DEMO_MIX = [
  'stable-hypertension',
  'hypertensive-crisis',
  'stable-heart-failure',
  'heart-failure-decompensation',
  'stable-diabetes',
  'nocturnal-hypoglycaemia',
  'copd-exacerbation',
  'post-operative-recovery',
  'sepsis',
  'stable-hypertension',
].join(',');

const DEMO_PATIENTS = 50;
const WINDOW_S = 3 * 86_400;
const CATCH_UP_S = 40;
const PRACTITIONER_SYSTEM = VigilFhir.demoPractitioner;

export interface DemoOptions {
  patients?: number;
  /** Output for the once-only lines (accounts, passwords); default stdout. */
  print?: (line: string) => void;
  progress?: { isTTY?: boolean; write(s: string): unknown };
  seed?: string;
}

export async function startDemo(vigil: Vigil, opts: DemoOptions = {}): Promise<{ stop(): Promise<void> }> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const { ctx } = vigil;
  const admin = await ctx.users.byUsername('admin');
  if (!admin) throw new Error('demo: no admin account to act as');
  const token = await adminToken(vigil, admin);
  const api = new SimApiClient({ baseUrl: vigil.httpUrl, token });

  const accounts: { username: string; password: string; role: string }[] = [];
  const practitionerIds: string[] = [];
  for (const [username, role, given, family] of [
    ['demo-clinician', 'clinician', 'Alex', 'Morgan'],
    ['demo-nurse', 'nurse', 'Sam', 'Rivera'],
  ] as const) {
    const found = await api.search(
      'Practitioner',
      `identifier=${encodeURIComponent(`${PRACTITIONER_SYSTEM}|${username}`)}`,
    );
    const practitionerId =
      found[0]?.id ??
      (await api.create({
        resourceType: 'Practitioner',
        identifier: [{ system: PRACTITIONER_SYSTEM, value: username }],
        active: true,
        name: [{ family, given: [given] }],
      }));
    practitionerIds.push(practitionerId);
    const password = randomPassword();
    const passwordHash = await hashPassword(password);
    const existing = await ctx.users.byUsername(username);
    if (existing) await ctx.users.setPassword(existing.id, passwordHash);
    else {
      await ctx.users.insert({
        id: newId(),
        username,
        passwordHash,
        roles: [role],
        displayName: `${given} ${family} (demo ${role})`,
        practitionerId,
        patientId: null,
      });
    }
    accounts.push({ username, password, role });
  }

  const plan = planTime(Date.now(), WINDOW_S, WINDOW_S / CATCH_UP_S, true);
  const patients = buildPopulation({
    seed: opts.seed ?? 'vigil-demo',
    patients: opts.patients ?? DEMO_PATIENTS,
    scenario: DEMO_MIX,
    windowStartMs: plan.windowStartMs,
    durationS: WINDOW_S,
    align: 'critical',
    // Bedside monitors report every 2 minutes here (real ones every second) to keep a laptop cool.
    behaviour: { ...DEFAULT_BEHAVIOUR, minPeriodS: 120 },
  });
  const progress = progressReporter(opts.progress ?? process.stderr);
  const { secrets } = await provision(api, patients, {
    assignFromMs: plan.windowStartMs - 2 * 3_600_000,
    practitionerIds,
    onPatient: (done, total) =>
      progress.update(`demo: provisioning ${done}/${total} patients and their devices`, done === total),
  });
  progress.done(
    `demo: ${patients.length} patients, ${patients.reduce((n, p) => n + p.devices.length, 0)} devices ready`,
  );

  print('');
  print('  Demo accounts (passwords shown only once; a restart with --demo sets new ones):');
  for (const a of accounts) print(`    ${a.role.padEnd(10)} ${a.username.padEnd(16)} ${a.password}`);
  print(`  Dashboard: ${vigil.httpUrl}/`);
  print(
    `  Replaying 3 simulated days in ~${CATCH_UP_S} s, then live; deteriorating patients: ${patients.filter((p) => p.scenario.deteriorating).length}`,
  );
  print('');

  const abort = new AbortController();
  const mqttUrl = vigil.mqttPort === undefined ? undefined : `mqtt://127.0.0.1:${vigil.mqttPort}`;
  const running = runOnline({
    api,
    ...(mqttUrl ? { mqttUrl } : {}),
    patients,
    secrets,
    plan,
    signal: abort.signal,
    onProgress: (p) => {
      const live = p.simNowMs >= plan.windowEndMs;
      progress.update(
        `demo: ${live ? 'live' : `replaying ${Math.round(((p.simNowMs - plan.windowStartMs) / (plan.windowEndMs - plan.windowStartMs)) * 100)}%`}  ${p.stats.readings} readings sent`,
      );
    },
  }).catch((err) => {
    vigil.log.error({ err }, 'demo simulator stopped');
  });
  const stop = async () => {
    abort.abort();
    await running;
  };
  const vigilStop = vigil.stop.bind(vigil);
  vigil.stop = async () => {
    await stop();
    await vigilStop();
  };
  return { stop };
}

/**
 * An access token for the admin, in-process. With the security module's sessions present, a real
 * session (tokens are checked against it); otherwise a plain token from the token service.
 */
async function adminToken(vigil: Vigil, admin: { id: string; username: string }): Promise<string> {
  const sessions = (
    vigil.ctx as unknown as {
      security?: { sessions?: { start(userId: string): Promise<{ access_token: string }> } };
    }
  ).security?.sessions;
  if (sessions) return (await sessions.start(admin.id)).access_token;
  const { token } = await vigil.ctx.tokens.issue(
    {
      kind: 'user',
      id: admin.id,
      username: admin.username,
      roles: ['admin'],
      scopes: [],
      patientId: null,
      practitionerId: null,
    },
    3600,
  );
  return token;
}
