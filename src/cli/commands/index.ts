import type { Command } from '../command.ts';

/** Every `vigil` subcommand, loaded lazily so `vigil --help` stays fast. */
export const commands: Record<string, () => Promise<{ command: Command }>> = {
  start: () => import('./start.ts'),
  edge: () => import('./edge.ts'),
  migrate: () => import('./migrate.ts'),
  backup: () => import('./backup.ts'),
  restore: () => import('./restore.ts'),
  login: () => import('./login.ts'),
  device: () => import('./device.ts'),
  'device-model': () => import('./device-model.ts'),
  equipment: () => import('./equipment.ts'),
  'dead-letters': () => import('./dead-letters.ts'),
  replay: () => import('./replay.ts'),
  alerts: () => import('./alerts.ts'),
  simulate: () => import('./simulate.ts'),
  audit: () => import('./audit.ts'),
  purge: () => import('./purge.ts'),
  patient: () => import('./patient.ts'),
  user: () => import('./user.ts'),
  integration: () => import('./integration.ts'),
  'smart-client': () => import('./smart-client.ts'),
  monitoring: () => import('./monitoring.ts'),
  program: () => import('./program.ts'),
  cohort: () => import('./cohort.ts'),
  'alarm-settings': () => import('./alarm-settings.ts'),
  'care-time': () => import('./care-time.ts'),
};
