import { canonicalJson } from '../common/canonical.js';
import { parseStrictJson } from '../attest/json.js';
import type { Opening } from '../gateway/commit.js';
import { checkAnchor, verifyOpening, type VerifiedLog } from '../gateway/head.js';
import type { TrustedLog } from '../attest/trust.js';

/**
 * Stage-2 sessions against the gateway's access records (evaluation v4; I/O-free: callers read
 * the run log, the log export or proofs bundle, and the opening files).
 *
 * A session whose access rests on a gateway grant claims that its model exchanges went through
 * the gateway. Each judged item's exchange (the request body sent and the answer received, as the
 * session's run log records them) counts only when an opening of the gateway's access log shows
 * it: the opening verifies against the log (chain and signed head under the gateway key, the head
 * anchored in a transparency log the verifier trusts), its record is under the session's grant
 * (jti), answered 2xx, and its opened request and response are those the log records.
 */

/** One judged item's final exchange, from the session's run log. */
export interface SessionExchange {
  key: string;
  /** The request body as sent (`sent.body`). */
  sent: unknown;
  /** The answer as received (`output.raw`). */
  answer: unknown;
}

export interface AccessRecordCheck {
  /** Judged items with a model exchange. */
  of: number;
  /** ... whose exchange an opening of the gateway's access log shows. */
  opened: number;
  /** Why each other one did not count (first few). */
  problems: string[];
}

const canon = (v: unknown): string | null => {
  try {
    return canonicalJson(v as never);
  } catch {
    return null;
  }
};
const canonText = (t: string): string | null => {
  try {
    return canonicalJson(parseStrictJson(t, { allowLargeNumbers: true }) as never);
  } catch {
    return null;
  }
};

/**
 * Matches a session's exchanges with openings. `log` is the gateway's verified log (verifyLogFile
 * under the grant's gateway key); `trustedLogs` are the transparency logs the verifier trusts (the
 * signed head must be in one); `jti` is the grant id the session's access rests on.
 */
export function checkSessionAccessRecords(exchanges: SessionExchange[], openings: Opening[], log: VerifiedLog, trustedLogs: TrustedLog[], jti: string): AccessRecordCheck {
  const problems: string[] = [];
  const anchored = trustedLogs.some((t) => checkAnchor(log, { logVkey: t.vkey, witnessVkeys: t.witnesses, witnessesRequired: t.witnessesRequired }).length === 0);
  if (!anchored) return { of: exchanges.length, opened: 0, problems: [`the gateway log's signed head (size ${log.signedHead.head.size}) is not in a transparency log the trust file lists`] };
  // Openings that verify, under this grant, answered: keyed by the canonical request they open.
  const usable = new Map<string, Opening[]>();
  for (const o of openings) {
    const bad = verifyOpening(o, log);
    if (bad.length) {
      problems.push(`opening of record ${o.record.seq}: ${bad[0]}`);
      continue;
    }
    if (o.record.grant !== jti) {
      problems.push(`opening of record ${o.record.seq}: under grant ${o.record.grant}, not the session's ${jti}`);
      continue;
    }
    if (o.record.status < 200 || o.record.status > 299 || !o.response) {
      problems.push(`opening of record ${o.record.seq}: no answered response (status ${o.record.status}${o.response ? '' : ', response not opened'})`);
      continue;
    }
    const k = canonText(o.request.content);
    if (k === null) continue;
    usable.set(k, [...(usable.get(k) ?? []), o]);
  }
  let opened = 0;
  for (const x of exchanges) {
    const req = canon(x.sent);
    const ans = canon(x.answer);
    const cands = req === null ? [] : (usable.get(req) ?? []);
    // Each record opens one exchange: a record cannot vouch for two items.
    const i = cands.findIndex((o) => o.record.response?.form === 'jcs' && ans !== null && canonText(o.response!.content) === ans);
    if (i < 0) {
      if (problems.length < 20) problems.push(`item ${x.key}: ${cands.length ? 'the opened response is not the answer the session recorded' : 'no opening of the gateway log shows its request'}`);
      continue;
    }
    cands.splice(i, 1);
    opened++;
  }
  return { of: exchanges.length, opened, problems };
}
