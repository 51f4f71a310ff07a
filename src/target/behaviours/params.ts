import type { BehaviourParams } from './types.js';

/** Parameter helpers for behaviour factories: unknown keys and bad numbers are RangeErrors naming the behaviour. */
export function checkKeys(behaviour: string, params: BehaviourParams, allowed: readonly string[]): void {
  const extra = Object.keys(params).filter((k) => !allowed.includes(k));
  if (extra.length) throw new RangeError(`behaviour "${behaviour}": unknown parameter(s) ${extra.join(', ')} (known: ${allowed.join(', ')})`);
}

export function numParam(behaviour: string, params: BehaviourParams, key: string, def: number, min = -Infinity, max = Infinity): number {
  const raw = params[key];
  if (raw === undefined) return def;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new RangeError(`behaviour "${behaviour}": ${key} must be a number${Number.isFinite(min) ? ` ≥ ${min}` : ''}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}, got "${raw}"`);
  return v;
}

export function boolParam(behaviour: string, params: BehaviourParams, key: string, def: boolean): boolean {
  const raw = params[key];
  if (raw === undefined) return def;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new RangeError(`behaviour "${behaviour}": ${key} must be true or false, got "${raw}"`);
}

/** Standard normal draw from two uniforms (Box–Muller). */
export function normalFrom(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(Math.max(u1, 1e-12))) * Math.cos(2 * Math.PI * u2);
}

/** Index into a list from a uniform draw. */
export const pick = <T>(list: readonly T[], u: number): T => list[Math.min(list.length - 1, Math.floor(u * list.length))]!;
