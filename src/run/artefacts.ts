import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processRedactor } from '../common/secrets.js';
import { AssayError } from '../common/errors.js';

/**
 * A content-addressed artefact store beside a run log (`<log>.artefacts/sha256/<hex>`), shared by
 * the engine (large model answers, raw bodies) and the agent executor (workspace files, command
 * output). Log records stay small and bounded: they carry an `ArtefactRef` instead of the bytes.
 * Files are immutable and named by their digest, so writing the same bytes twice is a no-op and
 * concurrent writers cannot corrupt each other (write-temp, fsync, rename).
 */
export interface ArtefactRef {
  /** "sha256:<hex>" of the bytes. */
  artefact: string;
  size: number;
  mediaType?: string;
}

const HEX = /^sha256:([0-9a-f]{64})$/;

export function artefactDir(runLogPath: string): string {
  return `${runLogPath}.artefacts`;
}

function fileFor(dir: string, digest: string): string {
  const m = HEX.exec(digest);
  if (!m) throw new AssayError('ARTEFACT_BAD_DIGEST', `not an artefact digest: ${JSON.stringify(digest).slice(0, 80)}`);
  return join(dir, 'sha256', m[1]!);
}

/** Stores `bytes` durably and returns its reference. */
export function putArtefact(dir: string, bytes: Uint8Array | string, mediaType?: string): ArtefactRef {
  // Text artefacts pass the secret redactor like every run-log record (binary ones are stored as given).
  const red = processRedactor();
  const buf = typeof bytes === 'string' ? Buffer.from(red.secrets.length ? red.redact(bytes) : bytes, 'utf8') : bytes;
  const digest = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
  const file = fileFor(dir, digest);
  if (!existsSync(file)) {
    mkdirSync(join(dir, 'sha256'), { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }
  return mediaType ? { artefact: digest, size: buf.length, mediaType } : { artefact: digest, size: buf.length };
}

/** Reads an artefact and checks its digest; a missing or altered file is an error naming it. */
export function getArtefact(dir: string, ref: ArtefactRef | string): Buffer {
  const digest = typeof ref === 'string' ? ref : ref.artefact;
  const file = fileFor(dir, digest);
  if (!existsSync(file)) throw new AssayError('ARTEFACT_MISSING', `artefact ${digest} is missing`, { file });
  const buf = readFileSync(file);
  const got = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
  if (got !== digest) throw new AssayError('ARTEFACT_CORRUPT', `artefact ${digest} does not match its content (${got})`, { file });
  return buf;
}

export function isArtefactRef(x: unknown): x is ArtefactRef {
  return typeof x === 'object' && x !== null && typeof (x as ArtefactRef).artefact === 'string' && HEX.test((x as ArtefactRef).artefact) && Number.isSafeInteger((x as ArtefactRef).size);
}
