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
import { LocalLog, attachCosignatures, isLogDir } from '../../tlog/storage.js';
import { hasLogConfig, initLog, openConfiguredLog, readLogConfig } from '../../tlog/config.js';
import { TileReader } from '../../tlog/tiles.js';
import { loadWitnessState, witnessLog } from '../../tlog/witness.js';
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

const defaultKeyFile = (origin: string) => join(assayHome(), 'keys', `tlog-${origin.replace(/[^A-Za-z0-9._-]+/g, '_')}.pem`);
const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** A vkey given inline or as a file holding one. */
function vkeyArg(v: string): string {
  const text = existsSync(v) ? readFileSync(v, 'utf8').trim() : v.trim();
  parseVkey(text, existsSync(v) ? { file: v } : { field: '--vkey' });
  return text;
}

/** For a local log, the verifier key from its config when none is given (not for URLs). */
function vkeyFor(target: string, given?: string): string {
  if (given) return vkeyArg(given);
  if (!/^https?:\/\//i.test(target) && hasLogConfig(target)) return readLogConfig(target).vkey;
  throw new AssayError('USAGE', 'pass --vkey <name+keyid+key> (the log operator publishes it)', { file: target });
}

export function register(program: Command): void {
  const log = program.command('log').description('Transparency log: append digests, publish signed checkpoints, prove inclusion and consistency, witness');

  log
    .command('init')
    .description('Create a log directory; prints its verifier key (vkey)')
    .argument('<dir>', 'log directory (its contents are what gets published)')
    .requiredOption('--origin <name>', 'log identity, e.g. example.org/assay/log/v1 (no spaces or "+")')
    .option('--key <file>', 'Ed25519 PKCS#8 PEM key that signs checkpoints (created, mode 0600, if missing); default $ASSAY_HOME/keys/tlog-<origin>.pem')
    .action((dir: string, o: { origin: string; key?: string }) => {
      const { config, createdKey } = initLog(dir, o.origin, o.key ?? defaultKeyFile(o.origin));
      err(`${createdKey ? 'created key' : 'using key'} ${config.keyFile}\nlog ${o.origin} initialised in ${dir}; verifier key:\n`);
      out(`${config.vkey}\n`);
    });

  log
    .command('append')
    .description('Append the SHA-256 digest of each file as one batch; prints index, digest and file')
    .argument('<dir>', 'log directory')
    .argument('<file...>', 'files to log (their digests, not their contents)')
    .option('--key <file>', 'signing key (default: the one recorded at init)')
    .action(async (dir: string, files: string[], o: { key?: string }) => {
      const entries = await Promise.all(files.map((f) => fileEntry(f)));
      const l = await openLog(dir, o.key);
      try {
        const r = await l.append(entries);
        files.forEach((f, i) => out(`${r.indices[i]}\t${JSON.parse(new TextDecoder().decode(entries[i]!)).digest as string}\t${f}\n`));
        err(`log size ${r.size}\n`);
      } finally {
        l.close();
      }
    });

  log
    .command('checkpoint')
    .description('Print the current signed checkpoint (recovering an interrupted batch first)')
    .argument('<dir>', 'log directory')
    .option('--key <file>', 'signing key (default: the one recorded at init)')
    .action(async (dir: string, o: { key?: string }) => {
      const l = await openLog(dir, o.key);
      try {
        out(l.checkpoint());
      } finally {
        l.close();
      }
    });

  log
    .command('prove')
    .description('Print an offline inclusion proof (c2sp.org/tlog-proof@v1) for entry N against the current checkpoint')
    .argument('<log>', 'log directory or http(s) URL')
    .requiredOption('--index <n>', 'entry index', int(0))
    .option('--size <m>', 'tree size (default: current). An older size prints the bare audit path and the root recomputed from tiles', int(1))
    .option('--vkey <vkey>', "log's verifier key (default for a local log: its own)")
    .option('--out <file>', 'write the proof here instead of stdout')
    .action(async (target: string, o: { index: number; size?: number; vkey?: string; out?: string }) => {
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
    });

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
    .action(async (target: string | undefined, o: { vkey: string; entryFile?: string; index?: number; proof?: string; oldCheckpoint?: string; witness?: string[]; witnessesRequired?: number }) => {
      const vkey = vkeyArg(o.vkey);
      const witnesses = (o.witness ?? []).map(vkeyArg);
      const k = o.witnessesRequired ?? witnesses.length;
      if (o.proof) {
        if (!o.entryFile) throw new AssayError('USAGE', '--proof needs --entry-file (the logged file)');
        const r = verifyTlogProof(readFileSync(o.proof, 'utf8'), await fileEntry(o.entryFile), { logVkey: vkey, witnessVkeys: witnesses, witnessesRequired: k, where: { file: o.proof } });
        out(`OK   ${o.entryFile} is entry ${r.index} of ${r.checkpoint.origin} at size ${r.checkpoint.size} (offline proof)\n`);
        if (r.witnesses) out(`OK   cosigned by ${r.witnesses.witnesses.map((w) => w.name).join(', ')}\n`);
        return;
      }
      if (!target) throw new AssayError('USAGE', 'name the log (directory or URL), or pass --proof for offline verification');
      const src = logSource(target);
      const cp = await fetchCheckpoint(src, vkey);
      out(`OK   checkpoint of ${cp.origin}: size ${cp.size}, root ${b64(cp.root)}\n`);
      if (witnesses.length || o.witnessesRequired) {
        const w = requireCosignatures(cp.note, witnesses, k, { file: target });
        out(`OK   cosigned by ${w.witnesses.length} of ${witnesses.length} witnesses (${w.witnesses.map((x) => x.name).join(', ')}), ${k} required\n`);
      }
      if (o.oldCheckpoint) {
        const old = openCheckpoint(readFileSync(o.oldCheckpoint, 'utf8'), [ed25519Verifier(vkey)], { origin: cp.origin, where: { file: o.oldCheckpoint } });
        await verifyCheckpointConsistency(src, old, cp);
        out(`OK   consistent with the checkpoint of size ${old.size} in ${o.oldCheckpoint}\n`);
      }
      if (o.entryFile) {
        const r = await verifyEntryInclusion(src, cp, await fileEntry(o.entryFile), o.index);
        out(`OK   ${o.entryFile} is entry ${r.index} (proof of ${r.proof.length} hashes)\n`);
      }
    });

  log
    .command('serve')
    .description('Serve a log directory read-only over HTTP (checkpoint and tiles only)')
    .argument('<dir>', 'log directory')
    .option('--port <n>', 'port (0: any free port)', int(0, 65535), 8089)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--submit-token-file <file>', `also accept entries by POST ${SUBMIT_PATH} from clients presenting this bearer token (holds the writer lock)`)
    .action(async (dir: string, o: { port: number; host: string; submitTokenFile?: string }) => {
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
    });

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
    .action(async (target: string, o: { state: string; key: string; logVkey: string; name: string; attach?: boolean; out?: string }) => {
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
    });
}
