import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { AssayError, type Location } from '../common/errors.js';
import { sha256 } from './merkle.js';

/**
 * C2SP signed-note v1.0.0.
 *
 *   <text: UTF-8 lines, each ending in "\n">
 *   <blank line>
 *   — <key name> <base64(4-byte key id ‖ signature bytes)>\n   (one line per signature)
 *
 * Key id = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[0:4]; type 0x01 is Ed25519 over the note
 * text. Verifier keys travel as `name+hex(keyid)+base64(type ‖ public key)` ("vkey").
 * A verifier ignores signatures from unknown (name, key id) pairs, must reject a bad signature
 * from a known one, and rejects a note that no known key signed.
 */

export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;
/** At least 16 must be accepted (spec); more than this is treated as abuse. */
export const MAX_SIGNATURES = 100;
const SIG_PREFIX = '\u2014 '; // em dash, space
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface NoteSignature {
  name: string;
  /** 8 lowercase hex digits. */
  keyId: string;
  /** Signature bytes after the key id (for cosignatures: timestamp ‖ signature). */
  sig: Uint8Array;
}

export interface Note {
  /** The signed text, ending in "\n". */
  text: string;
  sigs: NoteSignature[];
}

export interface NoteVerifier {
  name: string;
  keyId: string;
  verify(text: Uint8Array, sig: Uint8Array): boolean;
}

