import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { AssayError, type Location } from '../common/errors.js';
import {
  SIG_COSIGNATURE_V1, checkKeyName, ed25519PublicFromRaw, formatVkey, keyIdFor, parseNote, parseVkey, rawEd25519Public,
  type Note, type NoteSigner, type NoteVerifier, type Vkey,
} from './note.js';

/**
 * C2SP tlog-cosignature v1 (Ed25519, signature type 0x04).
 *
 * Signed message:   "cosignature/v1\n" "time <unix seconds>\n" <checkpoint note text>
 * Note signature:   u64be(time) ‖ 64-byte Ed25519 signature (after the 4-byte key id)
 * Key id:           SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[0:4]
 *
 * The message does not include the cosigner's name, so one key must serve one cosigner only.
 */

const utf8 = new TextEncoder();

export function cosignedMessage(time: number, checkpointText: Uint8Array): Uint8Array {
  return Buffer.concat([utf8.encode(`cosignature/v1\ntime ${time}\n`), checkpointText]);
}

/** The u64 big-endian timestamp at the start of a cosignature's bytes, or null if malformed. */
export function cosignatureTime(sig: Uint8Array): number | null {
  if (sig.length !== 72) return null;
  const t = Buffer.from(sig.buffer, sig.byteOffset, 8).readBigUInt64BE(0);
  return t > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(t);
}

export interface Cosigner extends NoteSigner {
  vkey: string;
}

/** A cosigner; `now` is injectable so tests can pin the timestamp. */
export function cosigner(name: string, privateKey: KeyObject, now: () => number = () => Math.floor(Date.now() / 1000)): Cosigner {
  checkKeyName(name);
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new AssayError('NOTE_KEY', 'expected an Ed25519 private key');
  const pub = rawEd25519Public(privateKey);
  const keyId = keyIdFor(name, SIG_COSIGNATURE_V1, pub);
  const c: Cosigner = {
    name,
    keyId,
    vkey: formatVkey(name, SIG_COSIGNATURE_V1, pub),
    sign(text) {
      const t = now();
      const out = Buffer.alloc(72);
      out.writeBigUInt64BE(BigInt(t), 0);
      Buffer.from(cryptoSign(null, cosignedMessage(t, text), privateKey)).copy(out, 8);
      return new Uint8Array(out);
    },
  };
  Object.defineProperty(c, Symbol.for('nodejs.util.inspect.custom'), { value: () => `Cosigner(${name}+${keyId})` });
  return c;
}

/** Verifier for a cosigner vkey (type 0x04). */
export function cosignatureVerifier(vkey: string | Vkey, where: Location = {}): NoteVerifier {
  const k = typeof vkey === 'string' ? parseVkey(vkey, where) : vkey;
  if (k.type !== SIG_COSIGNATURE_V1) throw new AssayError('NOTE_KEY', `witness key ${k.name} has type 0x${k.type.toString(16).padStart(2, '0')}, expected an Ed25519 cosignature key (0x04)`, where);
  const pub = ed25519PublicFromRaw(k.publicKey);
  return {
    name: k.name,
    keyId: k.keyId,
    verify(text, sig) {
      const t = cosignatureTime(sig);
      if (t === null) return false;
      return cryptoVerify(null, cosignedMessage(t, text), pub, sig.subarray(8));
    },
  };
}

export interface WitnessResult {
  /** Distinct witnesses whose cosignature verified, with their timestamps. */
  witnesses: Array<{ name: string; keyId: string; time: number }>;
  /** Witnesses named by the policy with no (valid) cosignature on this checkpoint. */
  missing: string[];
}

/**
 * k-of-n: requires valid cosignatures from at least `k` distinct keys among `witnessVkeys` on the
 * checkpoint note. A bad signature from a listed witness fails the note outright (tampering);
 * lines from keys not listed are ignored, as signed-note requires.
 */
export function requireCosignatures(note: string | Note, witnessVkeys: readonly string[], k: number, where: Location = {}): WitnessResult {
  if (!Number.isInteger(k) || k < 0 || k > witnessVkeys.length) throw new AssayError('USAGE', `cannot require ${k} of ${witnessVkeys.length} witnesses`, where);
  const parsed = typeof note === 'string' ? parseNote(note, where) : note;
  const text = utf8.encode(parsed.text);
  const verifiers = witnessVkeys.map((v) => cosignatureVerifier(v, where));
  const witnesses: WitnessResult['witnesses'] = [];
  const missing: string[] = [];
  for (const v of verifiers) {
    // A key listed twice counts once.
    if (witnesses.some((w) => w.name === v.name && w.keyId === v.keyId)) continue;
    let ok: number | null = null;
    for (const s of parsed.sigs) {
      if (s.name !== v.name || s.keyId !== v.keyId) continue;
      if (!v.verify(text, s.sig)) throw new AssayError('COSIGNATURE_INVALID', `cosignature by witness ${v.name} (key ${v.keyId}) does not verify over this checkpoint`, where);
      ok = cosignatureTime(s.sig);
    }
    if (ok === null) missing.push(`${v.name}+${v.keyId}`);
    else witnesses.push({ name: v.name, keyId: v.keyId, time: ok });
  }
  if (witnesses.length < k)
    throw new AssayError('WITNESS_QUORUM', `checkpoint has valid cosignatures from ${witnesses.length} of the required ${k} witnesses${witnesses.length ? ` (${witnesses.map((w) => w.name).join(', ')})` : ''}; missing: ${missing.join(', ')}`, where);
  return { witnesses, missing };
}
