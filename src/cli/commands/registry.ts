import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AssayError } from '../../common/errors.js';
import { acquireLock } from '../../common/lock.js';
import { exportPublicJwk, loadSigner, publicKeyFromJwk } from '../../attest/keys.js';
import { issueAccreditation } from '../../attest/trust.js';
import { tokenDigest } from '../../gateway/grant.js';
import { assayHome } from '../../home.js';
import { auditRegistry } from '../../registry/audit.js';
import { RegistryClient } from '../../registry/client.js';
import { isPostgresUrl, openStore } from '../../registry/db.js';
import { ACCREDITATION_STATUS_PREDICATE, RECOGNITION_PREDICATE, signStatement } from '../../registry/statements.js';
import { buildServer } from '../../server/app.js';
import { addGrantCommands } from './registry-grants.js';
import { addDispatchCommands } from './registry-dispatch.js';
import { logSource } from '../../tlog/client.js';
import { hasLogConfig, initLog, openConfiguredLog, readLogConfig } from '../../tlog/config.js';

/**
 * `assay server` (the registry: API and, later, its web pages) and `assay registry …`, the client
 * every party uses against it. Keys stay on the caller's machine: statements are signed here and
 * the server only verifies them. Format: docs/formats/registry-api.md.
 */
const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);
const json = (v: unknown) => out(`${JSON.stringify(v, null, 2)}\n`);

export const registryDir = (home = assayHome()) => join(home, 'registry');
const tokenFile = (home = assayHome()) => join(home, 'registry-token');
const DEFAULT_URL = 'http://127.0.0.1:8780';

export function client(o: { url?: string; token?: string }): RegistryClient {
  const url = o.url ?? process.env.ASSAY_REGISTRY_URL ?? DEFAULT_URL;
  const token = o.token ?? process.env.ASSAY_REGISTRY_TOKEN ?? (existsSync(tokenFile()) ? readFileSync(tokenFile(), 'utf8').trim() : null);
  return new RegistryClient(url, token);
}

