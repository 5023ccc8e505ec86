import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out } from '../output.ts';

const usage = `vigil monitoring <action> [PATIENT] [options]   (--url, --token, --json)
  enrol PATIENT --program NAME[,NAME…] [--spo2-scale 1|2] [--oxygen] [--reason TEXT]
                                 enrol a patient (a new version of their monitoring configuration)
  show PATIENT                   the configuration in force
  history PATIENT                every version with who and when
  end PATIENT [--reason TEXT]    stop evaluating the patient's readings
  programs                       the programs a patient can be enrolled in`;

interface MonitoringView {
  patientId: string;
  version: number;
  enrolled: boolean;
  monitoring: { programs: string[]; spo2Scale?: number; onOxygen?: boolean } | null;
  changedBy?: string;
  changedAt?: string;
}

const describe = (v: MonitoringView) =>
  v.version === 0
    ? `patient ${v.patientId}: not enrolled`
    : `patient ${v.patientId}: version ${v.version}, ${
        v.monitoring
          ? `programs ${v.monitoring.programs.join(', ')}${v.monitoring.spo2Scale ? `, SpO2 scale ${v.monitoring.spo2Scale}` : ''}${v.monitoring.onOxygen ? ', on oxygen' : ''}`
          : 'monitoring ended'
      } (${v.changedBy} at ${v.changedAt})`;

/** Enrolment in monitoring programs (also reachable as `vigil patient enrol …`). */
export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, client, json, id } = serverArgs(
    rest,
    {
      program: { type: 'string' },
      'spo2-scale': { type: 'string' },
      oxygen: { type: 'boolean' },
      reason: { type: 'string' },
    },
    usage,
  );
  if (action === 'programs') {
    const r = await client.request<{ programs: Array<{ name: string; title: string; builtIn: boolean }> }>(
      'GET',
      '/api/v1/programs',
    );
    out(json, r, () =>
      r.programs.map((p) => `${p.name.padEnd(22)} ${p.title}${p.builtIn ? '' : ' (custom)'}`).join('\n'),
    );
    return 0;
  }
  if (!id || !['enrol', 'enroll', 'show', 'history', 'end'].includes(action ?? '')) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const path = `/api/v1/patients/${encodeURIComponent(id)}/monitoring`;
  switch (action) {
    case 'enrol':
    case 'enroll': {
      if (!values.program) {
        process.stderr.write('--program NAME is required (see `vigil monitoring programs`)\n');
        return 2;
      }
      const scale = values['spo2-scale'];
      if (scale !== undefined && scale !== '1' && scale !== '2') {
        process.stderr.write('--spo2-scale must be 1 or 2\n');
        return 2;
      }
      const monitoring = {
        programs: values.program
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        ...(scale ? { spo2Scale: Number(scale) } : {}),
        ...(values.oxygen ? { onOxygen: true } : {}),
      };
      const r = await client.request<MonitoringView>('PUT', path, {
        monitoring,
        ...(values.reason ? { reason: values.reason } : {}),
      });
      out(json, r, () => describe(r));
      return 0;
    }
    case 'end': {
      const r = await client.request<MonitoringView>('PUT', path, {
        monitoring: null,
        ...(values.reason ? { reason: values.reason } : {}),
      });
      out(json, r, () => describe(r));
      return 0;
    }
    case 'show': {
      const r = await client.request<MonitoringView>('GET', path);
      out(json, r, () => describe(r));
      return 0;
    }
    default: {
      const r = await client.request<{ versions: MonitoringView[] }>('GET', `${path}/history`);
      out(json, r, () => r.versions.map(describe).join('\n') || `patient ${id}: no configuration`);
      return 0;
    }
  }
}

export const command: Command = {
  name: 'monitoring',
  summary: 'enrol patients in monitoring programs; show and history',
  usage,
  run,
};
