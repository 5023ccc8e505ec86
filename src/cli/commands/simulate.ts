import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { errorMessage } from '../../core/errors.ts';
import { DEFAULT_BEHAVIOUR, type DeviceBehaviour } from '../../sim/devices/device.ts';
import { writeOffline } from '../../sim/offline.ts';
import { SimApiClient } from '../../sim/online/api-client.ts';
import { planTime, provision, runOnline } from '../../sim/online/run-online.ts';
import { buildPopulation, scenarioList } from '../../sim/population.ts';
import { formatDuration, parseDuration, progressReporter } from '../../sim/progress.ts';
import { SCENARIOS } from '../../sim/scenarios/index.ts';
import { truthFile } from '../../sim/truth-file.ts';
import { parse } from '../args.ts';
import { ApiClient } from '../client.ts';
import type { Command } from '../command.ts';

const usage = `vigil simulate [--patients N] [--scenario NAME[,NAME…]|mix] [--duration 6h] [--rate R] [--seed S]
                [--out FILE.ndjson [--start ISO]]   offline: write readings + FILE.truth.json, no server
                [--url URL] [--token T | --username U --password-stdin] [--mqtt-url mqtt://host:port]
                [--follow] [--truth FILE] [--practitioner ID,…] [--align critical|start]
                [--min-period S] [--malformed-rate P] [--duplicate-rate P] [--no-faults] [--transport auto|http]
  scenarios: ${Object.keys(SCENARIOS).join(', ')}, mix
  --rate      simulated seconds per wall second (online; default 60). Above 1 the window is the PAST
              [now − duration, now], replayed fast; with --follow the devices then continue live.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export const command: Command = {
  name: 'simulate',
  summary:
    'virtual patients and devices: drive a running Vigil over MQTT/HTTP, or write NDJSON + ground truth (--out)',
  usage,
  async run(args) {
    const { values } = parse(
      args,
      {
        patients: { type: 'string' },
        scenario: { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        start: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        username: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'mqtt-url': { type: 'string' },
        follow: { type: 'boolean' },
        truth: { type: 'string' },
        practitioner: { type: 'string' },
        align: { type: 'string' },
        'min-period': { type: 'string' },
        'malformed-rate': { type: 'string' },
        'duplicate-rate': { type: 'string' },
        'no-faults': { type: 'boolean' },
        transport: { type: 'string' },
      },
      usage,
    );
    const err = (m: string) => {
      process.stderr.write(`vigil simulate: ${m}\n`);
      return 2;
    };
    try {
      const scenario = values.scenario ?? 'mix';
      const scenarios = scenarioList(scenario);
      const patients = Number(values.patients ?? 10);
      if (!Number.isInteger(patients) || patients < 1 || patients > 100_000)
        return err('--patients must be an integer ≥ 1');
      const durationS = values.duration
        ? parseDuration(values.duration)
        : scenarios.length === 1
          ? (scenarios[0]?.durationS ?? 86_400)
          : 86_400;
      const seed = values.seed ?? randomBytes(4).toString('hex');
      const align = values.align ?? 'critical';
      if (align !== 'critical' && align !== 'start') return err('--align is critical or start');
      const rate = Number(values.rate ?? 60);
      if (!(rate >= 1)) return err('--rate must be ≥ 1');
      const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
      const faults = !values['no-faults'];
      const transport = values.transport ?? 'auto';
      if (transport !== 'auto' && transport !== 'http') return err('--transport is auto or http');
      const behaviour: DeviceBehaviour = {
        ...DEFAULT_BEHAVIOUR,
        duplicateRate: faults ? num(values['duplicate-rate'], DEFAULT_BEHAVIOUR.duplicateRate) : 0,
        malformedRate: faults ? num(values['malformed-rate'], DEFAULT_BEHAVIOUR.malformedRate) : 0,
        dropouts: faults,
        clockSkew: faults,
        battery: faults,
        artefacts: faults,
        minPeriodS: num(values['min-period'], 1),
        wire: values.out || transport === 'http' ? 'json' : 'auto',
        ...(transport === 'http' ? { transport: 'http' as const } : {}),
      };
      const progress = progressReporter(process.stderr);
      process.stderr.write(
        `vigil simulate: seed ${seed}, ${patients} patient(s), scenario ${scenario}, ${formatDuration(durationS)}\n`,
      );

      if (values.out) {
        const startMs = values.start
          ? Date.parse(values.start)
          : Math.floor((Date.now() - durationS * 1000) / 60_000) * 60_000;
        if (Number.isNaN(startMs)) return err('--start must be an ISO 8601 time');
        const endMs = startMs + durationS * 1000;
        const pop = buildPopulation({
          seed,
          patients,
          scenario,
          windowStartMs: startMs,
          durationS,
          align,
          behaviour,
        });
        const r = await writeOffline(values.out, seed, pop, startMs, endMs, (simMs, lines) =>
          progress.update(
            `  ${Math.round(((simMs - startMs) / (endMs - startMs)) * 100)}%  ${lines} readings`,
          ),
        );
        progress.done(`wrote ${r.lines} readings to ${values.out} and ground truth to ${r.truthPath}`);
        return 0;
      }

      const cli = new ApiClient({ url: values.url });
      const api = new SimApiClient({ baseUrl: cli.url, token: values.token ?? process.env['VIGIL_TOKEN'] });
      if (values.username) {
        if (!values['password-stdin'])
          return err('--username needs --password-stdin (the password is never a flag)');
        await api.signIn(values.username, await readStdin());
      }
      if (!api.token)
        return err('not signed in: give --token, VIGIL_TOKEN, or --username with --password-stdin');
      const mqttUrl =
        values['mqtt-url'] ??
        `mqtt://${new URL(cli.url).hostname}:${process.env['VIGIL_MQTT_PORT'] ?? '1883'}`;
      const plan = planTime(Date.now(), durationS, rate, values.follow ?? false);
      const pop = buildPopulation({
        seed,
        patients,
        scenario,
        windowStartMs: plan.windowStartMs,
        durationS,
        align,
        behaviour,
      });
      const { secrets } = await provision(api, pop, {
        assignFromMs: plan.windowStartMs - 2 * 3_600_000,
        practitionerIds: values.practitioner?.split(',').filter(Boolean) ?? [],
        onPatient: (done, total) =>
          progress.update(`  provisioning ${done}/${total} patients`, done === total),
      });
      if (values.truth) {
        await writeFile(
          values.truth,
          `${JSON.stringify(truthFile(seed, plan.windowStartMs, plan.windowEndMs, pop), null, 2)}\n`,
        );
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const stats = await runOnline({
          api,
          mqttUrl,
          patients: pop,
          secrets,
          plan,
          signal: abort.signal,
          onProgress: (p) => {
            const pct = Math.min(
              100,
              Math.round(((p.simNowMs - plan.windowStartMs) / (plan.windowEndMs - plan.windowStartMs)) * 100),
            );
            const where = p.simNowMs > plan.windowEndMs ? 'live' : `${pct}%`;
            progress.update(
              `  ${where}  sim ${new Date(p.simNowMs).toISOString().slice(0, 19)}Z  ${p.stats.messages} messages  ${p.stats.readings} readings  ${p.stats.malformed} malformed  ${p.stats.duplicates} duplicates  ${p.stats.errors} errors`,
            );
          },
        });
        progress.done(
          `done: ${stats.messages} messages (${stats.readings} readings, ${stats.malformed} malformed, ${stats.duplicates} duplicates, ${stats.errors} send errors)`,
        );
        return stats.errors > 0 ? 1 : 0;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    } catch (e) {
      process.stderr.write(`vigil simulate: ${errorMessage(e)}\n`);
      return 1;
    }
  },
};
