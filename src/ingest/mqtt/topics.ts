/**
 * Device topics. A device publishes only under its own prefix:
 *   devices/{deviceId}/readings              native JSON readings
 *   devices/{deviceId}/gatt/{characteristic} raw Bluetooth GATT characteristic value (hub/phone forward)
 *   devices/{deviceId}/mdc                   IEEE 11073 MDC-coded JSON from a gateway
 *   devices/{deviceId}/waveforms             MDC-coded waveform strips (ECG, pleth) with sample arrays
 *   devices/{deviceId}/vendor/{template}     a vendor's own JSON, mapped by a stored template
 */
export interface DeviceTopic {
  deviceId: string;
  /** Normalizer format: 'json', 'gatt:<characteristic>', 'mdc', 'template:<name>'. */
  format: string;
}

export function parseDeviceTopic(topic: string): DeviceTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'devices' || !parts[1]) return undefined;
  const deviceId = parts[1];
  if (parts.length === 3 && parts[2] === 'readings') return { deviceId, format: 'json' };
  if (parts.length === 3 && parts[2] === 'mdc') return { deviceId, format: 'mdc' };
  if (parts.length === 3 && parts[2] === 'waveforms') return { deviceId, format: 'waveform-json' };
  if (
    parts.length === 4 &&
    parts[2] === 'gatt' &&
    parts[3] &&
    /^(0x)?[0-9A-Fa-f]{4}$|^[0-9A-Fa-f-]{36}$/.test(parts[3])
  ) {
    return { deviceId, format: `gatt:${parts[3]}` };
  }
  if (parts.length === 4 && parts[2] === 'vendor' && parts[3] && /^[a-z0-9][a-z0-9-]{0,63}$/.test(parts[3])) {
    return { deviceId, format: `template:${parts[3]}` };
  }
  return undefined;
}

export const deviceSubscriptions = [
  'devices/+/readings',
  'devices/+/gatt/+',
  'devices/+/mdc',
  'devices/+/waveforms',
  'devices/+/vendor/+',
];
