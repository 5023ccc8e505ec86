/**
 * Bedside devices' own alarms (IHE PCD-04, `ORU^R40`) → Vigil alerts of source "device alarm"
 * (rule `device-alarm`), routed by the same escalation policies as every alert (they are chosen by
 * severity).
 *
 * - Priority → severity: PH → high, PM → medium, PL → low, PN → info. IEC 60601-1-8's high priority
 *   asks for an immediate response, which is what Vigil's `high` pages for; `critical` is kept for
 *   Vigil's own emergency rules (NEWS2 ≥ 7). A mapping chosen here, not a clinical fact.
 * - Phase: `start` (and `update`, `escalate`, `de-escalate`, `reminder`, `tpoint`, `present`) raise
 *   or update the alert; `continue` updates it without paging again; `end` — or an alarm state
 *   `inactive` / `off` — clears the device's part (alert-sources.ts: the alert resolves when no
 *   source holds it any more).
 * - De-duplication: an alarm on a metric Vigil also watches gets the condition key Vigil's own rule
 *   uses for the same condition — SpO2 low `hypoxaemia`, any other metric low/high
 *   `threshold:<LOINC>:low|high` — so the device's alarm and Vigil's detection are one alert with
 *   both sources in `data.sources` and both readings in its evidence. Other alarms (technical:
 *   lead off; events without a direction) are keyed per device and event.
 * - Evidence: the reading of the value that triggered the alarm (stored by ingest just before).
 */
import { DEVICE_ALARM_RULE } from '../alerts/alert-sources.ts';
import type { Detection } from '../core/detection.ts';
import { VigilError } from '../core/errors.ts';
import type { Severity } from '../core/severity.ts';
import { thresholdKey } from '../detect/threshold.ts';
import type { Attribution } from '../ingest/ingest-service.ts';
import {
  type AlarmPriority,
  analyzePcd04,
  type DeviceAlarmReport,
} from '../normalize/profiles/hl7v2-pcd04.ts';

export const PRIORITY_SEVERITY: Record<AlarmPriority, Severity> = {
  PH: 'high',
  PM: 'medium',
  PL: 'low',
  PN: 'info',
};

const PRIORITY_TEXT: Record<AlarmPriority, string> = {
  PH: 'high priority',
  PM: 'medium priority',
  PL: 'low priority',
  PN: 'no priority',
};
const KIND_TEXT = { SP: 'physiological', ST: 'technical', SA: 'advisory' } as const;

/** What the alert manager offers this stage. */
export interface DeviceAlarmAlerts {
  applyOrThrow(detections: readonly Detection[]): Promise<unknown>;
}

export interface PreparedAlarms {
  deviceId: string;
  alarms: Array<DeviceAlarmReport & { patientId: string }>;
}

/** The condition key an alarm shares with Vigil's own rule for the same condition (see above). */
export function alarmConditionKey(a: DeviceAlarmReport, deviceId: string): string {
  const loinc = a.source?.loinc;
  if (loinc && a.direction && a.kind !== 'ST') {
    if (loinc === '2708-6' && a.direction === 'low') return 'hypoxaemia';
    return thresholdKey({ code: loinc, direction: a.direction === 'low' ? 'below' : 'above' });
  }
  return `device-alarm:${deviceId}:${a.eventCode}:${a.source?.mdc ?? '-'}`;
}

/** A clinician's one-line text, true of what the device said (its own words, then its figures). */
export function alarmSummary(a: DeviceAlarmReport): string {
  const what = a.text.trim() || a.eventRefId;
  const kind = a.kind ? `${KIND_TEXT[a.kind]}, ` : '';
  const value =
    a.source?.value !== undefined
      ? `: ${a.source.refId || a.source.mdc} ${a.source.value}${a.source.unit ? ` ${a.source.unit}` : ''}`
      : '';
  const limits = a.source?.limits ? ` (device limits ${a.source.limits})` : '';
  const head = a.ended ? 'Device alarm ended' : 'Device alarm';
  return `${head} (${kind}${PRIORITY_TEXT[a.priority]}): ${what}${value}${limits}`;
}

export function alarmDetection(
  a: DeviceAlarmReport & { patientId: string },
  deviceId: string,
  evidence: string[],
): Detection {
  return {
    patientId: a.patientId,
    conditionKey: alarmConditionKey(a, deviceId),
    rule: DEVICE_ALARM_RULE,
    state: a.ended ? 'cleared' : 'firing',
    severity: PRIORITY_SEVERITY[a.priority],
    at: a.at,
    summary: alarmSummary(a),
    evidence,
    deviceId,
    data: {
      deviceAlarm: {
        deviceId,
        alarmId: a.alarmId,
        controlId: a.controlId,
        eventCode: a.eventCode,
        eventRefId: a.eventRefId,
        priority: a.priority,
        kind: a.kind ?? null,
        phase: a.phase,
        state: a.state,
        inactivationState: a.inactivationState,
        direction: a.direction ?? null,
        source: a.source ?? null,
        at: a.at,
        text: a.text,
      },
    },
  };
}

export class DeviceAlarmStage {
  readonly #alerts: DeviceAlarmAlerts;
  readonly #attribution: Attribution;

  constructor(opts: { alerts: DeviceAlarmAlerts; attribution: Attribution }) {
    this.#alerts = opts.alerts;
    this.#attribution = opts.attribution;
  }

  /**
   * Reads the alarms and finds their patient (the device's assignment at the alarm's time). Throws a
   * coded VigilError when the message cannot become an alert: the listener answers AE and keeps it.
   */
  async prepare(deviceId: string, bytes: Buffer, receivedAt: number): Promise<PreparedAlarms> {
    const { alarms } = analyzePcd04(bytes, { deviceId, receivedAt });
    const out: PreparedAlarms['alarms'] = [];
    for (const a of alarms) {
      const patientId = await this.#attribution.patientAt(deviceId, a.at);
      if (!patientId) {
        throw new VigilError(
          'VIGIL_ERR_HL7V2_ALARM_NO_PATIENT',
          `OBR[${a.obr}]: the device is assigned to no patient at the alarm's time; the alarm cannot be routed`,
          422,
          { field: `OBR[${a.obr}]-7` },
        );
      }
      out.push({ ...a, patientId });
    }
    return { deviceId, alarms: out };
  }

  /** Raises, updates or clears the alerts; resolves once they are stored (throws otherwise). */
  async apply(p: PreparedAlarms, readingIds: readonly string[]): Promise<void> {
    const detections = p.alarms.map((a) =>
      alarmDetection(
        a,
        p.deviceId,
        a.readingIndex !== undefined && readingIds[a.readingIndex]
          ? [readingIds[a.readingIndex] as string]
          : [],
      ),
    );
    await this.#alerts.applyOrThrow(detections);
  }
}
