import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AssayError, type Location } from '../common/errors.js';
import { openCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { fetchCheckpoint, type LogSource } from './client.js';
import type { Cosigner } from './cosignature.js';
import { EMPTY_ROOT, bytesEqual, consistencyFailure } from './merkle.js';
import { decodeBase64, ed25519Verifier, formatNote, formatSignatureLine, parseNote } from './note.js';
import { withLock } from '../common/lock.js';
import { fsyncDir, writeDurable } from './storage.js';
import { TileReader } from './tiles.js';

/**
 * A witness (C2SP tlog-witness v1 semantics, Ed25519 cosignatures v1).
 *
 * For each log origin it knows it keeps the last checkpoint it cosigned, in a JSON state file.
 * It cosigns a new checkpoint only if the log's key signed it and a consistency proof from the
 * stored tree to the new one verifies; otherwise it refuses with the status tlog-witness assigns
 * (400, 403, 404, 409, 422) and a message saying what the log did wrong. Read-check-write of the
 * state happens under an exclusive lock (`<state>.lock`, src/common/lock.ts), so two concurrent
 * requests, in one process or several, cannot both advance from one size.
 *
 * State file (`assay.witness-state/v1`):
 *   {"schema":"assay.witness-state/v1","logs":{"<origin>":{"size":n,"root":"<base64>","checkpoint":"<note>","time":<unix s>}}}
 */

export const WITNESS_STATE_SCHEMA = 'assay.witness-state/v1';

export interface WitnessLogState {
  size: number;
  root: string;
  checkpoint: string;
  time: number;
}
export interface WitnessState {
  schema: typeof WITNESS_STATE_SCHEMA;
  logs: Record<string, WitnessLogState>;
}

/** A refusal, with the HTTP status tlog-witness gives it. */
export class WitnessRefusal extends AssayError {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422,
    code: string,
    problem: string,
    location: Location = {},
    /** For 409: the witness's size for this origin. */
    readonly knownSize?: number,
  ) {
    super(code, problem, location);
  }
}

export function loadWitnessState(file: string): WitnessState {
  if (!existsSync(file)) return { schema: WITNESS_STATE_SCHEMA, logs: {} };
  let v: WitnessState;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as WitnessState;
  } catch (err) {
    throw new AssayError('WITNESS_STATE', `state file is not JSON: ${(err as Error).message}`, { file });
  }
  if (v?.schema !== WITNESS_STATE_SCHEMA || typeof v.logs !== 'object' || !v.logs) throw new AssayError('WITNESS_STATE', `not an ${WITNESS_STATE_SCHEMA} file`, { file });
  return v;
}

// ---------------------------------------------------------------------------------------------
// tlog-witness add-checkpoint request body:
//   old <size>\n  <base64 consistency-proof hash>\n*  \n  <signed checkpoint note>

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  note: string;
}

export function formatAddCheckpoint(r: AddCheckpointRequest): string {
  return `old ${r.oldSize}\n${r.proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('')}\n${r.note}`;
}

export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const split = body.indexOf('\n\n');
  if (split < 0) throw new WitnessRefusal(400, 'WITNESS_REQUEST', 'request has no blank line before the checkpoint');
  const lines = body.slice(0, split).split('\n');
  const m = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new WitnessRefusal(400, 'WITNESS_REQUEST', 'first line must be "old <size>"', { line: 1 });
  if (lines.length - 1 > 63) throw new WitnessRefusal(400, 'WITNESS_REQUEST', 'more than 63 consistency proof hashes');
  const proof = lines.slice(1).map((l, i) => {
    try {
      return decodeBase64(l, 'proof hash', { line: i + 2 });
    } catch (err) {
      throw new WitnessRefusal(400, 'WITNESS_REQUEST', (err as Error).message, { line: i + 2 });
    }
  });
  return { oldSize: Number(m[1]), proof, note: body.slice(split + 2) };
}

