/**
 * Disclosure clocks (pure): when a finding's fix is due, when its agencies are pre-notified and
 * when it is published, as a function of its recorded facts and a clock policy. Defaults follow
 * Google Project Zero's "90+30" policy: 90 days from notification to a fix; fixed in time →
 * published 30 days after the fix; unfixed → published at the deadline; one 14-day grace on
 * request; exploited in the wild → 7 days (+3 grace), still fix + 30 when fixed in time.
 * Matching agencies receive the finding under embargo `preNotifyDays` before publication.
 *
 * All arithmetic is in whole UTC milliseconds (days are 86 400 000 ms, never local calendar
 * days), so a deadline is the same instant wherever it is computed or shown.
 */
export const DAY_MS = 86_400_000;

export interface ClockPolicy {
  /** Days from notification to the fix deadline (standard track). */
  fixDays: number;
  /** Days after a fix (in time) until publication. */
  publishAfterFixDays: number;
  /** Grace added to the standard deadline on request (once). */
  graceDays: number;
  /** Days to the fix deadline when exploited in the wild. */
  inTheWildDays: number;
  /** Grace added to the in-the-wild deadline on request (once). */
  inTheWildGraceDays: number;
  /** Lead time of the agency pre-notification before publication. */
  preNotifyDays: number;
}

export const DEFAULT_CLOCK: ClockPolicy = { fixDays: 90, publishAfterFixDays: 30, graceDays: 14, inTheWildDays: 7, inTheWildGraceDays: 3, preNotifyDays: 7 };

/** What a clock depends on: only recorded facts (events), never a page view or the current time. */
export interface ClockFacts {
  /** When the developer was notified (the finding was filed with it). */
  notifiedAt: Date;
  /** When exploitation in the wild became known to the registry (null: not known). */
  inTheWildSince: Date | null;
  /** Whether the one grace period was granted. */
  graceGranted: boolean;
  /** When the developer recorded a fix or mitigation (null: none). */
  fixedAt: Date | null;
  /** The finding was closed without publication (duplicate, not applicable, withdrawn): no clock runs. */
  closed: boolean;
}

export interface Clock {
  /** The fix deadline in force (grace included). */
  fixDeadline: Date;
  /** Whether the fix (if any) came by the deadline. */
  fixedInTime: boolean;
  /** When the finding is published (details, unless it is of the restricted class). */
  disclosureAt: Date;
  /** When matching agencies receive it under embargo (never before notification). */
  preNotifyAt: Date;
  /** Which track governs: standard or in-the-wild. */
  track: 'standard' | 'in-the-wild';
}

const plusDays = (d: Date, n: number) => new Date(d.getTime() + n * DAY_MS);
const max = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

/** The finding's clock, or null when it was closed without publication. */
export function computeClock(f: ClockFacts, p: ClockPolicy = DEFAULT_CLOCK): Clock | null {
  if (f.closed) return null;
  const standard = plusDays(f.notifiedAt, p.fixDays + (f.graceGranted ? p.graceDays : 0));
  let fixDeadline = standard;
  let track: Clock['track'] = 'standard';
  if (f.inTheWildSince) {
    // Known exploitation shortens the clock from when it became known (never before notification).
    const start = max(f.notifiedAt, f.inTheWildSince);
    const wild = plusDays(start, p.inTheWildDays + (f.graceGranted ? p.inTheWildGraceDays : 0));
    if (wild.getTime() < standard.getTime()) {
      fixDeadline = wild;
      track = 'in-the-wild';
    }
  }
  const fixedInTime = f.fixedAt !== null && f.fixedAt.getTime() <= fixDeadline.getTime();
  // Fixed in time: a patch-adoption window after the fix. Otherwise: at the deadline, fixed or not.
  const disclosureAt = fixedInTime ? plusDays(f.fixedAt!, p.publishAfterFixDays) : fixDeadline;
  const preNotifyAt = max(f.notifiedAt, plusDays(disclosureAt, -p.preNotifyDays));
  return { fixDeadline, fixedInTime, disclosureAt, preNotifyAt, track };
}

/** Whether a grace period may be granted now: once, with a reason, before the deadline in force, not after a fix. */
export function graceRefusal(f: ClockFacts, now: Date, p: ClockPolicy = DEFAULT_CLOCK): string | null {
  if (f.closed) return 'the finding is closed';
  if (f.graceGranted) return 'the one grace period was already granted';
  if (f.fixedAt) return 'the finding is already fixed; publication follows the fix';
  const c = computeClock(f, p)!;
  if (now.getTime() >= c.fixDeadline.getTime()) return `the fix deadline ${c.fixDeadline.toISOString()} has passed`;
  return null;
}

/** Which deadline actions are due at `now` and not yet done (the scheduler applies them once). */
export function dueActions(f: ClockFacts, done: { preNotified: boolean; published: boolean }, now: Date, p: ClockPolicy = DEFAULT_CLOCK): ('prenotify' | 'publish')[] {
  const c = computeClock(f, p);
  if (!c || done.published) return [];
  const out: ('prenotify' | 'publish')[] = [];
  // Publication never happens without the agencies having been told first.
  if (!done.preNotified && now.getTime() >= c.preNotifyAt.getTime()) out.push('prenotify');
  if (now.getTime() >= c.disclosureAt.getTime()) out.push('publish');
  return out;
}

/** A clock policy from a partial one (a registry setting or a policy file), each value checked. */
export function clockPolicy(o: Partial<ClockPolicy> = {}): ClockPolicy {
  const p = { ...DEFAULT_CLOCK, ...o };
  for (const [k, v] of Object.entries(p)) if (!Number.isInteger(v) || v < 0 || v > 3650) throw new RangeError(`clock policy ${k} must be a whole number of days in [0, 3650], got ${String(v)}`);
  if (p.fixDays < 1 || p.inTheWildDays < 1) throw new RangeError('clock policy fixDays and inTheWildDays must be at least 1');
  return p;
}
