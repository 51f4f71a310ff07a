import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AssayError } from '../../common/errors.js';
import { FINDING_ACTIONS } from '../../registry/finding.js';
import { SEVERITIES } from '../../registry/findings.js';
import { client, withConn, type Conn } from './registry.js';

/**
 * `assay finding …`, `assay obligation …`, `assay inbox`: findings and coordinated disclosure,
 * verdict follow-through and notifications, against a registry server. Output is the API's JSON
 * (docs/formats/findings.md); `finding show` also prints the deadlines in UTC on standard error.
 */
const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);
const json = (v: unknown) => out(`${JSON.stringify(v, null, 2)}\n`);
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const enc = encodeURIComponent;

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AssayError('USAGE', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AssayError('USAGE', `${what} ${file} is not JSON: ${(e as Error).message}`, { file });
  }
}

type Clock = { notifiedAt: string; fixDeadline: string | null; disclosureAt: string | null; preNotifyAt: string | null; publishedAt: string | null; graceGranted: boolean; track: string | null };
function deadlines(f: { id: string; state?: string; clock?: Clock; published: boolean }): string {
  if (!f.clock) return `${f.id}: ${f.published ? 'published' : 'reserved or under embargo (existence only)'}\n`;
  const c = f.clock;
  return (
    `${f.id}: ${f.state}${f.published ? ' (published)' : ''}; ${c.track ?? 'no'} clock${c.graceGranted ? ', grace granted' : ''}\n` +
    `  notified      ${c.notifiedAt}\n  fix deadline  ${c.fixDeadline ?? '—'}\n  pre-notify    ${c.preNotifyAt ?? '—'}\n  publication   ${c.publishedAt ?? c.disclosureAt ?? '—'}${c.publishedAt ? ' (done)' : ''}\n`
  );
}

