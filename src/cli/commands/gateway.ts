import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AssayError } from '../../common/errors.js';
import { sha256Hex } from '../../common/canonical.js';
import { digestOfFile } from '../../attest/digest.js';
import { parseEnvelope } from '../../attest/dsse.js';
import { loadSigner, parsePublicKey } from '../../attest/keys.js';
import { iterateSamples } from '../../run/log-reader.js';
import { hasLogConfig, openConfiguredLog, readLogConfig } from '../../tlog/config.js';
import { formatTlogProof, logSource, parseTlogProof, proveFromSource } from '../../tlog/client.js';
import { encodeEntry } from '../../tlog/entry.js';
import { parseVkey } from '../../tlog/note.js';
import { ADMIN_HEADER, grantEntry, signAdminRequest } from '../../gateway/admin.js';
import { jwkThumbprint } from '../../gateway/dpop.js';
import type { JWK } from 'jose';
import { AppendTree, hex } from '../../gateway/tree.js';
import { ACCESS_LEVELS, type AccessLevel } from '../../model/types.js';
import { RECORD_SCHEMA, recordSchema, openRecord, parseOpening, verifyChain, nonceFor, commitContent, commitmentOf, type AccessRecord } from '../../gateway/commit.js';
import { gatewayDbFile, loadGatewayConfig, type GatewayConfig } from '../../gateway/config.js';
import { accessKey, defaultGrant, deriveCommitKey, issueGrantToken, splitAccessKey, tokenDigest, type Grant, type GrantClaims } from '../../gateway/grant.js';
import { checkAnchor, formatExport, formatProofs, headEntry, isProofsBundle, openHead, signHeadV2, verifyLogFile, verifyOpening } from '../../gateway/head.js';
import { loadRelease, signRelease } from '../../gateway/release.js';
import { startGateway } from '../../gateway/server.js';
import { GatewayStore } from '../../gateway/store.js';
import { collect, int, num } from '../options.js';
import { table } from './run.js';
import { readInput } from '../input.js';

/**
 * `assay gateway …` (serve, log, open, verify-opening), `assay grant …` (issue, list, revoke,
 * access-key) and `assay release …` (sign, show). Formats: docs/formats/gateway.md.
 */

const out = (s: string) => void process.stdout.write(s);

/** "90s", "30m", "24h", "7d" or plain seconds. */
export function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 24h or 7d');
  const n = Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!]!;
  if (!(n > 0)) throw new InvalidArgumentError('a duration must be positive');
  return n;
}

const sha256Arg = (v: string): string => {
  if (!/^sha256:[0-9a-f]{64}$/.test(v)) throw new InvalidArgumentError('expected sha256:<64 lowercase hex>');
  return v;
};

async function withStore<T>(c: GatewayConfig, f: (s: GatewayStore) => Promise<T>): Promise<T> {
  const s = await GatewayStore.open(gatewayDbFile(c));
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

/** Reads a tester secret (≥ 32 bytes, base64url text or raw), creating it mode 0600 when asked. */
function testerSecret(file: string, create: boolean): Buffer {
  if (!existsSync(file)) {
    if (!create) throw new AssayError('IO', 'tester secret not found (create one with --create-secret)', { file });
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
    if (process.platform !== 'win32') chmodSync(file, 0o600);
  }
  const text = readInput(file, 'tester secret').toString('utf8').trim();
  const key = /^[A-Za-z0-9_-]{43,}$/.test(text) ? Buffer.from(text, 'base64url') : Buffer.from(text, 'utf8');
  if (key.length < 32) throw new AssayError('USAGE', 'tester secret must hold at least 32 bytes', { file });
  return key;
}

/** The commitment key for a grant: from --commit-key, or derived from --secret and the token's jti. */
function commitKeyFrom(f: { secret?: string; token?: string; commitKey?: string; accessKey?: string }): Buffer {
  if (f.accessKey) {
    const k = splitAccessKey(readInput(f.accessKey, 'access key').toString('utf8').trim()).commitKey;
    if (!k) throw new AssayError('USAGE', 'the access key has no commitment key part');
    return k;
  }
  if (f.commitKey) return Buffer.from(f.commitKey, 'base64url');
  if (!f.secret || !f.token) throw new AssayError('USAGE', 'give --secret and --token (or --access-key, or --commit-key)');
  const token = readInput(f.token, 'grant token').toString('utf8').trim().split('~')[0]!;
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: string };
  if (typeof payload.jti !== 'string') throw new AssayError('USAGE', 'not a grant token (no jti)', { file: f.token });
  return deriveCommitKey(testerSecret(f.secret, false), payload.jti);
}

function gatewayKey(c: GatewayConfig, key?: string) {
  const ref = key ?? c.key;
  return loadSigner(ref);
}

/** A log verifier key: vkey text, a file holding one, or a local log directory (its own key). */
function vkeyText(v: string): string {
  if (existsSync(v) && hasLogConfig(v)) return readLogConfig(v).vkey;
  const text = existsSync(v) ? readInput(v, 'verifier key').toString('utf8').trim() : v.trim();
  parseVkey(text, existsSync(v) ? { file: v } : { field: 'vkey' });
  return text;
}

