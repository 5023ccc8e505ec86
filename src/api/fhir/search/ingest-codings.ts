import { CODES, getCode, MDC, MDC_TO_LOINC } from '../../../normalize/codes.ts';
import { VIGIL_IDEMPOTENCY } from '../../../normalize/fhir-observation.ts';
import type { CodingTerminology } from '../../../store/fhir-observation-repository.ts';

/**
 * Which ingest rows can carry a coding, from normalize's code tables. An ingest row (resource null)
 * has its primary code in the `code` column and at most a few extra codings in `data.codings`; those
 * extras come from exactly two places in normalize:
 * - the code table's `extraCodings` of the primary code (2708-6 always carries 59408-5 and MDC 150456);
 * - an MDC coding the device sent (`mdcCoding`), whose primary code is MDC_TO_LOINC's LOINC code (for
 *   glucose: either concentration code, the unit chooses).
 * So a search for an extra coding needs no coding index on ingest rows: it scans the (patient, code,
 * time) index for the candidate primary codes and keeps the rows whose `data.codings` contain the
 * coding. That recheck matters because the MDC → LOINC map is many-to-one (MDC 149530 pulse-oximeter
 * rate, 147842 ECG heart rate and 149546 cuff pulse are all 8867-4). If normalize ever attaches
 * other codings to readings, they must be added here (ingest-codings.test.ts checks both tables).
 */
export const ingestTerminology: CodingTerminology = {
  idempotencySystem: VIGIL_IDEMPOTENCY,
  panelCodes: [...CODES.values()].filter((d) => d.kind === 'panel').map((d) => d.code),
  codesWithText(text) {
    const t = text.toLowerCase();
    if (!t) return [];
    return [...CODES.values()]
      .filter((d) => {
        const display = d.display.toLowerCase();
        return display.startsWith(t) || display.includes(` ${t}`);
      })
      .map((d) => d.code);
  },
  systemOf(code) {
    return getCode(code)?.system;
  },
  carriersOf(system, code) {
    const out = new Set<string>();
    for (const def of CODES.values()) {
      if (def.extraCodings?.some((c) => c.code === code && (system === undefined || c.system === system)))
        out.add(def.code);
    }
    if (system === undefined || system === MDC) {
      const m = MDC_TO_LOINC.get(code);
      if (m) {
        out.add(m.loinc);
        const g = getCode(m.loinc)?.glucose;
        if (g) {
          out.add(g.mass);
          out.add(g.molar);
        }
      }
    }
    out.delete(code);
    return [...out].sort();
  },
  primariesOf(system) {
    return [...CODES.values()].filter((d) => d.system === system).map((d) => d.code);
  },
  carriersOfSystem(system) {
    const out = new Set<string>();
    for (const def of CODES.values()) {
      if (def.extraCodings?.some((c) => c.system === system)) out.add(def.code);
    }
    if (system === MDC) for (const m of MDC_TO_LOINC.values()) out.add(m.loinc);
    for (const c of [...out]) {
      const g = getCode(c)?.glucose;
      if (g && system === MDC) {
        out.add(g.mass);
        out.add(g.molar);
      }
    }
    return [...out].sort();
  },
};
