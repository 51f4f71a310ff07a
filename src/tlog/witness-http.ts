import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AssayError, type Location } from '../common/errors.js';
import { openCheckpoint, parseCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import type { LogSource } from './client.js';
import { ed25519Verifier, parseNote } from './note.js';
import { TileReader } from './tiles.js';
import { fetchBounded } from './http.js';
import { WitnessRefusal, addCheckpoint, formatAddCheckpoint, parseAddCheckpoint, withCosignatures, type WitnessConfig } from './witness.js';

/**
 * Push-mode witnessing over HTTP, per C2SP tlog-witness: the log (or anyone holding its
 * checkpoint) POSTs `<witness>/add-checkpoint` with
 *
 *   old <size the witness last cosigned>\n <consistency proof hash, base64>\n* \n <signed checkpoint>
 *
 * and gets back `200` with the witness's cosignature line(s), or `409 Conflict` with
 * `Content-Type: text/x.tlog.size` and the size the witness knows (the client retries with a proof
 * from that size), `403` (bad log signature), `404` (unknown log), `422` (inconsistent: a fork),
 * `400` (malformed). The witness logic is src/tlog/witness.ts (addCheckpoint, under its lock).
 */

export const ADD_CHECKPOINT_PATH = '/add-checkpoint';
const MAX_BODY = 128 * 1024; // a checkpoint note (≤ 64 KiB) and at most 63 proof hashes

export interface ServedWitness {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function serveWitness(cfg: WitnessConfig, opts: { port?: number; host?: string } = {}): Promise<ServedWitness> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if ((req.url ?? '').split('?')[0] !== ADD_CHECKPOINT_PATH) return send(404, 'not found\n');
    if (req.method !== 'POST') return send(405, 'method not allowed\n');
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of req) {
        n += (c as Buffer).length;
        if (n <= MAX_BODY) chunks.push(c as Buffer);
      }
    } catch {
      return send(400, 'request body was not received whole\n');
    }
    if (n > MAX_BODY) return send(413, `request larger than ${MAX_BODY} bytes\n`);
    try {
      const r = await addCheckpoint(cfg, parseAddCheckpoint(Buffer.concat(chunks).toString('utf8')));
      send(200, r.line);
    } catch (err) {
      if (err instanceof WitnessRefusal) {
        if (err.status === 409 && err.knownSize !== undefined) return send(409, `${err.knownSize}\n`, 'text/x.tlog.size');
        return send(err.status, `${err.problem}\n`);
      }
      send(500, 'internal error\n');
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${host}:${addr.port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

/** A witness answered 409 naming a size larger than the checkpoint offered. */
export class WitnessAhead extends AssayError {
  constructor(
    readonly knownSize: number,
    problem: string,
    location: Location,
  ) {
    super('WITNESS_REFUSED', problem, location);
  }
}

/** Quorum not met; `aheadSize`: the largest size a refusing witness had already cosigned beyond the offered checkpoint. */
export class QuorumNotMet extends AssayError {
  constructor(
    problem: string,
    readonly aheadSize: number | null,
  ) {
    super('WITNESS_QUORUM', problem);
  }
}

/**
 * Asks one witness to cosign `note` (a checkpoint of the log at `src`), first claiming `oldSize`
 * (0 when unknown); on 409 retries once with a consistency proof from the size the witness
 * names, built from the log's tiles. Returns the witness's cosignature line(s).
 */
export async function requestCosignature(witnessUrl: string, note: string, src: LogSource, currentSize?: number, oldSize = 0): Promise<string> {
  const cp = parseCheckpoint(parseNote(note).text);
  const post = async (old: number): Promise<{ status: number; type: string; text: string }> => {
    const proof = old > 0 && old < cp.size ? await new TileReader(src.fetch, cp.size, { file: src.target }, currentSize).consistencyProof(old) : [];
    // One deadline and a byte cap (src/tlog/http.ts): a cosignature answer is a line or two.
    const res = await fetchBounded(
      new URL(ADD_CHECKPOINT_PATH.slice(1), witnessUrl.endsWith('/') ? witnessUrl : `${witnessUrl}/`),
      { method: 'POST', body: formatAddCheckpoint({ oldSize: old, proof, note }), headers: { 'Content-Type': 'text/plain; charset=utf-8' } },
      { maxBytes: 64 * 1024, code: 'WITNESS_UNREACHABLE', target: witnessUrl },
    );
    return { status: res.status, type: res.contentType, text: res.body.toString('utf8') };
  };
  let r = await post(oldSize);
  // Another client may advance the witness between our two requests: follow it a few times.
  for (let tries = 0; r.status === 409 && r.type.startsWith('text/x.tlog.size') && tries < 8; tries++) {
    const known = Number(r.text.trim());
    if (!Number.isSafeInteger(known) || known < 0) throw new AssayError('WITNESS_REFUSED', `witness answered 409 with a size that is not a number: ${JSON.stringify(r.text.slice(0, 40))}`, { file: witnessUrl });
    if (known > cp.size) throw new WitnessAhead(known, `witness has already cosigned size ${known} of this log, larger than ${cp.size}: a newer checkpoint was cosigned meanwhile (or the log rolled back or forked)`, { file: witnessUrl });
    r = await post(known);
  }
  if (r.status !== 200) throw new AssayError('WITNESS_REFUSED', `witness refused to cosign (HTTP ${r.status}): ${r.text.trim()}`, { file: witnessUrl });
  if (!r.text.startsWith('— ')) throw new AssayError('WITNESS_REFUSED', 'witness answered 200 without a cosignature line', { file: witnessUrl });
  return r.text.endsWith('\n') ? r.text : `${r.text}\n`;
}

/**
 * Collects cosignatures on `note` from the witnesses (in parallel) until `required` of them have
 * answered; throws WITNESS_QUORUM naming each refusal otherwise. Returns the cosigned note.
 */
export async function gatherCosignatures(note: string, logVkey: string, src: LogSource, witnessUrls: readonly string[], required: number, currentSize?: number): Promise<{ note: string; checkpoint: SignedCheckpoint; witnesses: string[] }> {
  const results = await Promise.allSettled(witnessUrls.map((u) => requestCosignature(u, note, src, currentSize)));
  const lines: string[] = [];
  const ok: string[] = [];
  const refused: string[] = [];
  let ahead: number | null = null;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      lines.push(r.value);
      ok.push(witnessUrls[i]!);
    } else {
      const e = r.reason as Error;
      refused.push(e instanceof AssayError && e.location?.file === witnessUrls[i] ? e.message : `${witnessUrls[i]}: ${e.message}`);
      if (e instanceof WitnessAhead) ahead = Math.max(ahead ?? 0, e.knownSize);
    }
  });
  if (ok.length < required) throw new QuorumNotMet(`${ok.length} of the required ${required} witnesses cosigned the checkpoint; ${refused.join('; ')}`, ahead);
  const cosigned = withCosignatures(note, lines);
  return { note: cosigned, checkpoint: openCheckpoint(cosigned, [ed25519Verifier(logVkey)]), witnesses: ok };
}