/** Calls a running gateway's admin API, signed with the gateway key. */
async function adminCall(c: GatewayConfig, base: string, method: string, path: string, body?: unknown, key?: string): Promise<any> {
  const signer = gatewayKey(c, key);
  const text = body === undefined ? '' : JSON.stringify(body);
  const url = `${base.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), [ADMIN_HEADER]: signAdminRequest(signer, method, path, text) }, ...(body === undefined ? {} : { body: text }) });
  } catch (err) {
    throw new AssayError('IO', `cannot reach the gateway at ${base}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const json = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!res.ok) throw new AssayError('GATEWAY_ADMIN', json?.error?.message ?? `HTTP ${res.status}`);
  return json;
}

/** Opens an output file before anything is issued, so a grant never exists without its token written. */
function openOut(file: string): number {
  try {
    return openSync(resolve(file), 'wx', 0o600);
  } catch (err) {
    throw new AssayError('IO', `cannot create the token file: ${(err as Error).message}`, { file });
  }
}

function writeToken(fd: number | null, token: string): void {
  if (fd === null) return out(`${token}\n`);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

export function register(program: Command): void {
  const gateway = program.command('gateway').description('The access gateway: testers reach model endpoints only through grants (docs/formats/gateway.md)');

  gateway
    .command('serve')
    .description('Run the gateway (OpenAI chat completions and Anthropic Messages, streaming included)')
    .requiredOption('--config <file>', 'gateway config (assay.gateway-config/v1, YAML or JSON)')
    .option('--key <key>', 'gateway signing key (default: the config\'s key)')
    .option('--host <host>', 'listen address (default: the config\'s)')
    .option('--port <n>', 'listen port (default: the config\'s)', int(0, 65535))
    .action(async (f: { config: string; key?: string; host?: string; port?: number }) => {
      const c = loadGatewayConfig(f.config);
      const signer = gatewayKey(c, f.key);
      const store = await GatewayStore.open(gatewayDbFile(c));
      const tlog = c.tlog ? await openConfiguredLog(c.tlog.dir) : undefined;
      const gw = await startGateway({ config: c, signer, store, ...(tlog ? { tlog } : {}), listen: { ...(f.host ? { host: f.host } : {}), ...(f.port !== undefined ? { port: f.port } : {}) } });
      out(`gateway ${c.id} listening on ${gw.url} (key ${signer.keyId}, db ${gatewayDbFile(c)}${tlog ? `, heads anchored in ${c.tlog!.dir}` : ''})\n`);
      const stop = async (code: number) => {
        await gw.close();
        await store.close();
        tlog?.close();
        process.exit(code);
      };
      process.once('SIGINT', () => void stop(0));
      process.once('SIGTERM', () => void stop(0));
      // A storage failure stops serving at once (every request 503); the process then exits 75
      // (EX_TEMPFAIL) so a supervisor restarts it once the store is writable again.
      const watch = setInterval(() => {
        if (gw.failed()) {
          clearInterval(watch);
          process.stderr.write(`assay gateway: stopped: ${gw.failed()!.message}\n`);
          void stop(75);
        }
      }, 200);
      watch.unref();
    });

  const log = gateway.command('log').description('The access log: developer view, verification, export');
  log
    .command('list')
    .description('Records as the developer sees them: time, grant, model, status, tokens, cost (never prompts)')
    .requiredOption('--config <file>')
    .option('--grant <jti>')
    .option('--json')
    .action(async (f: { config: string; grant?: string; json?: boolean }) => {
      const c = loadGatewayConfig(f.config);
      const recs = await withStore(c, (s) => s.records());
      const rows = recs.map((r) => recordSchema.parse(JSON.parse(r.text))).filter((r) => !f.grant || r.grant === f.grant);
      if (f.json) return out(JSON.stringify(rows, null, 2) + '\n');
      out(table(['seq', 'time', 'grant', 'tester', 'endpoint', 'model', 'status', 'in', 'out', 'cost $'], rows.map((r) => [String(r.seq), r.time, r.grant, r.tester, r.endpoint, r.model ?? '', `${r.status}${r.refusal ? ` ${r.refusal}` : ''}`, String(r.usage?.input ?? ''), String(r.usage?.output ?? ''), r.costUsd === null ? '' : r.costUsd.toFixed(6)])));
    });
  log
    .command('verify')
    .description('Check the stored chain and every signed head; exit 14 when a record was altered')
    .requiredOption('--config <file>')
    .action(async (f: { config: string }) => {
      const c = loadGatewayConfig(f.config);
      const signer = gatewayKey(c);
      const problems = await withStore(c, async (s) => {
        const recs = await s.records();
        const chain = verifyChain(recs.map((r) => ({ text: r.text, storedHash: r.hash })));
        const ps = chain.problems.map((p) => `record ${p.seq}: ${p.problem}`);
        // Each signed head must name the hash of the record at its size − 1 as recomputed now.
        const hashes = recs.map((r) => `sha256:${sha256Hex(r.text)}`);
        const tree = new AppendTree();
        for (const r of recs) tree.append(r.text);
        for (const h of await s.heads()) {
          try {
            const head = openHead(parseEnvelope(h.envelopeJson), signer.publicKey);
            const at = hashes[head.size - 1];
            if (head.size > recs.length) ps.push(`signed head of size ${head.size}: the log has only ${recs.length} records`);
            else if (head.size > 0 && at !== head.head) ps.push(`signed head of size ${head.size} (${h.time}) names ${head.head}, the records give ${at}`);
            else if ('root' in head && hex(tree.root(head.size)) !== head.root) ps.push(`signed head of size ${head.size} (${h.time}) names Merkle root ${head.root}, the records give ${hex(tree.root(head.size))}`);
          } catch (err) {
            ps.push(`signed head of size ${h.size}: ${(err as Error).message}`);
          }
        }
        return { ps, size: chain.size, head: chain.head };
      });
      if (problems.ps.length) {
        for (const p of problems.ps) process.stderr.write(`assay: ${p}\n`);
        process.exitCode = 14;
        return;
      }
      out(`access log verified: ${problems.size} records, head ${problems.head}\n`);
    });
  log
    .command('export')
    .description('Sign the current head (v2), anchor it in the transparency log, and write the log for verifiers: the whole log (assay.gateway-log/v1), or one grant\'s records with inclusion proofs (--grant: assay.gateway-proofs/v1)')
    .requiredOption('--config <file>')
    .requiredOption('-o, --out <file>')
    .option('--grant <jti>', "only this grant's records, with inclusion proofs (what its tester may see)")
    .option('--gateway <url>', 'the running gateway (it holds the transparency log): it signs and anchors the head')
    .action(async (f: { config: string; out: string; grant?: string; gateway?: string }) => {
      const c = loadGatewayConfig(f.config);
      const signer = gatewayKey(c);
      await withStore(c, async (s) => {
        let head: { size: number; envelopeJson: string; tlogProof: string | null };
        if (f.gateway) head = (await adminCall(c, f.gateway, 'POST', '/v1/assay/admin/checkpoint')) as typeof head;
        const recs = await s.records();
        const chain = verifyChain(recs.map((r) => ({ text: r.text, storedHash: r.hash })));
        if (chain.problems.length) throw new AssayError('LOG_TAMPERED', `refusing to sign a broken log: record ${chain.problems[0]!.seq}: ${chain.problems[0]!.problem}`);
        const tree = new AppendTree();
        for (const r of recs) tree.append(r.text);
        if (!f.gateway) {
          const time = new Date().toISOString();
          const signed = signHeadV2(signer, { gateway: c.id, size: chain.size, head: chain.head, root: hex(tree.root()), time });
          let tlogIndex: number | null = null;
          let tlogProof: string | null = null;
          if (c.tlog) {
            let l;
            try {
              l = await openConfiguredLog(c.tlog.dir);
            } catch (err) {
              throw new AssayError('LOCKED', `cannot open the transparency log (${(err as Error).message}); if the gateway is running, export with --gateway <its url>`);
            }
            try {
              const r = await l.append([headEntry(signed.envelope, signed.head)]);
              tlogIndex = r.indices[0]!;
              tlogProof = formatTlogProof({ index: tlogIndex, hashes: l.inclusionProof(tlogIndex, r.size), checkpoint: r.checkpoint });
            } finally {
              l.close();
            }
          } else process.stderr.write('assay: warning: no tlog in the config, so this head is not anchored and verify-opening will refuse it without --unanchored\n');
          const envelopeJson = JSON.stringify(signed.envelope);
          await s.saveHead({ size: chain.size, head: chain.head, time, envelopeJson, tlogIndex, tlogProof });
          head = { size: chain.size, envelopeJson, tlogProof };
        }
        const h = head!;
        const envelope = parseEnvelope(h.envelopeJson);
        if (f.grant) {
          const mine = recs.slice(0, h.size).filter((r) => recordSchema.parse(JSON.parse(r.text)).grant === f.grant);
          writeFileSync(resolve(f.out), formatProofs({ gateway: c.id, publicKey: signer.publicKey, signedHead: envelope, tlogProof: h.tlogProof, records: mine.map((r) => ({ seq: r.seq, text: r.text, proof: tree.inclusionProof(r.seq, h.size) })) }));
          out(`exported ${mine.length} records of grant ${f.grant} with inclusion proofs against the head of size ${h.size} to ${resolve(f.out)}\n`);
          return;
        }
        writeFileSync(resolve(f.out), formatExport({ gateway: c.id, publicKey: signer.publicKey, records: recs.slice(0, h.size).map((r) => r.text), signedHead: envelope, tlogProof: h.tlogProof }));
        out(`exported ${h.size} records to ${resolve(f.out)}, head signed by ${signer.keyId}${h.tlogProof ? ', anchored in the transparency log' : ''}\n(the full export shows every tester's metadata: give testers --grant exports or the gateway's /v1/assay/log/proofs)\n`);
      });
    });

  gateway
    .command('proofs')
    .description("Tester: fetch your own records with inclusion proofs against a signed, anchored head (assay.gateway-proofs/v1)")
    .requiredOption('--url <gateway>', 'the gateway base URL')
    .requiredOption('--access-key <file>', 'your access key file (<token>~<commitment key>)')
    .option('--ca <file>', 'PEM certificate(s) to trust for an HTTPS gateway with a private CA')
    .requiredOption('-o, --out <file>')
    .action(async (f: { url: string; accessKey: string; ca?: string; out: string }) => {
      const key = readInput(f.accessKey, 'access key').toString('utf8').trim();
      const init: Record<string, unknown> = { headers: { authorization: `Bearer ${key}` } };
      if (f.ca) init.dispatcher = new (await import('undici')).Agent({ connect: { ca: readInput(f.ca, 'CA certificate') } });
      const res = await fetch(`${f.url.replace(/\/+$/, '')}/v1/assay/log/proofs`, init as RequestInit);
      const text = await res.text();
      if (!res.ok) throw new AssayError('GATEWAY', `gateway answered ${res.status}: ${text.slice(0, 500)}`);
      if (!isProofsBundle(text)) throw new AssayError('EXPORT_FORMAT', 'the gateway did not answer with an assay.gateway-proofs/v1 bundle');
      writeFileSync(resolve(f.out), text);
      out(`saved your records' proofs to ${resolve(f.out)}\n`);
    });

  gateway
    .command('open')
    .description('Tester: open the commitments of one record (prove what was asked and answered)')
    .requiredOption('--log <file>', 'the log export (assay gateway log export)')
    .option('--secret <file>', 'your tester secret')
    .option('--token <file>', 'the grant token (with --secret)')
    .option('--access-key <file>', 'or: the access key file (<token>~<commitment key>)')
    .option('--request <file>', 'the request body (JSON) as sent')
    .option('--response <file>', 'the response body as received')
    .option('--run <runlog>', 'or: take request and response from an Assay run log made through the gateway')
    .option('--sample <key>', 'with --run: the sample key (<sampleId>#<epoch>)')
    .option('--request-id <id>', 'the x-assay-request-id of the call (default: found by matching the request)')
    .requiredOption('-o, --out <file>', 'opening file to write')
    .action(async (f: { log: string; secret?: string; token?: string; accessKey?: string; commitKey?: string; request?: string; response?: string; run?: string; sample?: string; requestId?: string; out: string }) => {
      const key = commitKeyFrom(f);
      let request: string;
      let response: string | null = null;
      let requestId = f.requestId;
      if (f.run) {
        if (!f.sample) throw new AssayError('USAGE', '--run needs --sample <sampleId>#<epoch>');
        let found = null;
        for await (const s of iterateSamples(f.run)) if (s.key === f.sample && !found) found = s;
        if (!found || !found.sent || !found.output) throw new AssayError('USAGE', `no completed sample ${f.sample} in the run log`, { file: f.run });
        request = JSON.stringify(found.sent.body);
        response = JSON.stringify(found.output.raw);
        requestId ??= found.output.requestId ?? undefined;
      } else {
        if (!f.request) throw new AssayError('USAGE', 'give --request (and --response), or --run and --sample');
        request = readInput(f.request, 'request').toString('utf8');
        if (f.response) response = readInput(f.response, 'response').toString('utf8');
      }
      const logText = readInput(f.log, 'log export').toString('utf8');
      const texts = isProofsBundle(logText)
        ? (JSON.parse(logText) as { records: { text: string }[] }).records.map((r) => r.text)
        : logText.split('\n').filter((l) => l.trim() !== '');
      const records = texts
        .map((l) => JSON.parse(l) as { schema?: unknown })
        .filter((o) => o.schema === RECORD_SCHEMA)
        .map((o) => recordSchema.parse(o));
      const reqBytes = commitContent(request, 'jcs').bytes;
      const match = (r: AccessRecord) => (requestId ? r.requestId === requestId : r.request.form === 'jcs' && commitmentOf(nonceFor(key, 'req', r.requestId), reqBytes) === r.request.commitment);
      const rec = records.find(match);
      if (!rec) throw new AssayError('NOT_FOUND', requestId ? `no record with request id ${requestId}` : 'no record commits to this request under your key');
      const opening = openRecord(rec, key, request, response);
      writeFileSync(resolve(f.out), JSON.stringify(opening, null, 2) + '\n');
      out(`opened record ${rec.seq} (${rec.endpoint} ${rec.model ?? ''}, ${rec.time}) → ${resolve(f.out)}\n`);
    });

  gateway
    .command('verify-opening')
    .description('Third party: check an opening against a signed log (full export or a tester\'s proofs bundle) whose head is in the transparency log; exit 16 when it fails')
    .argument('<opening>', 'opening file (assay.gateway-opening/v1)')
    .requiredOption('--log <file>', 'the log export or proofs bundle')
    .requiredOption('--gateway-key <file>', "the gateway's public key (SPKI PEM or JWK) you trust")
    .option('--tlog-key <vkey>', "the transparency log's verifier key (vkey text, a file holding it, or a local log directory): the head must be in that log")
    .option('--tlog <dir | url>', "re-prove the head's entry against the log's current checkpoint (which carries the witnesses' cosignatures) instead of the one in the export")
    .option('--witness <vkey>', 'a witness whose cosignature the log checkpoint must carry (repeatable; use with --tlog)', collect)
    .option('--unanchored', 'accept a head that is not in any transparency log (older exports); says so in the result')
    .action(async (file: string, f: { log: string; gatewayKey: string; tlogKey?: string; tlog?: string; witness?: string[]; unanchored?: boolean }) => {
      const opening = parseOpening(readInput(file, 'opening'), file);
      const key = parsePublicKey(readInput(f.gatewayKey, 'gateway key').toString('utf8'), { file: f.gatewayKey });
      const log = verifyLogFile(readInput(f.log, 'log export').toString('utf8'), key, f.log);
      const problems = verifyOpening(opening, log);
      if (f.tlog && f.tlogKey && log.signedHead.tlogProof) {
        // The checkpoint in the export is the one current when the head was logged (before any
        // witness cosigned); a fresh proof against today's checkpoint can require witnesses.
        try {
          const { proof } = await proveFromSource(logSource(f.tlog), vkeyText(f.tlogKey), parseTlogProof(log.signedHead.tlogProof).index);
          log.signedHead.tlogProof = formatTlogProof(proof);
        } catch (err) {
          problems.push(`cannot re-prove the head against ${f.tlog}: ${(err as Error).message}`);
        }
      }
      if (f.tlogKey) problems.push(...checkAnchor(log, { logVkey: vkeyText(f.tlogKey), ...(f.witness ? { witnessVkeys: f.witness.map(vkeyText) } : {}) }));
      else if (!f.unanchored) problems.push('no --tlog-key: the signed head must be checked against the transparency log (or pass --unanchored to accept an unanchored head knowingly)');
      if (problems.length) {
        for (const p of problems) process.stderr.write(`assay: ${p}\n`);
        process.exitCode = 16;
        return;
      }
      const r = opening.record;
      out(`opening verified: record ${r.seq} of ${log.size} in ${log.gateway} (head ${log.head}${f.tlogKey ? ', anchored in the transparency log' : ', NOT checked against a transparency log'}); ${r.endpoint} ${r.model ?? ''} at ${r.time}, status ${r.status}; request${opening.response ? ' and response' : ''} match their commitments\n`);
    });

  // ---- grants ----------------------------------------------------------------------------------
  const grant = program.command('grant').description('Grants: signed, expiring access for one tester');
  grant
    .command('issue')
    .description('Issue a grant token and register it with the gateway')
    .requiredOption('--config <file>', 'gateway config')
    .requiredOption('--tester <name>', 'who receives the grant')
    .requiredOption('-m, --model <name>', 'model the tester may call (repeatable)', collect)
    .addOption(new Option('--level <level>', 'access level').choices(ACCESS_LEVELS as unknown as string[]).makeOptionMandatory())
    .option('--expires <duration>', 'lifetime, e.g. 8h or 7d', duration, 86400)
    .option('--rate <n>', 'requests per second', num(0.001, 100_000), 10)
    .option('--burst <n>', 'bucket size (requests)', int(1, 100_000), 20)
    .option('--max-tokens-total <n>', 'token budget over the grant', int(1))
    .option('--max-cost <usd>', 'cost budget over the grant (uses the config\'s prices)', num(0.000001))
    .option('--max-tokens-per-request <n>', 'cap on max_tokens (makes max_tokens mandatory)', int(1))
    .option('--top-logprobs-max <n>', 'largest top_logprobs (grey-box and above)', int(0, 20))
    .option('--param <name>', 'narrow the level\'s parameter allow-list to these (repeatable)', collect)
    .option('--key <key>', 'signing key (default: the config\'s)')
    .option('-o, --out <file>', 'write the token here (mode 0600) instead of stdout')
    .option('--bind-cert <pem>', "bind the token to this client certificate (mutual TLS; RFC 8705 x5t#S256)")
    .option('--bind-dpop <jwk>', "bind the token to this public key (a JWK JSON file): every request needs a DPoP proof signed by it (RFC 9449 cnf.jkt)")
    .option('--gateway <url>', 'issue through the running gateway (its admin API; it holds the transparency log)')
    .option('--enclave-release-bytes <n>', 'white-box: cumulative bytes the enclave\'s airlock may release under this grant (docs/enclave.md)', int(0))
    .option('--enclave-review', 'white-box: every enclave release needs a developer reviewer\'s approval')
    .action(async (f: { config: string; tester: string; model: string[]; level: AccessLevel; expires: number; rate: number; burst: number; maxTokensTotal?: number; maxCost?: number; maxTokensPerRequest?: number; topLogprobsMax?: number; param?: string[]; key?: string; out?: string; bindCert?: string; bindDpop?: string; gateway?: string; enclaveReleaseBytes?: number; enclaveReview?: boolean }) => {
      const c = loadGatewayConfig(f.config);
      for (const m of f.model) if (!Object.hasOwn(c.models, m)) throw new AssayError('USAGE', `model "${m}" is not served by gateway ${c.id} (it serves: ${Object.keys(c.models).join(', ')})`, { field: '--model' });
      const signer = gatewayKey(c, f.key);
      const g: Grant = {
        ...defaultGrant(f.level, f.model),
        params: f.param ?? null,
        rate: { perSecond: f.rate, burst: f.burst },
        budget: { tokens: f.maxTokensTotal ?? null, costUsd: f.maxCost ?? null },
        maxTokensPerRequest: f.maxTokensPerRequest ?? null,
        ...(f.topLogprobsMax !== undefined ? { topLogprobsMax: f.level === 'black-box' ? 0 : f.topLogprobsMax } : {}),
        ...(f.enclaveReleaseBytes !== undefined || f.enclaveReview ? { enclave: { releaseBytes: f.enclaveReleaseBytes ?? 1 << 20, review: f.enclaveReview === true } } : {}),
      };
      if (g.enclave && f.level !== 'white-box') throw new AssayError('USAGE', 'enclave terms need --level white-box', { field: '--enclave-release-bytes' });
      const certThumbprint = f.bindCert ? createHash('sha256').update(new X509Certificate(readInput(f.bindCert, 'client certificate')).raw).digest('base64url') : undefined;
      let dpopJkt: string | undefined;
      if (f.bindDpop) {
        let jwk: JWK;
        try {
          jwk = JSON.parse(readInput(f.bindDpop, 'DPoP public key').toString('utf8')) as JWK;
          dpopJkt = await jwkThumbprint(jwk);
        } catch (err) {
          throw new AssayError('USAGE', `--bind-dpop: not a public JWK: ${(err as Error).message}`, { file: f.bindDpop });
        }
      }
      const binding = { ...(certThumbprint ? { certThumbprint } : {}), ...(dpopJkt ? { dpopJkt } : {}) };
      // The token file is created first: nothing is issued if it cannot be.
      const fd = f.out ? openOut(f.out) : null;
      let token: string;
      let claims: GrantClaims;
      let logged = '';
      try {
        if (f.gateway) {
          const r = (await adminCall(c, f.gateway, 'POST', '/v1/assay/admin/grants', { tester: f.tester, grant: g, ttlSeconds: f.expires, ...binding }, f.key)) as { token: string; claims: GrantClaims; tlogIndex: number | null };
          ({ token, claims } = r);
          if (r.tlogIndex !== null) logged = `, logged as entry ${r.tlogIndex}`;
        } else {
          ({ token, claims } = issueGrantToken(signer, { tester: f.tester, audience: c.id, grant: g, ttlSeconds: f.expires, ...binding }));
          // Logged first, registered second: a failed append leaves no active, unlogged grant.
          if (c.tlog) {
            let l;
            try {
              l = await openConfiguredLog(c.tlog.dir);
            } catch (err) {
              throw new AssayError('LOCKED', `cannot open the transparency log (${(err as Error).message}); if the gateway is running, issue with --gateway <its url>`);
            }
            try {
              const r = await l.append([grantEntry(c.id, 'issue', claims, token)]);
              logged = `, logged as entry ${r.indices[0]} of ${l.origin}`;
            } finally {
              l.close();
            }
          }
          await withStore(c, (s) => s.registerGrant(claims, tokenDigest(token)));
        }
      } catch (err) {
        if (fd !== null) {
          closeSync(fd);
          rmSync(resolve(f.out!), { force: true });
        }
        throw err;
      }
      writeToken(fd, token);
      const what = `grant ${claims.jti} for ${claims.sub}: ${g.level} on ${g.models.join(', ')} until ${new Date(claims.exp * 1000).toISOString()}${certThumbprint ? ' (bound to the client certificate)' : ''}${dpopJkt ? ` (bound to DPoP key ${dpopJkt})` : ''}`;
      if (f.out) out(`${what} → ${resolve(f.out)}${logged}\n`);
      else process.stderr.write(`${what}${logged}\n`);
    });
  grant
    .command('list')
    .description('Grants with their usage and status')
    .requiredOption('--config <file>')
    .option('--json')
    .action(async (f: { config: string; json?: boolean }) => {
      const c = loadGatewayConfig(f.config);
      const rows = await withStore(c, (s) => s.listGrants());
      if (f.json) return out(JSON.stringify(rows.map(({ claims: _c, ...r }) => r), null, 2) + '\n');
      const now = Date.now();
      out(table(['grant', 'tester', 'level', 'models', 'expires', 'status', 'requests', 'tokens', 'cost $'], rows.map((r) => [r.jti, r.tester, r.level, r.models.join(','), r.expiresAt, r.revokedAt ? `revoked ${r.revokedAt}` : Date.parse(r.expiresAt) <= now ? 'expired' : 'active', String(r.usage.requests), String(r.usage.inputTokens + r.usage.outputTokens), r.usage.costUsd.toFixed(6)])));
    });
  grant
    .command('revoke')
    .description('Revoke a grant; a running gateway refuses it from the next request')
    .argument('<grant>', 'grant id (jti)')
    .requiredOption('--config <file>')
    .option('--reason <text>')
    .option('--gateway <url>', 'revoke through the running gateway (logged in its transparency log)')
    .action(async (jti: string, f: { config: string; reason?: string; gateway?: string }) => {
      const c = loadGatewayConfig(f.config);
      if (f.gateway) {
        const r = (await adminCall(c, f.gateway, 'DELETE', `/v1/assay/admin/grants/${encodeURIComponent(jti)}`, f.reason ? { reason: f.reason } : {})) as { tlogIndex: number | null; warning?: string };
        if (r.warning) process.stderr.write(`assay: ${r.warning}\n`);
        return out(`revoked ${jti}${r.tlogIndex !== null ? `, logged as entry ${r.tlogIndex}` : ''}\n`);
      }
      const row = await withStore(c, async (s) => {
        const g = await s.getGrant(jti);
        if (g) await s.revokeGrant(jti, f.reason ?? null);
        return g;
      });
      if (!row) throw new AssayError('NOT_FOUND', `no grant ${jti} in ${gatewayDbFile(c)}`);
      let logged = '';
      if (c.tlog) {
        try {
          const l = await openConfiguredLog(c.tlog.dir);
          try {
            logged = `, logged as entry ${(await l.append([grantEntry(c.id, 'revoke', row.claims, null, row.tokenSha256)])).indices[0]}`;
          } finally {
            l.close();
          }
        } catch (err) {
          process.stderr.write(`assay: revoked, but not logged (${(err as Error).message}); with the gateway running use --gateway <url>\n`);
        }
      }
      out(`revoked ${jti}${logged}\n`);
    });
  for (const action of ['extend', 'narrow'] as const)
    grant
      .command(action)
      .description(action === 'extend' ? 'Extend a grant while the gateway runs: a new token, same grant id (usage and commitment key carry over)' : 'Narrow a grant while the gateway runs (it can only take away): a new token, same grant id; the old token stops at once')
      .argument('<grant>', 'grant id (jti)')
      .requiredOption('--config <file>')
      .requiredOption('--gateway <url>', 'the running gateway')
      .option('--by <duration>', 'extend: added lifetime, e.g. 24h', duration)
      .option('--level <level>', 'narrow: a lower level')
      .option('-m, --model <name>', 'narrow: keep only these models (repeatable)', collect)
      .option('--max-tokens-total <n>', 'narrow: a smaller token budget', int(1))
      .option('--max-cost <usd>', 'narrow: a smaller cost budget', num(0.000001))
      .option('--max-tokens-per-request <n>', 'narrow: a smaller per-request cap', int(1))
      .option('--rate <n>', 'narrow: a lower rate', num(0.001, 100_000))
      .option('--burst <n>', 'narrow: a smaller burst', int(1, 100_000))
      .option('--param <name>', 'narrow: allow only these parameters (repeatable)', collect)
      .option('--key <key>', 'admin signing key (default: the config\'s)')
      .option('-o, --out <file>', 'write the new token here (mode 0600) instead of stdout')
      .action(async (jti: string, f: { config: string; gateway: string; by?: number; level?: AccessLevel; model?: string[]; maxTokensTotal?: number; maxCost?: number; maxTokensPerRequest?: number; rate?: number; burst?: number; param?: string[]; key?: string; out?: string }) => {
        const c = loadGatewayConfig(f.config);
        const current = await withStore(c, (s) => s.getGrant(jti));
        if (!current) throw new AssayError('NOT_FOUND', `no grant ${jti} in ${gatewayDbFile(c)}`);
        const g = current.claims.assay;
        const narrow: Partial<Grant> = {
          ...(f.level ? { level: f.level } : {}),
          ...(f.model ? { models: f.model } : {}),
          ...(f.maxTokensTotal !== undefined || f.maxCost !== undefined ? { budget: { tokens: f.maxTokensTotal ?? g.budget.tokens, costUsd: f.maxCost ?? g.budget.costUsd } } : {}),
          ...(f.maxTokensPerRequest !== undefined ? { maxTokensPerRequest: f.maxTokensPerRequest } : {}),
          ...(f.rate !== undefined || f.burst !== undefined ? { rate: { perSecond: f.rate ?? g.rate.perSecond, burst: f.burst ?? g.rate.burst } } : {}),
          ...(f.param ? { params: f.param } : {}),
        };
        if (action === 'extend' && !f.by) throw new AssayError('USAGE', 'extend needs --by <duration>');
        if (action === 'narrow' && !Object.keys(narrow).length) throw new AssayError('USAGE', 'narrow needs at least one of --level, --model, --max-tokens-total, --max-cost, --max-tokens-per-request, --rate, --burst, --param');
        const fd = f.out ? openOut(f.out) : null;
        let r: { token: string; claims: GrantClaims; tlogIndex: number | null };
        try {
          r = (await adminCall(c, f.gateway, 'PATCH', `/v1/assay/admin/grants/${encodeURIComponent(jti)}`, action === 'extend' ? { extendSeconds: f.by } : { narrow }, f.key)) as typeof r;
        } catch (err) {
          if (fd !== null) {
            closeSync(fd);
            rmSync(resolve(f.out!), { force: true });
          }
          throw err;
        }
        writeToken(fd, r.token);
        process.stderr.write(`grant ${jti} ${action === 'extend' ? 'extended' : 'narrowed'}: ${r.claims.assay.level} on ${r.claims.assay.models.join(', ')} until ${new Date(r.claims.exp * 1000).toISOString()}${r.tlogIndex !== null ? `, logged as entry ${r.tlogIndex}` : ''}; the previous token no longer works\n`);
      });
  grant
    .command('access-key')
    .description('Tester: the access key to use as API key (<token>~<commitment key derived from your secret>)')
    .requiredOption('--token <file>', 'the grant token file')
    .requiredOption('--secret <file>', 'your tester secret (never sent anywhere)')
    .option('--create-secret', 'create the secret file (mode 0600) when missing')
    .action((f: { token: string; secret: string; createSecret?: boolean }) => {
      const token = readInput(f.token, 'grant token').toString('utf8').trim();
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { jti?: string };
      if (typeof payload.jti !== 'string') throw new AssayError('USAGE', 'not a grant token (no jti)', { file: f.token });
      out(`${accessKey(token, deriveCommitKey(testerSecret(f.secret, !!f.createSecret), payload.jti))}\n`);
    });

  // ---- model releases --------------------------------------------------------------------------
  const release = program.command('release').description('Model-release statements: what a model name serves, signed by the developer');
  release
    .command('sign')
    .description('Sign a model-release statement (in-toto, DSSE) and write it once')
    .requiredOption('-m, --model <name>', 'model name as the gateway serves it')
    .requiredOption('--model-version <v>', 'the developer\'s version label')
    .option('--weights-digest <sha256:hex>', 'digest of the weights manifest', sha256Arg)
    .option('--weights-manifest <file>', 'or: the weights manifest file (its SHA-256 is taken)')
    .option('--serving-config <file>', 'serving configuration file (system prompt, classifiers, decoding defaults, quantisation)')
    .option('--serving-config-digest <sha256:hex>', 'or: its digest', sha256Arg)
    .option('--version-id <id>', 'opaque stable version id, when weight hashes are secret')
    .requiredOption('--developer <name>', 'developer organisation')
    .option('--notes <text>')
    .option('--key <key>', 'signing key (the gateway\'s, so the gateway accepts it)')
    .option('--log <dir>', 'also append it to this local transparency log (type model-release)')
    .requiredOption('-o, --out <file>', 'release file (never overwritten)')
    .action(async (f: { model: string; modelVersion: string; weightsDigest?: string; weightsManifest?: string; servingConfig?: string; servingConfigDigest?: string; versionId?: string; developer: string; notes?: string; key?: string; log?: string; out: string }) => {
      const signer = loadSigner(f.key);
      const weightsDigest = f.weightsDigest ?? (f.weightsManifest ? `sha256:${(await digestOfFile(f.weightsManifest)).sha256}` : undefined);
      const servingConfigDigest = f.servingConfigDigest ?? (f.servingConfig ? `sha256:${(await digestOfFile(f.servingConfig)).sha256}` : undefined);
      const r = signRelease(signer, { model: f.model, version: f.modelVersion, developer: f.developer, ...(weightsDigest ? { weightsDigest } : {}), ...(servingConfigDigest ? { servingConfigDigest } : {}), ...(f.versionId ? { versionId: f.versionId } : {}), ...(f.notes ? { notes: f.notes } : {}) });
      const fd = openSync(resolve(f.out), 'wx', 0o644);
      try {
        writeSync(fd, r.text);
      } finally {
        closeSync(fd);
      }
      let logged = '';
      if (f.log) {
        const l = await openConfiguredLog(f.log);
        try {
          const a = await l.append([encodeEntry({ type: 'model-release', digest: r.digest, metadata: { model: f.model, version: f.modelVersion, developer: f.developer } })]);
          logged = `\n  logged as entry ${a.indices[0]} of ${l.origin}`;
        } finally {
          l.close();
        }
      }
      out(`model release ${f.model}@${f.modelVersion} → ${resolve(f.out)}\n  digest ${r.digest} (stamped by the gateway as x-assay-model-release; cite with assay attest --model-release)${logged}\n`);
    });
  release
    .command('show')
    .description('Print a release statement and its digest; with --public-key, require its signature')
    .argument('<file>')
    .option('--public-key <file>', 'developer public key (SPKI PEM or JWK)')
    .action((file: string, f: { publicKey?: string }) => {
      const key = f.publicKey ? parsePublicKey(readInput(f.publicKey, 'public key').toString('utf8'), { file: f.publicKey }) : undefined;
      const r = loadRelease(file, key);
      out(`${JSON.stringify({ digest: r.digest, signatureVerifiedWith: r.signedBy, statement: r.statement }, null, 2)}\n`);
    });
}
