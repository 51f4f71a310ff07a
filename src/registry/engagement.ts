/**
 * The engagement state machine (pure). A developer and a tester agree to test one model release:
 *
 *   proposed ──accept──► accepted ──grant──► active ──report──► reporting ──close──► closed
 *      │ decline            │ cancel           │ cancel            │ cancel
 *      ▼                    ▼                  ▼                   ▼
 *   declined             cancelled          cancelled           cancelled
 *
 * Either party may propose; only the other party accepts or declines. Only the developer records
 * the grant its own gateway issued (the registry never holds the gateway key). A report upload by
 * the tester moves `active` to `reporting`; either party closes.
 */
export const ENGAGEMENT_STATES = ['proposed', 'accepted', 'active', 'reporting', 'closed', 'declined', 'cancelled'] as const;
export type EngagementState = (typeof ENGAGEMENT_STATES)[number];
export const ENGAGEMENT_ACTIONS = ['accept', 'decline', 'grant', 'report', 'close', 'cancel'] as const;
export type EngagementAction = (typeof ENGAGEMENT_ACTIONS)[number];
export type Party = 'developer' | 'tester';

export interface EngagementFacts {
  state: EngagementState;
  /** Who proposed (the creator's side). */
  proposedBy: Party;
  /** The tester declared a conflict of interest with this developer (FedRAMP-style independence). */
  conflict: boolean;
}

export type Transition = { ok: true; next: EngagementState } | { ok: false; reason: string };

const FROM: Record<EngagementAction, readonly EngagementState[]> = {
  accept: ['proposed'],
  decline: ['proposed'],
  grant: ['accepted'],
  report: ['active', 'reporting'],
  close: ['reporting'],
  cancel: ['proposed', 'accepted', 'active', 'reporting'],
};
const TO: Record<EngagementAction, EngagementState | null> = {
  accept: 'accepted',
  decline: 'declined',
  grant: 'active',
  report: 'reporting',
  close: 'closed',
  cancel: 'cancelled',
};

export function engagementTransition(e: EngagementFacts, action: EngagementAction, by: Party): Transition {
  if (!FROM[action].includes(e.state)) return { ok: false, reason: `cannot ${action} an engagement that is ${e.state}` };
  if ((action === 'accept' || action === 'decline') && by === e.proposedBy) return { ok: false, reason: `the ${by} proposed this engagement; only the other party can ${action} it` };
  if (action === 'accept' && e.conflict) return { ok: false, reason: 'the tester has declared a conflict of interest with this developer and cannot take its engagement' };
  if (action === 'grant' && by !== 'developer') return { ok: false, reason: 'only the developer records the grant its gateway issued' };
  if (action === 'report' && by !== 'tester') return { ok: false, reason: 'only the tester submits reports' };
  return { ok: true, next: TO[action]! };
}

/** Proposing is refused outright when the tester declared a conflict with the developer. */
export function canPropose(conflict: boolean): Transition {
  return conflict ? { ok: false, reason: 'the tester has declared a conflict of interest with this developer and cannot take its engagement' } : { ok: true, next: 'proposed' };
}
