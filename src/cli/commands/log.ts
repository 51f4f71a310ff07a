import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { assayHome } from '../../home.js';
import { openCheckpoint } from '../../tlog/checkpoint.js';
import {
  SUBMIT_PATH, fetchCheckpoint, formatTlogProof, logSource, proveFromSource, serve, verifyCheckpointConsistency, verifyEntryInclusion, verifyTlogProof,
} from '../../tlog/client.js';
import { cosigner, requireCosignatures } from '../../tlog/cosignature.js';
import { fileEntry } from '../../tlog/entry.js';
import { loadOrCreatePrivateKey } from '../../tlog/keyfile.js';
import { ed25519Verifier, parseVkey } from '../../tlog/note.js';
import { LocalLog, MAX_CHECKPOINT_FILE, attachCosignatures, isLogDir, readBounded } from '../../tlog/storage.js';
import { bytesEqual } from '../../tlog/merkle.js';
import { defaultSeenFile, observeCheckpoint, seenCheckpoint } from '../../tlog/seen.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditLog } from '../../tlog/audit.js';
import { hasLogConfig, initLog, openConfiguredLog, readLogConfig } from '../../tlog/config.js';
import { TileReader } from '../../tlog/tiles.js';
import { loadWitnessState, witnessLog } from '../../tlog/witness.js';
import { serveWitness } from '../../tlog/witness-http.js';
import { collect, int } from '../options.js';

/**
 * `assay log ...`: a transparency log of digests (docs/formats/tlog.md).
 *
 * A log directory holds the public tiles and checkpoint plus `.assay-log.json` (origin, key file
 * path, verifier key) which is never served. The private key lives outside the directory.
 */

function openLog(dir: string, keyFile?: string): Promise<LocalLog> {
  return openConfiguredLog(dir, keyFile);
}

/** A proof: up to 63 hashes and a checkpoint note. */
const MAX_PROOF_FILE = MAX_CHECKPOINT_FILE + 8192;

/** Reads a small text file (checkpoint, proof) without reading more than `max` bytes of it. */
function readText(file: string, max: number): string {
  try {
    return readBounded(file, max);
  } catch (e) {
    if (e instanceof AssayError) throw new AssayError('USAGE', `${e.problem.replace('checkpoint file', 'file')}: not a checkpoint or proof`, { file });
    throw new AssayError('FILE_READ', `cannot read: ${(e as Error).message}`, { file });
  }
}

const defaultKeyFile = (origin: string) => join(assayHome(), 'keys', `tlog-${origin.replace(/[^A-Za-z0-9._-]+/g, '_')}.pem`);
const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** A vkey given inline or as a file holding one. */
function vkeyArg(v: string): string {
  const text = existsSync(v) ? readText(v, 4096).trim() : v.trim();
  parseVkey(text, existsSync(v) ? { file: v } : { field: '--vkey' });
  return text;
}