export interface WitnessConfig {
  stateFile: string;
  cosigner: Cosigner;
  /** Logs this witness follows: origin → the log's checkpoint verifier key (vkey). */
  logs: ReadonlyMap<string, string>;
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/**
 * Handles one add-checkpoint request: verifies, advances the stored state, and returns the
 * cosignature line (with its trailing newline). Throws WitnessRefusal when it will not cosign.
 */
export async function addCheckpoint(cfg: WitnessConfig, req: AddCheckpointRequest): Promise<{ line: string; checkpoint: SignedCheckpoint }> {
  let origin: string;
  try {
    origin = parseNote(req.note).text.split('\n')[0]!;
  } catch (err) {
    throw new WitnessRefusal(400, 'WITNESS_REQUEST', `checkpoint note is malformed: ${(err as Error).message}`);
  }
  const vkey = cfg.logs.get(origin);
  if (!vkey) throw new WitnessRefusal(404, 'WITNESS_UNKNOWN_LOG', `this witness does not follow log ${JSON.stringify(origin)}`);
  let cp: SignedCheckpoint;
  try {
    cp = openCheckpoint(req.note, [ed25519Verifier(vkey)], { origin });
  } catch (err) {
    throw new WitnessRefusal(403, 'WITNESS_BAD_SIGNATURE', `checkpoint is not validly signed by the log key of ${origin}: ${(err as Error).message}`);
  }
  if (req.oldSize > cp.size) throw new WitnessRefusal(400, 'WITNESS_REQUEST', `old size ${req.oldSize} is larger than the checkpoint size ${cp.size}`);

  return withLock(`${cfg.stateFile}.lock`, () => {
    const state = loadWitnessState(cfg.stateFile);
    const known = state.logs[origin];
    const knownSize = known?.size ?? 0;
    const knownRoot = known ? decodeBase64(known.root, 'stored root', { file: cfg.stateFile }) : EMPTY_ROOT;
    if (cp.size < knownSize)
      throw new WitnessRefusal(409, 'WITNESS_ROLLBACK', `log ${origin} presented a checkpoint of size ${cp.size}, smaller than the size ${knownSize} this witness already cosigned: the log rolled back or forked`, {}, knownSize);
    if (req.oldSize !== knownSize)
      throw new WitnessRefusal(409, 'WITNESS_OLD_SIZE', `request proves consistency from size ${req.oldSize}, but this witness last cosigned size ${knownSize} for ${origin}`, {}, knownSize);
    if (cp.size === knownSize && !bytesEqual(cp.root, knownRoot))
      throw new WitnessRefusal(
        422,
        'SPLIT_VIEW',
        `split view: log ${origin} signed a second, different tree of size ${cp.size} (root ${b64(cp.root)}; this witness cosigned root ${b64(knownRoot)}). Refusing to cosign; keep both checkpoints as evidence`,
      );
    const why = consistencyFailure(knownSize, cp.size, req.proof, knownRoot, cp.root);
    if (why)
      throw new WitnessRefusal(
        422,
        'SPLIT_VIEW',
        `inconsistent checkpoint: log ${origin} at size ${cp.size} (root ${b64(cp.root)}) does not extend the tree of size ${knownSize} (root ${b64(knownRoot)}) this witness cosigned: ${why}. Refusing to cosign`,
      );
    const sig = cfg.cosigner.sign(new TextEncoder().encode(cp.note.text));
    state.logs[origin] = { size: cp.size, root: b64(cp.root), checkpoint: req.note, time: Math.floor(Date.now() / 1000) };
    writeDurable(cfg.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    fsyncDir(dirname(cfg.stateFile));
    return { line: formatSignatureLine({ name: cfg.cosigner.name, keyId: cfg.cosigner.keyId, sig }), checkpoint: cp };
  }, { what: `witness state ${cfg.stateFile}` });
}

/** Adds cosignature lines to a note (no duplicate name+key id). */
export function withCosignatures(note: string, lines: readonly string[]): string {
  const n = parseNote(note);
  const extra = parseNote(`x\n\n${lines.join('')}`).sigs.filter((s) => !n.sigs.some((t) => t.name === s.name && t.keyId === s.keyId));
  return formatNote({ text: n.text, sigs: [...n.sigs, ...extra] });
}

/**
 * `assay log witness`, pull style: fetch the log's checkpoint, build the consistency proof from
 * the witness's stored size using the log's tiles, and run the same checks as add-checkpoint.
 * Returns the checkpoint note with this witness's cosignature added.
 */
export async function witnessLog(src: LogSource, cfg: WitnessConfig & { logVkey: string }): Promise<{ cosigned: string; line: string; oldSize: number; checkpoint: SignedCheckpoint }> {
  const cp = await fetchCheckpoint(src, cfg.logVkey);
  const known = loadWitnessState(cfg.stateFile).logs[cp.origin];
  const oldSize = known?.size ?? 0;
  let proof: Uint8Array[] = [];
  if (oldSize > cp.size)
    throw new WitnessRefusal(409, 'WITNESS_ROLLBACK', `log ${cp.origin} now presents size ${cp.size}, smaller than the size ${oldSize} this witness already cosigned: the log rolled back or forked`, { file: src.target }, oldSize);
  if (oldSize > 0 && oldSize < cp.size) proof = await new TileReader(src.fetch, cp.size, { file: src.target }).consistencyProof(oldSize);
  const logs = new Map(cfg.logs);
  logs.set(cp.origin, cfg.logVkey);
  const { line } = await addCheckpoint({ ...cfg, logs }, { oldSize, proof, note: cp.noteText });
  return { cosigned: withCosignatures(cp.noteText, [line]), line, oldSize, checkpoint: cp };
}
