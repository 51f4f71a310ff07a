/**
 * Accreditation lifecycle (pure), after ISO/IEC 17011: an accreditor grants a tester a scope
 * with a reassessment date; it may suspend (a temporary restriction), reinstate, or withdraw
 * (final). Withdrawn and expired accreditations stay visible in the history. Only the accreditor
 * that granted it changes its state, and every change is a statement signed by that accreditor.
 */
export const ACCREDITATION_STATES = ['granted', 'suspended', 'withdrawn'] as const;
export type AccreditationState = (typeof ACCREDITATION_STATES)[number];
export const ACCREDITATION_ACTIONS = ['suspend', 'reinstate', 'withdraw'] as const;
export type AccreditationAction = (typeof ACCREDITATION_ACTIONS)[number];

export function accreditationTransition(state: AccreditationState, action: AccreditationAction): { ok: true; next: AccreditationState } | { ok: false; reason: string } {
  const table: Record<AccreditationAction, [AccreditationState[], AccreditationState]> = {
    suspend: [['granted'], 'suspended'],
    reinstate: [['suspended'], 'granted'],
    withdraw: [['granted', 'suspended'], 'withdrawn'],
  };
  const [from, to] = table[action];
  return from.includes(state) ? { ok: true, next: to } : { ok: false, reason: `cannot ${action} an accreditation that is ${state}` };
}

/** In force at `now`: granted and not past its reassessment date. */
export const accreditationInForce = (a: { state: AccreditationState; reassessBy: string }, now: Date): boolean =>
  a.state === 'granted' && now.getTime() <= Date.parse(a.reassessBy);
