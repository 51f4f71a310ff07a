import { AssayError, type Location } from '../common/errors.js';
import { EMPTY_ROOT, HASH_SIZE, bytesEqual } from './merkle.js';
import { decodeBase64, openNote, signNote, type NoteSigner, type NoteVerifier, type OpenedNote } from './note.js';

/**
 * C2SP tlog-checkpoint v1.0.0: the text of a signed note.
 *
 *   <origin>\n            unique log identity, e.g. "example.org/assay/log/v1"
 *   <size>\n              decimal, no leading zeros
 *   <root hash>\n         standard base64 of the 32-byte RFC 9162 root
 *   [<extension line>\n]* optional; Assay writes none and keeps any it reads
 */

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  extensions: string[];
}

export function formatCheckpoint(c: Checkpoint): string {
  return [c.origin, String(c.size), Buffer.from(c.root).toString('base64'), ...c.extensions].join('\n') + '\n';
}

/** Strict parse of checkpoint text (the note text, without signatures). */
export function parseCheckpoint(text: string, where: Location = {}): Checkpoint {
  if (!text.endsWith('\n')) throw new AssayError('CHECKPOINT_FORMAT', 'checkpoint text must end with a newline', where);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new AssayError('CHECKPOINT_FORMAT', `checkpoint needs origin, size and root hash lines, found ${lines.length} line(s)`, where);
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!origin || /\s/.test(origin)) throw new AssayError('CHECKPOINT_FORMAT', `origin ${JSON.stringify(origin)} must be non-empty with no spaces`, { ...where, line: 1 });
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new AssayError('CHECKPOINT_FORMAT', `tree size ${JSON.stringify(sizeText)} must be a decimal number without leading zeros`, { ...where, line: 2 });
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new AssayError('CHECKPOINT_FORMAT', `tree size ${sizeText} is beyond 2^53-1, which this implementation does not support`, { ...where, line: 2 });
  const root = decodeBase64(rootText, 'root hash', { ...where, line: 3 });
  if (root.length !== HASH_SIZE) throw new AssayError('CHECKPOINT_FORMAT', `root hash has ${root.length} bytes, expected ${HASH_SIZE}`, { ...where, line: 3 });
  if (size === 0 && !bytesEqual(root, EMPTY_ROOT)) throw new AssayError('CHECKPOINT_FORMAT', 'a checkpoint of size 0 must carry the empty-tree root SHA-256("")', { ...where, line: 3 });
  extensions.forEach((e, i) => {
    if (!e) throw new AssayError('CHECKPOINT_FORMAT', 'extension lines must not be empty', { ...where, line: 4 + i });
  });
  return { origin, size, root, extensions };
}

export interface SignedCheckpoint extends Checkpoint {
  /** The note exactly as received (with every signature line). */
  noteText: string;
  note: OpenedNote;
}

/**
 * Verifies a checkpoint note against the log's key(s) and parses it. `origin`, when given, must
 * match: a valid signature on another log's checkpoint proves nothing about this one.
 */
export function openCheckpoint(input: string | Uint8Array, logVerifiers: readonly NoteVerifier[], opts: { origin?: string; where?: Location } = {}): SignedCheckpoint {
  const where = opts.where ?? {};
  let noteText: string;
  try {
    noteText = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new AssayError('NOTE_FORMAT', 'checkpoint note is not valid UTF-8', where);
  }
  const note = openNote(noteText, logVerifiers, where);
  const cp = parseCheckpoint(note.text, where);
  if (opts.origin !== undefined && cp.origin !== opts.origin)
    throw new AssayError('CHECKPOINT_ORIGIN', `checkpoint is for origin ${JSON.stringify(cp.origin)}, expected ${JSON.stringify(opts.origin)}`, where);
  return { ...cp, noteText, note };
}

export const signCheckpoint = (c: Checkpoint, signers: readonly NoteSigner[]): string => signNote(formatCheckpoint(c), signers);
