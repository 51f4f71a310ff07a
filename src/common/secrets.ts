/**
 * The secrets this process holds (API keys from the environment or flags, grader keys, the
 * transparency-log token) and one redaction pass keyed on them. The sandbox keeps secrets out of
 * reach (bwrap starts from an empty environment), and everything an agentic sample writes to the
 * run log, shows the model or prints as a transcript goes through `redactSecrets` too, so a
 * secret that leaks by some route nobody foresaw still never reaches a log, a model or a reader.
 */

/** Environment variables holding secrets, by name. */
const SECRET_NAME = /(?:API[_-]?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|PRIVATE[_-]?KEY|AUTH)$/i;
/** Shorter values are not keys and redacting them would shred ordinary text. */
const MIN_LENGTH = 8;

const registered = new Set<string>();

/** Adds a secret given other than through the environment (e.g. `--api-key`, a token file). */
export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= MIN_LENGTH) registered.add(value);
}

/** Every secret known to this process: registered ones and secret-named environment variables. */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const out = new Set(registered);
  for (const [k, v] of Object.entries(env)) if (v && v.length >= MIN_LENGTH && SECRET_NAME.test(k)) out.add(v);
  return [...out];
}

/** The forms a secret is searched in: as is, reversed, base64, base64url, hex (lower and upper). */
function forms(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  const hex = b.toString('hex');
  return [s, [...s].reverse().join(''), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), hex, hex.toUpperCase()];
}

export const REDACTED = '[REDACTED]';

/** A redactor for a fixed set of secrets; `redact(text)` replaces every form of each. */
export function secretRedactor(secrets: readonly string[] = knownSecrets()): { secrets: readonly string[]; redact: (text: string) => string; redactDeep: <T>(v: T) => T } {
  const needles = [...new Set(secrets.filter((s) => s.length >= MIN_LENGTH).flatMap(forms))].sort((a, b) => b.length - a.length);
  const redact = (text: string): string => {
    if (!needles.length || typeof text !== 'string') return text;
    let out = text;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
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
  return { secrets, redact, redactDeep };
}
