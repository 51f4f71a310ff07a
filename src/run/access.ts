/**
 * The access level a run actually had, from its log. The header records the level declared at the
 * start (`--access`, or by default grey-box for an API type that can return logprobs), before any
 * call: an OpenAI-compatible endpoint that never returns logprobs would otherwise be reported as
 * grey-box. Observed here from the records: a declared grey-box (or white-box) run that asked for
 * logprobs and never received any had black-box access in fact; one that never asked could not
 * check the claim, and says so. Pure over the records; `observedAccessFromLog` reads a log.
 */
import { accessAtLeast, type AccessLevel } from '../model/types.js';
import { iterateSamples, readRunHeader } from './log-reader.js';
import type { SampleRecord } from './types.js';

export interface ObservedAccess {
  declared: AccessLevel;
  /** What the evidence supports: `black-box` when logprobs were asked for and never came back. */
  effective: AccessLevel;
  /** Answered calls that asked for logprobs, and those whose answer carried them. */
  requested: number;
  returned: number;
  /** `confirmed` (logprobs came back), `not returned` (asked, none came back), `not exercised` (never asked), `black-box`. */
  status: 'confirmed' | 'not returned' | 'not exercised' | 'black-box';
  note: string;
}

type AccessRecord = Pick<SampleRecord, 'request' | 'output' | 'error'>;

/** Counts one record: answered, asked for logprobs, and whether they came back. */
function tally(r: AccessRecord, c: { requested: number; returned: number }): void {
  if (r.error || !r.output || !r.request?.logprobs) return;
  c.requested++;
  if (r.output.logprobs && r.output.logprobs.length > 0) c.returned++;
}

function verdict(declared: AccessLevel, { requested, returned }: { requested: number; returned: number }): ObservedAccess {
  if (!accessAtLeast(declared, 'grey-box')) return { declared, effective: declared, requested, returned, status: 'black-box', note: `${declared}` };
  if (requested > 0 && returned === 0)
    return { declared, effective: 'black-box', requested, returned, status: 'not returned', note: `${declared} declared, but the endpoint returned no logprobs in ${requested} answered request(s) that asked for them: black-box in fact` };
  if (requested === 0) return { declared, effective: declared, requested, returned, status: 'not exercised', note: `${declared} declared, not exercised (no request asked for logprobs; the claim was not checked)` };
  return { declared, effective: declared, requested, returned, status: 'confirmed', note: `${declared} (logprobs returned in ${returned} of ${requested} requests that asked)` };
}

export function observedAccess(declared: AccessLevel, recs: Iterable<AccessRecord>): ObservedAccess {
  const c = { requested: 0, returned: 0 };
  for (const r of recs) tally(r, c);
  return verdict(declared, c);
}

/**
 * The same from a run log, streamed (first record per key, as everywhere). `untilConfirmed` stops
 * at the first record whose logprobs came back (the counts are then partial, the status exact:
 * `not returned` needs every record), so the check after a run does not re-read a whole log.
 */
export async function observedAccessFromLog(logPath: string, opts: { untilConfirmed?: boolean } = {}): Promise<ObservedAccess> {
  const header = await readRunHeader(logPath);
  const c = { requested: 0, returned: 0 };
  if (opts.untilConfirmed && !accessAtLeast(header.config.access, 'grey-box')) return verdict(header.config.access, c);
  for await (const r of iterateSamples(logPath)) {
    tally(r, c);
    if (opts.untilConfirmed && c.returned > 0) break;
  }
  return verdict(header.config.access, c);
}
