/**
 * Pulse oximeter status fields shared by 0x2A5E and 0x2A5F (clinical-reference §5.2): the 16-bit
 * measurement status and the 24-bit device & sensor status, as quality flags.
 */
import type { QualityFlag } from '../../../core/reading.ts';
import { bitFlags } from './ble-common.ts';

const MEASUREMENT_STATUS: Record<number, QualityFlag> = {
  5: 'measurement-ongoing',
  6: 'early-estimate',
  7: 'validated',
  8: 'fully-qualified',
  9: 'from-storage',
  10: 'demo',
  11: 'testing',
  12: 'calibrating',
  13: 'measurement-unavailable',
  14: 'questionable',
  15: 'invalid',
};

const DEVICE_SENSOR_STATUS: Record<number, QualityFlag> = {
  0: 'extended-display-update',
  1: 'device-malfunction',
  2: 'signal-processing-irregularity',
  3: 'inadequate-signal',
  4: 'poor-signal',
  5: 'low-perfusion',
  6: 'erratic-signal',
  7: 'non-pulsatile-signal',
  8: 'questionable-pulse',
  9: 'analysis-ongoing',
  10: 'sensor-interference',
  11: 'sensor-unconnected',
  12: 'unknown-sensor',
  13: 'sensor-displaced',
  14: 'sensor-malfunction',
  15: 'sensor-disconnected',
};

export function plxFlags(
  measurementStatus: number | null,
  deviceAndSensorStatus: number | null,
): QualityFlag[] {
  return [
    ...(measurementStatus === null ? [] : bitFlags(measurementStatus, MEASUREMENT_STATUS)),
    ...(deviceAndSensorStatus === null ? [] : bitFlags(deviceAndSensorStatus, DEVICE_SENSOR_STATUS)),
  ];
}

/** Device faults worth a device-health status report (not mere signal quality). */
export const PLX_DEVICE_ERRORS: ReadonlySet<QualityFlag> = new Set([
  'device-malfunction',
  'sensor-malfunction',
  'sensor-disconnected',
  'sensor-unconnected',
  'unknown-sensor',
]);