export function register(program: Command): void {
  const finding = program.command('finding').description('Findings (flaw reports) and coordinated disclosure on a registry');
  withConn(finding.command('file').description('As a tester: file a finding; details (description, reproduction, evidence) from a JSON file'))
    .requiredOption('--as <org>', 'your tester organisation id')
    .requiredOption('--model <ids>', 'affected model releases (registered ids, comma-separated)', list)
    .requiredOption('--title <text>')
    .requiredOption('--risk-domain <domain>', 'e.g. "cyber: prompt injection", "bio" (bio/chem/nuclear/radiological and critical cyber are the restricted class)')
    .addOption(new Option('--severity <s>').choices([...SEVERITIES]).makeOptionMandatory())
    .requiredOption('--details <file>', 'JSON: {"description", "reproduction", "evidence": [{"kind": "report|transcript|link", "ref", "digest"?}]}')
    .option('--engagement <id>', 'the engagement it was found in')
    .option('--id <id>', 'an identifier you reserved (assay finding reserve)')
    .option('--in-the-wild', 'known to be exploited in the wild (7-day clock)')
    .option('--jurisdictions <codes>', 'where the affected releases are available (agency matching; default the developer\'s)', list)
    .action(async (o: Conn & { as: string; model: string[]; title: string; riskDomain: string; severity: string; details: string; engagement?: string; id?: string; inTheWild?: boolean; jurisdictions?: string[] }) => {
      const f = await client(o).post<Parameters<typeof deadlines>[0]>('/api/v1/findings', {
        reporterId: o.as, modelIds: o.model, title: o.title, riskDomain: o.riskDomain, severity: o.severity, details: readJson(o.details, 'details file'), inTheWild: Boolean(o.inTheWild),
        ...(o.engagement ? { engagementId: o.engagement } : {}), ...(o.id ? { id: o.id } : {}), ...(o.jurisdictions ? { jurisdictions: o.jurisdictions } : {}),
      });
      json(f);
      err(deadlines(f));
    });
  withConn(finding.command('reserve').description('As an accredited tester: reserve finding identifiers in your scope'))
    .requiredOption('--as <org>')
    .option('--count <n>', 'how many (1..20)', (v) => Number(v), 1)
    .action(async (o: Conn & { as: string; count: number }) => json(await client(o).post('/api/v1/finding-ids', { testerId: o.as, count: o.count })));
  withConn(finding.command('show').description('A finding, its deadlines (UTC) and timeline; non-parties see only what is public').argument('<id>')).action(async (id: string, o: Conn) => {
    const f = await client(o).get<Parameters<typeof deadlines>[0]>(`/api/v1/findings/${enc(id)}`);
    json(f);
    err(deadlines(f));
  });
  withConn(finding.command('list').description('Published findings, or with --mine those your organisations are party to or were notified of'))
    .option('--mine')
    .option('--state <state>')
    .action(async (o: Conn & { mine?: boolean; state?: string }) => json(await client(o).all('/api/v1/findings', { mine: o.mine ? 'true' : undefined, state: o.state })));
  withConn(finding.command('transition').description(`Move a finding: ${FINDING_ACTIONS.join(' | ')}`).argument('<id>').addArgument(new Command().createArgument('<action>').choices([...FINDING_ACTIONS])))
    .requiredOption('--reason <text>')
    .option('--duplicate-of <id>', 'for duplicate: the original finding')
    .action(async (id: string, action: string, o: Conn & { reason: string; duplicateOf?: string }) => {
      const f = await client(o).post<Parameters<typeof deadlines>[0]>(`/api/v1/findings/${enc(id)}/transition`, { action, reason: o.reason, ...(o.duplicateOf ? { duplicateOf: o.duplicateOf } : {}) });
      json(f);
      err(deadlines(f));
    });
  for (const [cmd, path, what] of [
    ['grace', 'grace', 'As the developer: request the one grace period (before the fix deadline)'],
    ['in-the-wild', 'in-the-wild', 'Record that the flaw is exploited in the wild (7-day clock)'],
    ['publish', 'publish', 'Consent to publication (published when both sides consent, or at once after the deadline)'],
  ] as const)
    withConn(finding.command(cmd).description(what).argument('<id>'))
      .requiredOption('--reason <text>')
      .action(async (id: string, o: Conn & { reason: string }) => {
        const f = await client(o).post<Parameters<typeof deadlines>[0]>(`/api/v1/findings/${enc(id)}/${path}`, { reason: o.reason });
        json(f);
        err(deadlines(f));
      });
  withConn(finding.command('acknowledge').description('As a pre-notified agency: acknowledge the embargoed notice').argument('<id>'))
    .requiredOption('--as <org>', 'your agency organisation id')
    .action(async (id: string, o: Conn & { as: string }) => json(await client(o).post(`/api/v1/findings/${enc(id)}/acknowledge-notice`, { agencyId: o.as })));
  withConn(finding.command('reveal').description('As the reporter: reveal a restricted finding\'s details to a named organisation').argument('<id>'))
    .requiredOption('--to <org>')
    .requiredOption('--reason <text>')
    .action(async (id: string, o: Conn & { to: string; reason: string }) => json(await client(o).post(`/api/v1/findings/${enc(id)}/reveal`, { orgId: o.to, reason: o.reason })));

  const obligation = program.command('obligation').description('Verdict follow-through: obligations from threshold-crossed signed verdicts');
  withConn(obligation.command('register-verdict').description('As a tester: register a signed verdict (assay verdict --sign) on a model release'))
    .requiredOption('--as <org>')
    .requiredOption('--model <id>')
    .requiredOption('--verdict <file>', 'the signed verdict bundle (DSSE JSON)')
    .requiredOption('--policy <file>', 'the policy file the verdict names (the registry recomputes the verdict)')
    .option('--report <file>', 'a signed report the verdict cites (repeatable; every cited report is needed)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--model-facts <file>', 'the model facts file, when the verdict used one')
    .option('--tamper <file>', 'a signed tamper report the verdict cites (repeatable; with --tamper-log)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--tamper-log <file>', 'the tamper log (tamper.jsonl) a --tamper report is over (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--jurisdictions <codes>', 'whose agencies oversee the follow-through (default the developer\'s)', list)
    .action(async (o: Conn & { as: string; model: string; verdict: string; policy: string; report?: string[]; modelFacts?: string; tamper?: string[]; tamperLog?: string[]; jurisdictions?: string[] }) => {
      const text = (file: string, what: string) => {
        try {
          return readFileSync(file, 'utf8');
        } catch (e) {
          throw new AssayError('IO', `cannot read the ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
        }
      };
      const { pairTamperFiles } = await import('../../policy/signed-verdict.js');
      const paired = pairTamperFiles((o.tamper ?? []).map((f) => ({ bytes: Buffer.from(text(f, 'tamper report')), source: f })), (o.tamperLog ?? []).map((f) => ({ bytes: Buffer.from(text(f, 'tamper log')), source: f })));
      if (paired.unpaired.length) throw new AssayError('USAGE', `no --tamper-log given is the tamper log ${paired.unpaired.join(', ')} signs`);
      json(
        await client(o).post('/api/v1/verdicts', {
          ...(paired.given.length ? { tamper: paired.given.map((g) => ({ report: JSON.parse(Buffer.from(g.bytes).toString('utf8')) as unknown, log: Buffer.from(g.logBytes).toString('utf8') })) } : {}),
          testerId: o.as, modelId: o.model, verdict: readJson(o.verdict, 'verdict file'), policy: text(o.policy, 'policy'),
          reports: (o.report ?? []).map((r) => readJson(r, 'report')), ...(o.modelFacts ? { modelFacts: text(o.modelFacts, 'model facts') } : {}),
          ...(o.jurisdictions ? { jurisdictions: o.jurisdictions } : {}),
        }),
      );
    });
  withConn(obligation.command('list').description('Obligations of your organisations'))
    .option('--state <state>', 'open | fulfilled | confirmed | disputed')
    .option('--overdue')
    .action(async (o: Conn & { state?: string; overdue?: boolean }) => json(await client(o).get('/api/v1/obligations', { state: o.state, overdue: o.overdue ? 'true' : undefined })));
  withConn(obligation.command('show').argument('<id>')).action(async (id: string, o: Conn) => json(await client(o).get(`/api/v1/obligations/${enc(id)}`)));
  withConn(obligation.command('fulfil').description('As the developer: record how the obligation was fulfilled').argument('<id>'))
    .requiredOption('--statement <text>')
    .option('--evidence <kind=ref...>', 'evidence items, e.g. release=mdl_… retest=rep_…', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (id: string, o: Conn & { statement: string; evidence?: string[] }) => {
      const evidence = (o.evidence ?? []).map((e) => {
        const i = e.indexOf('=');
        if (i < 1) throw new AssayError('USAGE', `--evidence ${e}: expected kind=ref`);
        return { kind: e.slice(0, i), ref: e.slice(i + 1) };
      });
      json(await client(o).post(`/api/v1/obligations/${enc(id)}/fulfil`, { statement: o.statement, evidence }));
    });
  for (const review of ['confirm', 'dispute'] as const)
    withConn(obligation.command(review).description(`As the tester or an agency: ${review} a fulfilment`).argument('<id>'))
      .requiredOption('--reason <text>')
      .action(async (id: string, o: Conn & { reason: string }) => json(await client(o).post(`/api/v1/obligations/${enc(id)}/${review}`, { reason: o.reason })));

  withConn(program.command('inbox').description('An organisation\'s notifications, newest first'))
    .requiredOption('--as <org>')
    .option('--unread')
    .action(async (o: Conn & { as: string; unread?: boolean }) => json(await client(o).get(`/api/v1/orgs/${enc(o.as)}/inbox`, { unread: o.unread ? 'true' : undefined, limit: 200 })));
}
