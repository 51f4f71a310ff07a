import { createHash } from 'node:crypto';
import canonicalizeImpl from 'canonicalize';

// canonicalize@4 ships CJS-style typings; normalise to one callable.
const canonicalizeFn = canonicalizeImpl as unknown as (v: unknown) => string | undefined;

/** RFC 8785 (JCS) canonical JSON text of a value. Throws on values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  const out = canonicalizeFn(value);
  if (out === undefined) throw new TypeError('value has no JSON representation');
  return out;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Content address of a JSON value: "sha256:<hex>" over its canonical bytes. */
export function digestJson(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}
