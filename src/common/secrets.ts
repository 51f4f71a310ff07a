/**
 * The secrets this process holds (API keys from the environment or flags, grader keys, the
 * transparency-log token) and one redaction pass keyed on them. The sandbox keeps secrets out of
 * reach (bwrap starts from an empty environment), and everything an agentic sample writes to the
 * run log (every record, by the log writer), stores as an artefact, shows the model or prints as a
 * transcript goes through the redactor too, so a
 * secret that leaks by some route nobody foresaw still never reaches a log, a model or a reader.
 */

/** Environment variables holding secrets, by name. */
const SECRET_NAME = /(?:API[_-]?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|PRIVATE[_-]?KEY|AUTH)$/i;
/** Shorter values are not keys and redacting them would shred ordinary text. */
const MIN_LENGTH = 8;

const registered = new Set<string>();
/** Bumped when a secret is registered, so the cached redactor is rebuilt. */
let version = 0;

/** Adds a secret given other than through the environment (e.g. `--api-key`, a token file). */
export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= MIN_LENGTH && !registered.has(value)) {
    registered.add(value);
    version++;
  }
}

/** Every secret known to this process: registered ones and secret-named environment variables. */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const out = new Set(registered);
  for (const [k, v] of Object.entries(env)) if (v && v.length >= MIN_LENGTH && SECRET_NAME.test(k)) out.add(v);
  return [...out];
}

/** base64 of `s` as it appears inside a longer base64 text, at each of the three byte alignments (e.g. `Basic base64(user:key)`). */
function base64Inner(b: Buffer): string[] {
  const out: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const enc = Buffer.concat([Buffer.alloc(pad), b]).toString('base64').replace(/=+$/, '');
    // Drop the characters that depend on the bytes before (the pad) or after (the last partial group).
    const head = pad === 0 ? 0 : pad === 1 ? 2 : 3;
    const tail = (pad + b.length) % 3 === 0 ? enc.length : enc.length - 1;
    if (tail - head >= MIN_LENGTH) out.push(enc.slice(head, tail));
  }
  return out;
}

/** The forms a secret is searched in: as is, reversed, base64 and base64url (any alignment), hex, URL-encoded (partly or fully), \u-escaped. */
function forms(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  const hex = b.toString('hex');
  const pct = [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
  const uesc = [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const b64 = base64Inner(b);
  return [s, [...s].reverse().join(''), ...b64, ...b64.map((x) => x.replace(/\+/g, '-').replace(/\//g, '_')), hex, hex.toUpperCase(), encodeURIComponent(s), pct, pct.toUpperCase(), uesc, uesc.toUpperCase().replace(/\\U/g, '\\u'), uesc.replace(/\\/g, '\\\\')];
}

/** Fragments this long (or half the secret, if shorter) are redacted too: a key split across chunks or fields is caught piece by piece. */
export const FRAGMENT = 12;

export const REDACTED = '[REDACTED]';

export interface Redactor {
  secrets: readonly string[];
  redact: (text: string) => string;
  redactDeep: <T>(v: T) => T;
  /** One JSON line (a run-log record): redacted as text, re-serialised from the redacted object if the text pass broke its syntax. */
  redactLine: (line: string) => string;
}

/** A redactor for a fixed set of secrets; `redact(text)` replaces every form of each, and every long fragment of each. */
export function secretRedactor(secrets: readonly string[] = knownSecrets()): Redactor {
  const kept = [...new Set(secrets.filter((s) => s.length >= MIN_LENGTH))];
  const needles = [...new Set(kept.flatMap(forms))].sort((a, b) => b.length - a.length);
  const fragments = new Set<string>();
  for (const s of kept) {
    const k = Math.max(MIN_LENGTH, Math.min(FRAGMENT, Math.ceil(s.length / 2)));
    for (let i = 0; i + k <= s.length; i++) fragments.add(s.slice(i, i + k));
  }
  const frags = [...fragments];
  // Prefilter: every needle and fragment is 8+ characters, so a match has 4-grams of some needle at i and i+4.
  const gram = (t: string, i: number) => ((t.charCodeAt(i) & 0xff) << 24) | ((t.charCodeAt(i + 1) & 0xff) << 16) | ((t.charCodeAt(i + 2) & 0xff) << 8) | (t.charCodeAt(i + 3) & 0xff);
  // A bitmap of hashed 4-grams (a Bloom filter with one hash): a false hit only costs the full pass.
  const bits = new Uint8Array(1 << 17);
  const slot = (g: number) => Math.imul(g, 0x9e3779b1) >>> 12;
  for (const n of [...needles, ...frags]) for (let i = 0; i + 4 <= n.length; i++) bits[slot(gram(n, i)) >>> 3]! |= 1 << (slot(gram(n, i)) & 7);
  const mayHold = (t: string): boolean => {
    // Rolling 4-gram; `recent` holds the hit bits of the last five positions.
    let g = 0;
    let recent = 0;
    for (let i = 0; i < t.length; i++) {
      g = (g << 8) | (t.charCodeAt(i) & 0xff);
      if (i < 3) continue;
      const k = slot(g);
      const h = (bits[k >>> 3]! >>> (k & 7)) & 1;
      recent = ((recent << 1) | h) & 0x1f;
      if (h && recent & 0x10) return true; // hits at this 4-gram and the one starting four characters earlier
    }
    return false;
  };
  const redact = (text: string): string => {
    if (!needles.length || typeof text !== 'string' || !mayHold(text)) return text;
    let out = text;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
    // Fragments: mark every covered range, then replace each maximal run once.
    let marks: Uint8Array | null = null;
    for (const f of frags) {
      for (let i = out.indexOf(f); i >= 0; i = out.indexOf(f, i + 1)) {
        marks ??= new Uint8Array(out.length);
        marks.fill(1, i, i + f.length);
      }
    }
    if (!marks) return out;
    let res = '';
    for (let i = 0; i < out.length; ) {
      if (!marks[i]) {
        res += out[i++];
        continue;
      }
      while (i < out.length && marks[i]) i++;
      res += REDACTED;
    }
    return res;
  };
  const redactDeep = <T>(v: T): T => {
    if (!needles.length) return v;
    const walk = (x: unknown): unknown => {
      if (typeof x === 'string') return redact(x);
      if (Array.isArray(x)) return x.map(walk);
      if (x && typeof x === 'object' && !Buffer.isBuffer(x)) {
        const o: Record<string, unknown> = {};
        for (const [k, val] of Object.entries(x)) o[redact(k)] = walk(val);
        return o;
      }
      return x;
    };
    return walk(v) as T;
  };
  const redactLine = (line: string): string => {
    const out = redact(line);
    if (out === line) return line;
    const nl = line.endsWith('\n') ? '\n' : '';
    try {
      JSON.parse(out);
      return out;
    } catch {
      try {
        return JSON.stringify(redactDeep(JSON.parse(line))) + nl;
      } catch {
        return out; // not JSON to begin with: the text pass stands
      }
    }
  };
  return { secrets: kept, redact, redactDeep, redactLine };
}

let cached: { key: string; version: number; r: Redactor } | null = null;
/**
 * The redactor for the secrets this process knows: rebuilt when a secret is registered, and the
 * environment re-read when `fresh` (reading process.env costs ~0.1 ms, too much per record; the
 * run-log writer asks for a fresh one when it opens a log).
 */
export function processRedactor(fresh = false): Redactor {
  if (cached && !fresh && cached.version === version) return cached.r;
  const s = knownSecrets();
  const key = s.join('\0');
  if (cached?.key !== key) cached = { key, version, r: secretRedactor(s) };
  else cached.version = version;
  return cached.r;
}