export interface NoteSigner {
  name: string;
  keyId: string;
  sign(text: Uint8Array): Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function keyIdFor(name: string, type: number, publicKey: Uint8Array): string {
  return Buffer.from(sha256(utf8.encode(`${name}\n`), Uint8Array.of(type), publicKey).subarray(0, 4)).toString('hex');
}

/** Key names: non-empty, no whitespace, no "+" (it separates vkey fields). */
export function checkKeyName(name: string, where: Location = {}): void {
  if (!name || /[\s+]/u.test(name) || /\p{Cc}/u.test(name))
    throw new AssayError('NOTE_KEY', `key name ${JSON.stringify(name)} must be non-empty with no spaces, "+" or control characters`, where);
}

/** Canonical standard base64 only: what we decode must re-encode to the same text. */
export function decodeBase64(s: string, what: string, where: Location = {}): Uint8Array {
  const b = Buffer.from(s, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || b.toString('base64') !== s) throw new AssayError('NOTE_FORMAT', `${what} is not canonical standard base64`, where);
  return new Uint8Array(b);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Note text rules: UTF-8, non-empty, ends in "\n", no other control characters, no blank line. */
function checkText(text: string, where: Location): void {
  if (!text.length || !text.endsWith('\n')) throw new AssayError('NOTE_FORMAT', 'note text must be non-empty and end with a newline', where);
  if (text.startsWith('\n') || text.includes('\n\n')) throw new AssayError('NOTE_FORMAT', 'note text must not contain a blank line', where);
  const bad = /[\p{Cc}]/u.exec(text.replaceAll('\n', ''));
  if (bad) throw new AssayError('NOTE_FORMAT', `note text contains control character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')}`, where);
  if (LONE_SURROGATE.test(text)) throw new AssayError('NOTE_FORMAT', 'note text is not valid Unicode (lone surrogate)', where);
}

/** Structural parse (no signature checks). Errors name the note line that broke. */
export function parseNote(input: string | Uint8Array, where: Location = {}): Note {
  let msg: string;
  if (typeof input === 'string') msg = input;
  else {
    try {
      msg = utf8Strict.decode(input);
    } catch {
      throw new AssayError('NOTE_FORMAT', 'note is not valid UTF-8', where);
    }
  }
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new AssayError('NOTE_FORMAT', 'note has no blank line before its signatures', where);
  const text = msg.slice(0, split + 1);
  checkText(text, where);
  const block = msg.slice(split + 2);
  if (!block.endsWith('\n')) throw new AssayError('NOTE_FORMAT', 'signature block must end with a newline', where);
  const firstSigLine = text.split('\n').length + 1;
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new AssayError('NOTE_FORMAT', `note has ${lines.length} signatures, more than ${MAX_SIGNATURES}`, where);
  const sigs = lines.map((line, i) => {
    const at: Location = { ...where, line: firstSigLine + i };
    if (!line.startsWith(SIG_PREFIX)) throw new AssayError('NOTE_FORMAT', 'signature line must start with "\u2014 " (em dash, space)', at);
    const rest = line.slice(SIG_PREFIX.length);
    const parts = rest.split(' ');
    if (parts.length !== 2) throw new AssayError('NOTE_FORMAT', 'signature line must be "\u2014 <name> <base64>"', at);
    const [name, b64] = parts as [string, string];
    checkKeyName(name, at);
    const raw = decodeBase64(b64, 'signature', at);
    if (raw.length < 5) throw new AssayError('NOTE_FORMAT', `signature has ${raw.length} bytes: too short to hold a key id and a signature`, at);
    return { name, keyId: Buffer.from(raw.subarray(0, 4)).toString('hex'), sig: raw.subarray(4) };
  });
  return { text, sigs };
}

export function formatSignatureLine(s: NoteSignature): string {
  return `${SIG_PREFIX}${s.name} ${Buffer.concat([Buffer.from(s.keyId, 'hex'), s.sig]).toString('base64')}\n`;
}

export const formatNote = (n: Note): string => `${n.text}\n${n.sigs.map(formatSignatureLine).join('')}`;

export interface OpenedNote extends Note {
  /** Signatures from the given verifiers that checked out, one per verifier. */
  verified: Array<NoteSignature & { verifier: NoteVerifier }>;
  /** Signatures from keys the caller did not name (kept, not trusted). */
  unverified: NoteSignature[];
}

/**
 * Parses a note and checks every signature from a known key. Throws if a known key's signature
 * is bad (the note was tampered with) or no known key signed it.
 */
export function openNote(input: string | Uint8Array | Note, verifiers: readonly NoteVerifier[], where: Location = {}): OpenedNote {
  const note = typeof input === 'object' && 'sigs' in input ? input : parseNote(input, where);
  const textBytes = utf8.encode(note.text);
  const verified: OpenedNote['verified'] = [];
  const unverified: NoteSignature[] = [];
  for (const s of note.sigs) {
    const v = verifiers.find((k) => k.name === s.name && k.keyId === s.keyId);
    if (!v) {
      unverified.push(s);
      continue;
    }
    if (!v.verify(textBytes, s.sig)) throw new AssayError('NOTE_SIGNATURE', `signature by ${s.name} (key ${s.keyId}) does not verify: the note was altered or signed by another key`, where);
    if (!verified.some((x) => x.verifier === v)) verified.push({ ...s, verifier: v });
  }
  if (!verified.length) {
    const names = verifiers.map((v) => `${v.name}+${v.keyId}`).join(', ') || '(none given)';
    const found = note.sigs.map((s) => `${s.name}+${s.keyId}`).join(', ') || 'none';
    throw new AssayError('NOTE_UNSIGNED', `note carries no signature from a known key (known: ${names}; found: ${found})`, where);
  }
  return { ...note, verified, unverified };
}

/** Signs note text with each signer, keeping any existing signature lines not replaced. */
export function signNote(text: string, signers: readonly NoteSigner[], existing: readonly NoteSignature[] = []): string {
  checkText(text, {});
  const bytes = utf8.encode(text);
  const sigs = existing.filter((e) => !signers.some((s) => s.name === e.name && s.keyId === e.keyId));
  for (const s of signers) sigs.push({ name: s.name, keyId: s.keyId, sig: s.sign(bytes) });
  return formatNote({ text, sigs });
}

// ---------------------------------------------------------------------------------------------
// Ed25519 keys and vkeys.

export function rawEd25519Public(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new AssayError('NOTE_KEY', `expected an Ed25519 key, got ${pub.asymmetricKeyType ?? pub.type}`);
  const der = pub.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function ed25519PublicFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export interface Vkey {
  name: string;
  keyId: string;
  type: number;
  publicKey: Uint8Array;
}

export const formatVkey = (name: string, type: number, publicKey: Uint8Array): string =>
  `${name}+${keyIdFor(name, type, publicKey)}+${Buffer.concat([Uint8Array.of(type), publicKey]).toString('base64')}`;

/** Parses `name+hexkeyid+base64(type ‖ key)` and checks the key id recomputes. */
export function parseVkey(text: string, where: Location = {}): Vkey {
  // The base64 part may itself contain "+": split at the first two only.
  const t = text.trim();
  const a = t.indexOf('+');
  const b = a < 0 ? -1 : t.indexOf('+', a + 1);
  const parts = a < 0 || b < 0 ? [] : [t.slice(0, a), t.slice(a + 1, b), t.slice(b + 1)];
  if (parts.length !== 3) throw new AssayError('NOTE_KEY', 'verifier key must be "<name>+<8 hex key id>+<base64(type ‖ public key)>"', where);
  const [name, id, b64] = parts as [string, string, string];
  checkKeyName(name, where);
  if (!/^[0-9a-f]{8}$/.test(id)) throw new AssayError('NOTE_KEY', `verifier key id ${JSON.stringify(id)} must be 8 lowercase hex digits`, where);
  const raw = decodeBase64(b64, 'verifier key', where);
  if (raw.length < 2) throw new AssayError('NOTE_KEY', 'verifier key has no key bytes', where);
  const type = raw[0]!;
  const publicKey = raw.subarray(1);
  if ((type === SIG_ED25519 || type === SIG_COSIGNATURE_V1) && publicKey.length !== 32)
    throw new AssayError('NOTE_KEY', `Ed25519 verifier key has ${publicKey.length} key bytes, expected 32`, where);
  const want = keyIdFor(name, type, publicKey);
  if (want !== id) throw new AssayError('NOTE_KEY', `verifier key id ${id} does not match its key (computed ${want})`, where);
  return { name, keyId: id, type, publicKey };
}

/** Note verifier for an Ed25519 (type 0x01) vkey. */
export function ed25519Verifier(vkey: string | Vkey, where: Location = {}): NoteVerifier {
  const k = typeof vkey === 'string' ? parseVkey(vkey, where) : vkey;
  if (k.type !== SIG_ED25519) throw new AssayError('NOTE_KEY', `verifier key ${k.name} has type 0x${k.type.toString(16).padStart(2, '0')}, expected Ed25519 (0x01)`, where);
  const pub = ed25519PublicFromRaw(k.publicKey);
  return {
    name: k.name,
    keyId: k.keyId,
    verify: (text, sig) => sig.length === 64 && cryptoVerify(null, text, pub, sig),
  };
}

export function ed25519Signer(name: string, privateKey: KeyObject): NoteSigner & { vkey: string } {
  checkKeyName(name);
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new AssayError('NOTE_KEY', 'expected an Ed25519 private key');
  const pub = rawEd25519Public(privateKey);
  const signer = {
    name,
    keyId: keyIdFor(name, SIG_ED25519, pub),
    vkey: formatVkey(name, SIG_ED25519, pub),
    sign: (text: Uint8Array) => new Uint8Array(cryptoSign(null, text, privateKey)),
  };
  // Keep the private key out of logs and inspection.
  Object.defineProperty(signer, Symbol.for('nodejs.util.inspect.custom'), { value: () => `NoteSigner(${name}+${signer.keyId})` });
  return signer;
}