function writeSecret(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${text}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
export const withConn = (c: Command) => c.option('--url <url>', `registry URL (default $ASSAY_REGISTRY_URL or ${DEFAULT_URL})`).option('--token <token>', 'API token (default $ASSAY_REGISTRY_TOKEN or the one saved by `assay registry login`)');
export type Conn = { url?: string; token?: string };

/** Opens the registry's transparency log (creating it, and its key, on first start). */
async function registryLog(dir: string, origin: string) {
  if (!hasLogConfig(dir)) await initLog(dir, `${origin}/log`, join(assayHome(), 'keys', `tlog-registry-${origin.replace(/[^A-Za-z0-9.-]/g, '_')}.pem`));
  return openConfiguredLog(dir);
}

export function register(program: Command): void {
  program
    .command('server')
    .description('Run the registry server (API at /api/v1, OpenAPI at /api/v1/openapi.json); embedded SQLite by default')
    .addOption(new Option('--database <url|file>', 'PostgreSQL URL or SQLite file').env('ASSAY_DATABASE_URL'))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port', (v) => Number(v), 8780)
    .option('--origin <name>', 'this registry\'s name (identifiers, log origin)', 'registry.local')
    .option('--log <dir>', 'the registry\'s transparency log (default $ASSAY_HOME/registry/log)')
    .option('--operator-email <email>', 'first start: the operator account', 'operator@registry.local')
    .option('--insecure-cookies', 'session cookies without Secure (plain-HTTP development on loopback only)')
    .option('--webhook-allow <cidrs>', 'CIDRs webhooks may reach although private or loopback (comma-separated)', list)
    .action(async (o: { database?: string; host: string; port: number; origin: string; log?: string; operatorEmail: string; insecureCookies?: boolean; webhookAllow?: string[] }) => {
      const database = o.database ?? join(registryDir(), 'registry.db');
      // One server per SQLite file: a second is refused by the kernel-held lock, never corrupts it.
      const lock = isPostgresUrl(database) ? null : await acquireLock(`${resolve(database)}.lock`, { timeoutMs: 0, what: `registry database ${database} (another assay server uses it)` });
      const store = await openStore(database);
      const log = await registryLog(o.log ?? join(registryDir(), 'log'), o.origin);
      const server = await buildServer({ store, origin: o.origin, sink: { append: async (e) => (await log.append(e)).indices }, secureCookies: !o.insecureCookies, logger: false, webhookAllowList: o.webhookAllow ?? [] });
      const boot = await server.registry.bootstrap(o.operatorEmail);
      if (boot) {
        writeSecret(tokenFile(), boot.token);
        err(`first start: operator ${o.operatorEmail} created; its API token is in ${tokenFile()} (mode 0600)\n`);
      }
      await server.app.listen({ host: o.host, port: o.port });
      const port = (server.app.server.address() as { port: number }).port;
      err(`registry ${o.origin} on http://${o.host}:${port} (database ${store.where}; log ${log.dir}, vkey ${log.vkey})\n`);
      const stop = async () => {
        await server.app.close();
        await server.drainer.idle();
        log.close();
        await store.close();
        lock?.release();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const reg = program.command('registry').description('Talk to a registry server: sign in, organisations, accreditation, models, engagements, reports, audit');

  withConn(reg.command('login').description('Sign in; saves an API token in $ASSAY_HOME/registry-token (0600)'))
    .requiredOption('--email <email>')
    .option('--password-stdin', 'read the password from standard input (default: $ASSAY_REGISTRY_PASSWORD)')
    .action(async (o: Conn & { email: string; passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await readStdin() : process.env.ASSAY_REGISTRY_PASSWORD;
      if (!password) throw new AssayError('USAGE', 'give the password on standard input (--password-stdin) or in $ASSAY_REGISTRY_PASSWORD');
      const t = await client(o).post<{ token: string; expiresAt: string }>('/api/v1/login', { email: o.email, password });
      writeSecret(tokenFile(), t.token);
      err(`signed in; token saved to ${tokenFile()} (expires ${t.expiresAt})\n`);
    });

  const org = reg.command('org').description('Organisations');
  withConn(org.command('create').description('Register an organisation (operator)'))
    .requiredOption('--kind <kind>', 'developer | tester | accreditor | agency')
    .option('--sub-kind <k>', 'testers: company | university | government')
    .requiredOption('--name <name>')
    .requiredOption('--jurisdiction <code>', 'ISO 3166-1 alpha-2 or EU')
    .action(async (o: Conn & { kind: string; subKind?: string; name: string; jurisdiction: string }) => json(await client(o).post('/api/v1/orgs', { kind: o.kind, name: o.name, jurisdiction: o.jurisdiction, ...(o.subKind ? { subKind: o.subKind } : {}) })));
  withConn(org.command('list')).option('--kind <kind>').action(async (o: Conn & { kind?: string }) => json(await client(o).all('/api/v1/orgs', { kind: o.kind })));
  withConn(org.command('show').argument('<org>')).action(async (id: string, o: Conn) => json(await client(o).get(`/api/v1/orgs/${encodeURIComponent(id)}`)));
  withConn(org.command('add-member').description('Add a person (or change their role); password from stdin with --password-stdin').argument('<org>'))
    .requiredOption('--email <email>')
    .requiredOption('--name <name>')
    .addOption(new Option('--role <role>').choices(['admin', 'member', 'viewer']).makeOptionMandatory())
    .option('--password-stdin')
    .action(async (id: string, o: Conn & { email: string; name: string; role: string; passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await readStdin() : undefined;
      json(await client(o).post(`/api/v1/orgs/${encodeURIComponent(id)}/members`, { email: o.email, name: o.name, role: o.role, ...(password ? { password } : {}) }));
    });
  withConn(org.command('add-key').description('Register the public half of a key from your keyring as a signing key of the organisation').argument('<org>'))
    .requiredOption('--key <name>', 'key name or id in $ASSAY_HOME/keys')
    .action(async (id: string, o: Conn & { key: string }) => {
      const { kid: _k, ...jwk } = exportPublicJwk(loadSigner(o.key).publicKey);
      json(await client(o).post(`/api/v1/orgs/${encodeURIComponent(id)}/keys`, { publicKey: jwk }));
    });
  withConn(org.command('conflict').description('A tester declares a conflict of interest with a developer').argument('<tester>'))
    .requiredOption('--developer <org>')
    .requiredOption('--reason <text>')
    .action(async (id: string, o: Conn & { developer: string; reason: string }) => json(await client(o).post(`/api/v1/orgs/${encodeURIComponent(id)}/conflicts`, { developerId: o.developer, reason: o.reason })));

  withConn(reg.command('accredit').description('As an accreditor: sign and register an accreditation of a tester\'s key').argument('<tester>', 'tester organisation id'))
    .requiredOption('--as <org>', 'your accreditor organisation id')
    .requiredOption('--key <name>', 'your signing key (keyring)')
    .requiredOption('--tester-key <keyId>', 'the tester\'s registered key id (sha256:…)')
    .requiredOption('--risk-areas <list>', 'comma-separated risk areas in scope', list)
    .requiredOption('--reassess-by <date>', 'reassessment date (ISO 8601)')
    .action(async (tester: string, o: Conn & { as: string; key: string; testerKey: string; riskAreas: string[]; reassessBy: string }) => {
      const c = client(o);
      const [body, t] = await Promise.all([c.get<{ name: string }>(`/api/v1/orgs/${encodeURIComponent(o.as)}`), c.get<{ name: string; keys: { keyId: string; publicKey: unknown }[] }>(`/api/v1/orgs/${encodeURIComponent(tester)}`)]);
      const k = t.keys.find((x) => x.keyId === o.testerKey);
      if (!k) throw new AssayError('USAGE', `${o.testerKey} is not a registered key of ${tester}`);
      const statement = issueAccreditation({ body: loadSigner(o.key), bodyName: body.name, tester: { name: t.name, publicKey: publicKeyFromJwk(k.publicKey) }, scopes: { riskAreas: o.riskAreas }, notBefore: new Date(), notAfter: new Date(o.reassessBy) });
      json(await c.post('/api/v1/accreditations', { accreditorId: o.as, testerId: tester, statement }));
    });
  for (const action of ['suspend', 'reinstate', 'withdraw'] as const)
    withConn(reg.command(action).description(`As the accreditor: ${action} an accreditation (signed)`).argument('<accreditation>'))
      .requiredOption('--key <name>', 'your signing key (keyring)')
      .requiredOption('--reason <text>')
      .action(async (id: string, o: Conn & { key: string; reason: string }) => {
        const c = client(o);
        const acc = (await c.all<{ id: string; statementDigest: string }>('/api/v1/accreditations')).find((a) => a.id === id);
        if (!acc) throw new AssayError('USAGE', `no accreditation ${id}`);
        const state = action === 'suspend' ? 'suspended' : action === 'withdraw' ? 'withdrawn' : 'granted';
        const statement = signStatement(loadSigner(o.key), 'assay/accreditation', acc.statementDigest.slice(7), ACCREDITATION_STATUS_PREDICATE, { accreditation: acc.statementDigest, state, reason: o.reason, at: new Date().toISOString() });
        json(await c.post(`/api/v1/accreditations/${encodeURIComponent(id)}/${action}`, { statement }));
      });
  withConn(reg.command('recognise').description('As an accreditor: recognise another accreditor\'s accreditations for risk areas (signed)').argument('<accreditor>'))
    .requiredOption('--as <org>')
    .requiredOption('--key <name>')
    .requiredOption('--risk-areas <list>', 'comma-separated', list)
    .action(async (other: string, o: Conn & { as: string; key: string; riskAreas: string[] }) => {
      const signer = loadSigner(o.key);
      const statement = signStatement(signer, 'assay/accreditor', signer.keyId.slice(7), RECOGNITION_PREDICATE, { recogniser: o.as, recognised: other, riskAreas: o.riskAreas, issuedAt: new Date().toISOString() });
      json(await client(o).post('/api/v1/recognitions', { recogniserId: o.as, recognisedId: other, statement }));
    });
  withConn(reg.command('recognition').description('Is a tester recognised in a jurisdiction for a risk area, and through which chain?').argument('<tester>'))
    .requiredOption('--jurisdiction <code>')
    .requiredOption('--domain <risk-area>')
    .action(async (tester: string, o: Conn & { jurisdiction: string; domain: string }) => {
      const a = await client(o).get<{ recognised: boolean }>('/api/v1/recognition', { tester, jurisdiction: o.jurisdiction, domain: o.domain });
      json(a);
      if (!a.recognised) process.exitCode = 1;
    });
  withConn(reg.command('trust').description('Export a trust file for `assay verify` from the accreditation graph'))
    .requiredOption('--jurisdiction <code>')
    .requiredOption('--risk-areas <list>', 'comma-separated', list)
    .option('--out <file>', 'write here instead of standard output')
    .action(async (o: Conn & { jurisdiction: string; riskAreas: string[]; out?: string }) => {
      const t = await client(o).get('/api/v1/trust', { jurisdiction: o.jurisdiction, domains: o.riskAreas.join('|') });
      if (o.out) writeFileSync(o.out, `${JSON.stringify(t, null, 2)}\n`);
      else json(t);
    });

  const model = reg.command('model').description('Model releases');
  withConn(model.command('register').description('As a developer: register a signed model-release file, its facts and scope decision'))
    .requiredOption('--as <org>')
    .requiredOption('--release <file>', 'from `assay release sign`')
    .option('--facts <file>', 'model facts (JSON or YAML-as-JSON)')
    .option('--in-scope <policy-digest>', 'in scope of the policy with this digest')
    .option('--not-in-scope <policy-digest>', 'not in scope of the policy with this digest')
    .action(async (o: Conn & { as: string; release: string; facts?: string; inScope?: string; notInScope?: string }) => {
      const pd = o.inScope ?? o.notInScope;
      json(await client(o).post('/api/v1/models', { developerId: o.as, release: readFileSync(o.release, 'utf8'), ...(o.facts ? { facts: JSON.parse(readFileSync(o.facts, 'utf8')) as unknown } : {}), ...(pd ? { scopeDecision: { inScope: Boolean(o.inScope), policyDigest: pd } } : {}) }));
    });
  withConn(model.command('list')).option('--in-scope').action(async (o: Conn & { inScope?: boolean }) => json(await client(o).all('/api/v1/models', { inScope: o.inScope ? 'true' : undefined })));

  const eng = reg.command('engagement').description('Engagements between a developer and a tester');
  withConn(eng.command('propose'))
    .requiredOption('--developer <org>')
    .requiredOption('--tester <org>')
    .requiredOption('--model <id>')
    .requiredOption('--suite <id...>', 'suite ids (id or id@version)')
    .addOption(new Option('--access <level>').choices(['black-box', 'grey-box', 'white-box']).default('black-box'))
    .option('--policy-digest <digest>')
    .option('--days <n>', 'testing window from now, in days', (v) => Number(v), 30)
    .action(async (o: Conn & { developer: string; tester: string; model: string; suite: string[]; access: string; policyDigest?: string; days: number }) =>
      json(await client(o).post('/api/v1/engagements', { developerId: o.developer, testerId: o.tester, modelId: o.model, suites: o.suite, accessLevel: o.access, ...(o.policyDigest ? { policyDigest: o.policyDigest } : {}), windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + o.days * 86400e3).toISOString() })),
    );
  for (const action of ['accept', 'decline', 'close', 'cancel'] as const)
    withConn(eng.command(action).argument('<engagement>')).option('--reason <text>').action(async (id: string, o: Conn & { reason?: string }) => json(await client(o).post(`/api/v1/engagements/${encodeURIComponent(id)}/${action}`, o.reason ? { reason: o.reason } : {})));
  withConn(eng.command('grant').description('As the developer: record the grant your gateway issued (its digest and level; the token stays with you)').argument('<engagement>'))
    .requiredOption('--grant-token-file <file>', 'the token from `assay grant issue`')
    .addOption(new Option('--level <level>').choices(['black-box', 'grey-box', 'white-box']).makeOptionMandatory())
    .action(async (id: string, o: Conn & { grantTokenFile: string; level: string }) =>
      json(await client(o).post(`/api/v1/engagements/${encodeURIComponent(id)}/grant`, { grantDigest: tokenDigest(readFileSync(o.grantTokenFile, 'utf8').trim()), grantLevel: o.level })),
    );
  withConn(eng.command('list')).action(async (o: Conn) => json(await client(o).all('/api/v1/engagements')));
  withConn(eng.command('show').argument('<engagement>')).action(async (id: string, o: Conn) => json(await client(o).get(`/api/v1/engagements/${encodeURIComponent(id)}`)));

  addGrantCommands(reg, { withConn, client, json });
  addDispatchCommands(reg, { withConn, client, json });

  const rep = reg.command('report').description('Signed reports');
  withConn(rep.command('upload').description('As the tester: upload a signed report (verified on arrival)').argument('<engagement>').argument('<bundle>'))
    .option('--run <log>', 'its run log, so the server recomputes every number')
    .action(async (id: string, bundle: string, o: Conn & { run?: string }) => {
      const r = await client(o).post<{ verified: boolean; exitCode: number }>(`/api/v1/engagements/${encodeURIComponent(id)}/reports`, { bundle: JSON.parse(readFileSync(bundle, 'utf8')) as unknown, ...(o.run ? { runLog: readFileSync(o.run).toString('base64') } : {}) });
      json(r);
      if (!r.verified) process.exitCode = r.exitCode || 1;
    });
  withConn(rep.command('publish').argument('<report>')).action(async (id: string, o: Conn) => json(await client(o).post(`/api/v1/reports/${encodeURIComponent(id)}/publish`, {})));
  withConn(rep.command('show').argument('<report>')).action(async (id: string, o: Conn) => json(await client(o).get(`/api/v1/reports/${encodeURIComponent(id)}`)));
  withConn(rep.command('list').description('Published reports')).action(async (o: Conn) => json(await client(o).all('/api/v1/reports')));

  reg
    .command('audit')
    .description('Prove the registry database\'s event history matches its transparency log (operator; reads both directly)')
    .addOption(new Option('--database <url|file>').env('ASSAY_DATABASE_URL'))
    .option('--log <dir>', 'the registry\'s log directory (default $ASSAY_HOME/registry/log)')
    .action(async (o: { database?: string; log?: string }) => {
      const store = await openStore(o.database ?? join(registryDir(), 'registry.db'));
      const dir = o.log ?? join(registryDir(), 'log');
      try {
        const r = await auditRegistry(store, { src: logSource(dir), vkey: readLogConfig(dir).vkey });
        out(`${r.events} events, ${r.logged} in the log (size ${r.logSize}), ${r.undrained} not yet drained\n`);
        for (const p of r.problems) out(`PROBLEM ${p}\n`);
        out(r.ok ? 'OK: the database history matches the transparency log\n' : `FAILED: ${r.problems.length} problem(s)\n`);
        if (!r.ok) process.exitCode = 30;
      } finally {
        await store.close();
      }
    });
}