/** For a local log, the verifier key from its config when none is given (not for URLs). */
function vkeyFor(target: string, given?: string): string {
  if (given) return vkeyArg(given);
  if (!/^https?:\/\//i.test(target) && hasLogConfig(target)) return readLogConfig(target).vkey;
  throw new AssayError('USAGE', 'pass --vkey <name+keyid+key> (the log operator publishes it)', { file: target });
}

/**
 * Exit codes of `assay log` commands (docs/formats/tlog.md §10): distinct per kind of finding, so
 * a monitor can tell a fork from a bad option or an unreachable log.
 */
export const LOG_EXIT = {
  ok: 0,
  usage: 2,
  io: 3,
  signature: 4,
  corrupt: 5,
  notIncluded: 6,
  witness: 7,
  fork: 8,
  locked: 9,
} as const;

export function logExitCode(code: string): number {
  if (code === 'USAGE' || code === 'LOG_EXISTS' || code.startsWith('KEY_')) return LOG_EXIT.usage;
  if (code === 'LOG_FETCH' || code === 'LOG_MISSING' || code === 'LOG_CONFIG' || code === 'FILE_READ' || code === 'LOG_SUBMIT' || code === 'SEEN_STATE' || code === 'WITNESS_STATE' || code === 'LOCK_FAILED') return LOG_EXIT.io;
  // Before the WITNESS_ prefix: a witness refusing because the log shrank is a rollback.
  if (code === 'WITNESS_ROLLBACK') return LOG_EXIT.fork;
  if (code.startsWith('NOTE_') || code.startsWith('CHECKPOINT_') || code === 'LOG_ORIGIN' || code === 'PROOF_FORMAT') return LOG_EXIT.signature;
  if (code === 'LOG_CORRUPT' || code.startsWith('TILE_') || code === 'ENTRY_FORMAT' || code === 'AUDIT_CORRUPT') return LOG_EXIT.corrupt;
  if (code === 'NOT_IN_LOG' || code === 'INCLUSION_INVALID') return LOG_EXIT.notIncluded;
  if (code.startsWith('WITNESS_') || code === 'COSIGNATURE_INVALID') return LOG_EXIT.witness;
  if (code === 'SPLIT_VIEW' || code === 'ROLLBACK' || code === 'AUDIT_FORK') return LOG_EXIT.fork;
  if (code === 'LOCKED') return LOG_EXIT.locked;
  return LOG_EXIT.usage;
}

/** Runs a `log` action; an AssayError exits with the code of its kind (not the generic 2). */
function guarded<A extends unknown[]>(fn: (...a: A) => unknown): (...a: A) => Promise<void> {
  return async (...a: A) => {
    try {
      await fn(...a);
    } catch (e) {
      // An operating-system error (EACCES, ENOTDIR, ENOSPC, EIO …) on the log or a state file: exit 3, one line.
      const errno = (e as NodeJS.ErrnoException | null)?.code;
      if (!(e instanceof AssayError) && typeof errno === 'string' && /^E[A-Z]+$/.test(errno) && typeof (e as NodeJS.ErrnoException).syscall === 'string') {
        err(`assay: error [IO]: ${(e as Error).message}\n`);
        process.exit(LOG_EXIT.io);
      }
      if (!(e instanceof AssayError)) throw e;
      err(`assay: error [${e.code}]: ${e.message}\n`);
      process.exit(logExitCode(e.code));
    }
  };
}

export function register(program: Command): void {
  const log = program
    .command('log')
    .description('Transparency log: append digests, publish signed checkpoints, prove inclusion and consistency, audit, witness')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 2 usage, 3 cannot read the log or a state file, 4 bad signature or malformed checkpoint/proof,\n5 log corrupt (tiles or bundles do not reproduce the checkpoint), 6 entry not in the log, 7 witness quorum not met or witness refused,\n8 fork or rollback (split view, inconsistent or smaller checkpoint), 9 log locked by another writer (timed out).\nFormat: docs/formats/tlog.md',
    );

  log
    .command('init')
    .description('Create a log directory; prints its verifier key (vkey)')
    .argument('<dir>', 'log directory (its contents are what gets published)')
    .requiredOption('--origin <name>', 'log identity, e.g. example.org/assay/log/v1 (no spaces or "+")')
    .option('--key <file>', 'Ed25519 PKCS#8 PEM key that signs checkpoints (created, mode 0600, if missing); default $ASSAY_HOME/keys/tlog-<origin>.pem')
    .action(guarded((dir: string, o: { origin: string; key?: string }) => {
      const { config, createdKey } = initLog(dir, o.origin, o.key ?? defaultKeyFile(o.origin));
      err(`${createdKey ? 'created key' : 'using key'} ${config.keyFile}\nlog ${o.origin} initialised in ${dir}; verifier key:\n`);
      out(`${config.vkey}\n`);
    }));

  log
    .command('append')
    .description('Append the SHA-256 digest of each file as one batch; prints index, digest and file')
    .argument('<dir>', 'log directory')
    .argument('<file...>', 'files to log (their digests, not their contents)')
    .option('--key <file>', 'signing key (default: the one recorded at init)')
    .action(guarded(async (dir: string, files: string[], o: { key?: string }) => {
      const entries = await Promise.all(files.map((f) => fileEntry(f)));
      const l = await openLog(dir, o.key);
      try {
        const r = await l.append(entries);
        files.forEach((f, i) => out(`${r.indices[i]}\t${JSON.parse(new TextDecoder().decode(entries[i]!)).digest as string}\t${f}\n`));
        err(`log size ${r.size}\n`);
      } finally {
        l.close();
      }
    }));

  log
    .command('checkpoint')
    .description('Print the current signed checkpoint (recovering an interrupted batch first)')
    .argument('<dir>', 'log directory')
    .option('--key <file>', 'signing key (default: the one recorded at init)')
    .action(guarded(async (dir: string, o: { key?: string }) => {
      const l = await openLog(dir, o.key);
      try {
        out(l.checkpoint());
      } finally {
        l.close();
      }
    }));

  log
    .command('prove')
    .description('Print an offline inclusion proof (c2sp.org/tlog-proof@v1) for entry N against the current checkpoint')
    .argument('<log>', 'log directory or http(s) URL')
    .requiredOption('--index <n>', 'entry index', int(0))
    .option('--size <m>', 'tree size (default: current). An older size prints the bare audit path and the root recomputed from tiles', int(1))
    .option('--vkey <vkey>', "log's verifier key (default for a local log: its own)")
    .option('--out <file>', 'write the proof here instead of stdout')
    .action(guarded(async (target: string, o: { index: number; size?: number; vkey?: string; out?: string }) => {
      const src = logSource(target);
      const vkey = vkeyFor(target, o.vkey);
      const cp = await fetchCheckpoint(src, vkey);
      let text: string;
      if (o.size === undefined || o.size === cp.size) {
        text = formatTlogProof((await proveFromSource(src, vkey, o.index)).proof);
      } else {
        if (o.size > cp.size) throw new AssayError('USAGE', `size ${o.size} is beyond the log's checkpoint (size ${cp.size})`, { file: target });
        if (o.index >= o.size) throw new AssayError('USAGE', `index ${o.index} is outside a tree of size ${o.size}`);
        const r = new TileReader(src.fetch, o.size, { file: target }, cp.size);
        text = `size ${o.size}\nroot ${b64(await r.root())}\nindex ${o.index}\n${(await r.inclusionProof(o.index)).map((h) => `${b64(h)}\n`).join('')}`;
      }
      if (o.out) writeFileSync(o.out, text);
      else out(text);
    }));

  log
    .command('verify')
    .description("Verify the log's checkpoint signature, and optionally an entry's inclusion, consistency with an older checkpoint, witness cosignatures")
    .argument('[log]', 'log directory or http(s) URL (omit with --proof for offline verification)')
    .requiredOption('--vkey <vkey>', "log's verifier key (name+keyid+key, or a file holding it)")
    .option('--entry-file <file>', 'check that this file (its digest) is in the log')
    .option('--index <n>', 'index of the entry (skips the search through the bottom tiles)', int(0))
    .option('--proof <file>', 'offline: a tlog-proof file; checks --entry-file against it without contacting the log')
    .option('--old-checkpoint <file>', 'an earlier checkpoint of this log: prove the current one extends it (detects split views)')
    .option('--witness <vkey>', 'a witness key (repeatable)', collect)
    .option('--witnesses-required <k>', 'require cosignatures from k of the --witness keys (default: all)', int(0))
    .option('--seen-state <file>', 'largest checkpoint seen per log: fail on a smaller or inconsistent one, record a larger (default $ASSAY_HOME/tlog/seen.json)')
    .action(guarded(async (target: string | undefined, o: { vkey: string; entryFile?: string; index?: number; proof?: string; oldCheckpoint?: string; witness?: string[]; witnessesRequired?: number; seenState?: string }) => {
      const vkey = vkeyArg(o.vkey);
      const witnesses = (o.witness ?? []).map(vkeyArg);
      const k = o.witnessesRequired ?? witnesses.length;
      if (o.proof) {
        if (!o.entryFile) throw new AssayError('USAGE', '--proof needs --entry-file (the logged file)');
        const r = verifyTlogProof(readText(o.proof, MAX_PROOF_FILE), await fileEntry(o.entryFile), { logVkey: vkey, witnessVkeys: witnesses, witnessesRequired: k, where: { file: o.proof } });
        out(`OK   ${o.entryFile} is entry ${r.index} of ${r.checkpoint.origin} at size ${r.checkpoint.size} (offline proof)\n`);
        if (r.witnesses) out(`OK   cosigned by ${r.witnesses.witnesses.map((w) => w.name).join(', ')}\n`);
        return;
      }
      if (!target) throw new AssayError('USAGE', 'name the log (directory or URL), or pass --proof for offline verification');
      const src = logSource(target);
      const cp = await fetchCheckpoint(src, vkey);
      out(`OK   checkpoint of ${cp.origin}: size ${cp.size}, root ${b64(cp.root)}\n`);
      // The tiles on the right edge must reproduce the signed root (`log audit` checks every file).
      const fromTiles = await new TileReader(src.fetch, cp.size, { file: target }).root();
      if (!bytesEqual(fromTiles, cp.root)) throw new AssayError('LOG_CORRUPT', `the log's tiles give root ${b64(fromTiles)} at size ${cp.size}, not the signed ${b64(cp.root)}; run \`assay log audit\``, { file: target });
      out(`OK   tiles reproduce the root (for every tile and entry bundle: assay log audit)\n`);
      const seenFile = o.seenState ?? defaultSeenFile();
      const seen = await observeCheckpoint(seenFile, vkey, cp, { current: true, src, srcSize: cp.size });
      out(seen.status === 'first' ? `OK   first checkpoint of this log seen here; recorded in ${seenFile}\n` : seen.status === 'same' ? `OK   same tree as the largest seen (${seenFile})\n` : seen.status === 'consistent' ? `OK   extends the largest checkpoint seen (size ${seen.seenSize}); recorded\n` : `WARN ${seen.why}\n`);
      if (witnesses.length || o.witnessesRequired) {
        const w = requireCosignatures(cp.note, witnesses, k, { file: target });
        out(`OK   cosigned by ${w.witnesses.length} of ${witnesses.length} witnesses (${w.witnesses.map((x) => x.name).join(', ')}), ${k} required\n`);
      }
      if (o.oldCheckpoint) {
        const old = openCheckpoint(readText(o.oldCheckpoint, MAX_CHECKPOINT_FILE), [ed25519Verifier(vkey)], { origin: cp.origin, where: { file: o.oldCheckpoint } });
        await verifyCheckpointConsistency(src, old, cp);
        out(`OK   consistent with the checkpoint of size ${old.size} in ${o.oldCheckpoint}\n`);
      }
      if (o.entryFile) {
        const r = await verifyEntryInclusion(src, cp, await fileEntry(o.entryFile), o.index);
        out(`OK   ${o.entryFile} is entry ${r.index} (proof of ${r.proof.length} hashes)\n`);
      }
    }));

  log
    .command('audit')
    .description('Recompute every tile and the root from the entry bundles, check every checkpoint held against the newest; optionally keep watching (monitor)')
    .argument('<log>', 'log directory or http(s) URL')
    .requiredOption('--vkey <vkey>', "log's verifier key (name+keyid+key, or a file holding it)")
    .option('--checkpoint <file>', 'another signed checkpoint of this log (e.g. from a witness, a report): must describe a prefix of the log (repeatable)', collect)
    .option('--seen-state <file>', 'largest checkpoint seen per log: checked too, and advanced (default $ASSAY_HOME/tlog/seen.json)')
    .option('--watch <seconds>', 'after the audit, poll the checkpoint every <seconds> and prove each new one extends the last; exit 8 on a fork or rollback', int(1))
    .option('--polls <n>', 'with --watch: stop after n polls (default: never)', int(1))
    .action(guarded(async (target: string, o: { vkey: string; checkpoint?: string[]; seenState?: string; watch?: number; polls?: number }) => {
      const vkey = vkeyArg(o.vkey);
      const src = logSource(target);
      const seenFile = o.seenState ?? defaultSeenFile();
      const held = (o.checkpoint ?? []).map((f) => ({ text: readText(f, MAX_CHECKPOINT_FILE), source: f }));
      const seen = seenCheckpoint(seenFile, vkey);
      if (seen) held.push({ text: seen.noteText, source: `${seenFile} (largest seen)` });
      const local = !/^https?:\/\//i.test(target);
      const r = await auditLog(src, vkey, { checkpoints: held, ...(local ? { localDir: target } : {}) });
      for (const p of r.problems) out(`${p.kind === 'corrupt' ? 'CORRUPT' : p.kind === 'fork' ? 'FORK' : 'ROLLBACK'} ${p.where}: ${p.message}\n`);
      for (const c of r.checkpoints) if (c.ok) out(`OK   ${c.source}: checkpoint of size ${c.size} is a prefix of the log\n`);
      out(`${r.problems.length ? 'FAILED' : 'OK  '} ${r.origin}: ${r.size} entries, ${r.filesChecked} files recomputed from the entry bundles, root ${r.root}\n`);
      const fork = r.problems.find((p) => p.kind !== 'corrupt');
      if (fork) throw new AssayError('AUDIT_FORK', `${r.problems.length} problem(s); the log forked or rolled back`, { file: target });
      if (r.problems.length) throw new AssayError('AUDIT_CORRUPT', `${r.problems.length} problem(s); the published files do not match the entries`, { file: target });
      const cp = await fetchCheckpoint(src, vkey);
      await observeCheckpoint(seenFile, vkey, cp, { current: true, src, srcSize: cp.size });
      if (!o.watch) return;
      let last = cp;
      for (let n = 0; o.polls === undefined || n < o.polls; n++) {
        await sleep(o.watch * 1000);
        let now;
        try {
          now = await fetchCheckpoint(src, vkey);
        } catch (e) {
          if ((e as AssayError).code !== 'LOG_FETCH') throw e;
          err(`WARN ${(e as Error).message}\n`);
          continue;
        }
        if (now.size === last.size && bytesEqual(now.root, last.root)) continue;
        try {
          await verifyCheckpointConsistency(src, last, now);
          await observeCheckpoint(seenFile, vkey, now, { current: true, src, srcSize: now.size });
        } catch (e) {
          out(`ALERT ${(e as Error).message}\n`);
          throw e;
        }
        out(`OK   ${now.origin} grew from ${last.size} to ${now.size} entries, consistently\n`);
        last = now;
      }
    }));

  log
    .command('serve')
    .description('Serve a log directory read-only over HTTP (checkpoint and tiles only)')
    .argument('<dir>', 'log directory')
    .option('--port <n>', 'port (0: any free port)', int(0, 65535), 8089)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--submit-token-file <file>', `also accept entries by POST ${SUBMIT_PATH} from clients presenting this bearer token (holds the writer lock)`)
    .action(guarded(async (dir: string, o: { port: number; host: string; submitTokenFile?: string }) => {
      if (!isLogDir(dir)) throw new AssayError('LOG_MISSING', 'no checkpoint here: not a log directory', { file: dir });
      let log: LocalLog | null = null;
      let token = '';
      if (o.submitTokenFile) {
        token = readFileSync(o.submitTokenFile, 'utf8').trim();
        if (token.length < 16) throw new AssayError('USAGE', 'the submit token must be at least 16 characters', { file: o.submitTokenFile });
        log = await openLog(dir);
      }
      const s = await serve(dir, { port: o.port, host: o.host, ...(log ? { submit: { log, token } } : {}) });
      out(`serving ${dir} at ${s.url}${log ? ` (accepting entries at ${SUBMIT_PATH})` : ''}\n`);
      await new Promise<void>((ok) => {
        const stop = () => void s.close().then(ok);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      log?.close();
    }));

  log
    .command('witness-serve')
    .description('Run a witness over HTTP: POST /add-checkpoint (C2SP tlog-witness, push mode) cosigns checkpoints of the logs it follows that extend what it cosigned before')
    .requiredOption('--state <file>', 'witness state (last cosigned checkpoint per log)')
    .requiredOption('--key <file>', 'witness Ed25519 PKCS#8 PEM key (created, mode 0600, if missing)')
    .requiredOption('--log-vkey <vkey>', "verifier key of a log to follow (repeatable)", collect)
    .option('--name <name>', 'witness name (its cosignature key name)', 'assay-witness')
    .option('--port <n>', 'port (0: any free port)', int(0, 65535), 8090)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(guarded(async (o: { state: string; key: string; logVkey: string[]; name: string; port: number; host: string }) => {
      const { key, created } = loadOrCreatePrivateKey(o.key);
      const c = cosigner(o.name, key);
      if (created) err(`created witness key ${o.key}\n`);
      const logs = new Map(o.logVkey.map((v) => vkeyArg(v)).map((v) => [parseVkey(v).name, v] as const));
      const s = await serveWitness({ stateFile: o.state, cosigner: c, logs }, { port: o.port, host: o.host });
      out(`witness ${c.vkey}\nlistening at ${s.url} (POST add-checkpoint) for ${[...logs.keys()].join(', ')}\n`);
      await new Promise<void>((ok) => {
        const stop = () => void s.close().then(ok);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));

  log
    .command('witness')
    .description("Cosign the log's checkpoint if it is consistent with the last one this witness cosigned; prints the cosigned checkpoint")
    .argument('<log>', 'log directory or http(s) URL')
    .requiredOption('--state <file>', 'witness state (last cosigned checkpoint per log)')
    .requiredOption('--key <file>', 'witness Ed25519 PKCS#8 PEM key (created, mode 0600, if missing)')
    .requiredOption('--log-vkey <vkey>', "log's verifier key")
    .option('--name <name>', 'witness name (its cosignature key name)', 'assay-witness')
    .option('--attach', 'for a local log: add the cosignature to its published checkpoint')
    .option('--out <file>', 'also write the cosigned checkpoint here')
    .action(guarded(async (target: string, o: { state: string; key: string; logVkey: string; name: string; attach?: boolean; out?: string }) => {
      const { key, created } = loadOrCreatePrivateKey(o.key);
      const c = cosigner(o.name, key);
      if (created) err(`created witness key ${o.key}; witness verifier key:\n${c.vkey}\n`);
      const logVkey = vkeyArg(o.logVkey);
      const before = loadWitnessState(o.state).logs[parseVkey(logVkey).name]?.size ?? 0;
      const r = await witnessLog(logSource(target), { stateFile: o.state, cosigner: c, logs: new Map(), logVkey });
      err(`cosigned ${r.checkpoint.origin} at size ${r.checkpoint.size} (consistent with size ${before})\n`);
      if (o.attach) {
        if (/^https?:\/\//i.test(target)) throw new AssayError('USAGE', '--attach needs a local log directory');
        const n = await attachCosignatures(target, r.cosigned);
        if (!n) err('the log published a newer checkpoint meanwhile; cosignature not attached\n');
      }
      if (o.out) writeFileSync(o.out, r.cosigned);
      out(r.cosigned);
    }));
}
