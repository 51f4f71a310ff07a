import type { ClockFacts } from './disclosure-clock.js';

/**
 * The finding (flaw report) state machine (pure), shaped like a vulnerability programme:
 *
 *   reported ─acknowledge─► acknowledged ─triage─► triaged ─start-fix─► fix-in-progress
 *       │                        │                    │                     │
 *       │                        └──── fix | mitigate | wont-fix ───────────┘──► fixed | mitigated | wont-fix
 *       │ duplicate | not-applicable (developer, before a resolution)
 *       │ withdraw (reporter, any time before publication)
 *       ▼
 *   duplicate | not-applicable | withdrawn          (closed: no clock, never published)
 *
 *   any open or resolved state ──publish──► disclosed   (the scheduler at the deadline, or both sides' consent)
 *
 * Each transition is made by one side (the developer or the reporting tester) with a reason and
 * is recorded as a registry event; the state is always the fold of those events.
 */
export const FINDING_STATES = ['reported', 'acknowledged', 'triaged', 'fix-in-progress', 'fixed', 'mitigated', 'wont-fix', 'disclosed', 'duplicate', 'not-applicable', 'withdrawn'] as const;
export type FindingState = (typeof FINDING_STATES)[number];
/** Transitions a party asks for (publication is separate: the clock or both sides' consent). */
export const FINDING_ACTIONS = ['acknowledge', 'triage', 'start-fix', 'fix', 'mitigate', 'wont-fix', 'duplicate', 'not-applicable', 'withdraw'] as const;
export type FindingAction = (typeof FINDING_ACTIONS)[number];
export type FindingSide = 'developer' | 'reporter';

export const CLOSED_STATES: readonly FindingState[] = ['duplicate', 'not-applicable', 'withdrawn'];
const OPEN: readonly FindingState[] = ['reported', 'acknowledged', 'triaged', 'fix-in-progress'];
const RESOLVED: readonly FindingState[] = ['fixed', 'mitigated', 'wont-fix'];

const RULES: Record<FindingAction, { by: FindingSide; from: readonly FindingState[]; to: FindingState }> = {
  acknowledge: { by: 'developer', from: ['reported'], to: 'acknowledged' },
  triage: { by: 'developer', from: ['acknowledged'], to: 'triaged' },
  'start-fix': { by: 'developer', from: ['acknowledged', 'triaged'], to: 'fix-in-progress' },
  fix: { by: 'developer', from: ['acknowledged', 'triaged', 'fix-in-progress'], to: 'fixed' },
  mitigate: { by: 'developer', from: ['acknowledged', 'triaged', 'fix-in-progress'], to: 'mitigated' },
  'wont-fix': { by: 'developer', from: ['acknowledged', 'triaged', 'fix-in-progress'], to: 'wont-fix' },
  duplicate: { by: 'developer', from: ['reported', 'acknowledged', 'triaged'], to: 'duplicate' },
  'not-applicable': { by: 'developer', from: ['reported', 'acknowledged', 'triaged'], to: 'not-applicable' },
  withdraw: { by: 'reporter', from: [...OPEN, ...RESOLVED], to: 'withdrawn' },
};

/** `wrongSide`: refused for who asks (an authorisation refusal), not for the state. */
export type FindingTransition = { ok: true; next: FindingState } | { ok: false; reason: string; wrongSide?: true };

export function findingTransition(state: FindingState, action: FindingAction, by: FindingSide, reason: string | undefined): FindingTransition {
  const r = RULES[action];
  if (r.by !== by) return { ok: false, wrongSide: true, reason: `only the ${r.by === 'developer' ? 'developer' : 'reporting tester'} may ${action} a finding` };
  if (!reason || !reason.trim()) return { ok: false, reason: `a reason is required to ${action} a finding` };
  if (!r.from.includes(state)) return { ok: false, reason: `cannot ${action} a finding that is ${state} (allowed from: ${r.from.join(', ')})` };
  return { ok: true, next: r.to };
}

/** Whether a finding in this state can still be published (closed ones never are). */
export const publishable = (s: FindingState) => OPEN.includes(s) || RESOLVED.includes(s);

/** The risk domains whose findings are of the restricted class (details never published automatically). */
export const RESTRICTED_DOMAINS = ['bio', 'chem', 'nuclear', 'radiological', 'cyber-severe'] as const;
/**
 * Restricted class: CBRN uplift, and severe cyber (a cyber finding of critical severity). The
 * domain is matched on its leading word, so "bio: uplift" and "chem" are restricted.
 */
export function isRestricted(riskDomain: string, severity: string): boolean {
  const head = riskDomain.trim().toLowerCase().split(/[\s:/]+/)[0] ?? '';
  if (['bio', 'biological', 'chem', 'chemical', 'nuclear', 'radiological', 'cbrn', 'cyber-severe'].includes(head)) return true;
  return (head === 'cyber' || head === 'cybersecurity') && severity === 'critical';
}

/** A recorded event of a finding, as the fold reads it (kind without the "finding." prefix). */
export interface FindingEvent {
  kind: string;
  at: string;
  data: Record<string, unknown>;
}

export interface FindingFacts extends ClockFacts {
  state: FindingState;
  /** The resolution before publication (fixed, mitigated, wont-fix), or null. */
  resolution: FindingState | null;
  preNotifiedAt: Date | null;
  publishedAt: Date | null;
  /** Sides that consented to early publication. */
  consents: FindingSide[];
}

/** Folds a finding's events (in order) into its facts: the state and everything the clock reads. */
export function foldFinding(events: FindingEvent[]): FindingFacts {
  const first = events[0];
  if (!first || first.kind !== 'file') throw new Error('a finding\'s history starts with its filing');
  const f: FindingFacts = {
    state: 'reported', resolution: null, notifiedAt: new Date(first.at), inTheWildSince: first.data.inTheWild ? new Date(first.at) : null,
    graceGranted: false, fixedAt: null, closed: false, preNotifiedAt: null, publishedAt: null, consents: [],
  };
  for (const e of events.slice(1)) {
    const at = new Date(e.at);
    switch (e.kind) {
      case 'transition': {
        const to = e.data.to as FindingState;
        f.state = to;
        if (to === 'fixed' || to === 'mitigated') f.fixedAt ??= at;
        if (RESOLVED.includes(to)) f.resolution = to;
        if (CLOSED_STATES.includes(to)) f.closed = true;
        break;
      }
      case 'grace':
        f.graceGranted = true;
        break;
      case 'in-the-wild':
        f.inTheWildSince ??= at;
        break;
      case 'prenotify':
        f.preNotifiedAt ??= at;
        break;
      case 'consent':
        if (!f.consents.includes(e.data.side as FindingSide)) f.consents.push(e.data.side as FindingSide);
        break;
      case 'publish':
        f.publishedAt ??= at;
        f.state = 'disclosed';
        break;
      default:
        break;
    }
  }
  return f;
}
