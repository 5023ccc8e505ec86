import { convert, UNITS } from '../../../normalize/units.ts';

/**
 * A quantity search value in the other UCUM units of its dimension (normalize's unit table: exact
 * conversions only), so `value-quantity=98.6|http://unitsofmeasure.org|[degF]` also finds 37 Cel.
 * An unknown unit has no equivalents (it matches itself only).
 */
export function unitEquivalents(
  code: string,
  v: { value: number; low: number; high: number },
): Array<{ code: string; value: number; low: number; high: number }> {
  const def = UNITS.get(code);
  if (!def) return [];
  const out: Array<{ code: string; value: number; low: number; high: number }> = [];
  for (const other of UNITS.values()) {
    if (other.ucum === code || other.dimension !== def.dimension) continue;
    out.push({
      code: other.ucum,
      value: convert(v.value, code, other.ucum),
      low: convert(v.low, code, other.ucum),
      high: convert(v.high, code, other.ucum),
    });
  }
  return out;
}
