import { accreditationInForce, type AccreditationState } from './accreditation.js';

/**
 * "Is tester T recognised in jurisdiction J for domain D, and through which chain?" (pure).
 *
 * A tester is recognised in J for D when an accreditation in force covers D and was issued by an
 * accreditor of jurisdiction J, or by an accreditor that an accreditor of J recognises for D —
 * directly, or through a chain of such recognitions (ILAC/IAF style: signatories accept each
 * other's accreditations within the recognised scope). Every link must cover D. Chains are
 * searched breadth-first, so the shortest is reported; at most `maxHops` recognitions deep.
 */
export interface Org {
  id: string;
  name: string;
  jurisdiction: string;
}
export interface AccreditationFact {
  id: string;
  accreditorId: string;
  testerId: string;
  domains: string[];
  state: AccreditationState;
  reassessBy: string;
}
export interface RecognitionFact {
  id: string;
  recogniserId: string;
  recognisedId: string;
  domains: string[];
  active: boolean;
}
export interface Graph {
  orgs: Map<string, Org>;
  accreditations: AccreditationFact[];
  recognitions: RecognitionFact[];
}

export type ChainLink =
  | { kind: 'accreditation'; id: string; accreditor: string; tester: string }
  | { kind: 'recognition'; id: string; recogniser: string; recognised: string };

export type RecognitionAnswer =
  | { recognised: true; chain: ChainLink[]; accreditation: string }
  | { recognised: false; reason: string };

const covers = (domains: string[], d: string) => domains.includes('*') || domains.includes(d);

export function isRecognised(g: Graph, testerId: string, jurisdiction: string, domain: string, now: Date, maxHops = 4): RecognitionAnswer {
  const accs = g.accreditations.filter((a) => a.testerId === testerId && covers(a.domains, domain) && accreditationInForce(a, now));
  if (!accs.length) return { recognised: false, reason: `no accreditation in force covers "${domain}" for this tester` };
  // BFS from accreditors of J along recognitions (recogniser → recognised).
  const start = [...g.orgs.values()].filter((o) => o.jurisdiction === jurisdiction).map((o) => o.id);
  const prev = new Map<string, RecognitionFact | null>(start.map((id) => [id, null]));
  let frontier = start;
  for (let hop = 0; hop <= maxHops && frontier.length; hop++) {
    // Deterministic: accreditations in id order, frontier in discovery order.
    for (const id of frontier) {
      const acc = accs.filter((a) => a.accreditorId === id).sort((a, b) => a.id.localeCompare(b.id))[0];
      if (acc) {
        const links: ChainLink[] = [];
        for (let at: string = id, r = prev.get(at); r; at = r.recogniserId, r = prev.get(at))
          links.unshift({ kind: 'recognition', id: r.id, recogniser: r.recogniserId, recognised: r.recognisedId });
        links.push({ kind: 'accreditation', id: acc.id, accreditor: acc.accreditorId, tester: acc.testerId });
        return { recognised: true, chain: links, accreditation: acc.id };
      }
    }
    const next: string[] = [];
    for (const id of frontier)
      for (const r of g.recognitions.filter((x) => x.active && x.recogniserId === id && covers(x.domains, domain)).sort((a, b) => a.id.localeCompare(b.id)))
        if (!prev.has(r.recognisedId)) {
          prev.set(r.recognisedId, r);
          next.push(r.recognisedId);
        }
    frontier = next;
  }
  return { recognised: false, reason: `no accreditor of ${jurisdiction} accredits this tester for "${domain}" or recognises one that does` };
}
