import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { AssayError } from '../../common/errors.js';
import { claimsSchema, tokenDigest } from '../../gateway/grant.js';
import type { RegistryClient } from '../../registry/client.js';

/**
 * `assay registry grant …`: the tester asks for gateway access in an engagement; the developer
 * lists its inbox and approves with the grant its own gateway issued (`assay grant issue`): the
 * level, budget and expiry recorded are read from that token's claims, and only its digest leaves
 * the developer's machine.
 */
type Conn = { url?: string; token?: string };
interface Helpers {
  withConn: (c: Command) => Command;
  client: (o: Conn) => RegistryClient;
  json: (v: unknown) => void;
}

/** The claims of a grant token (the developer's own, from `assay grant issue`), read without its key. */
export function grantTerms(token: string, file: string) {
  const parts = token.split('.');
  let claims;
  try {
    if (parts.length !== 3) throw new Error('not a three-part token');
    claims = claimsSchema.parse(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')));
  } catch (err) {
    throw new AssayError('USAGE', `not a grant token from \`assay grant issue\`: ${(err as Error).message.slice(0, 300)}`, { file });
  }
  return {
    grantDigest: tokenDigest(token),
    level: claims.assay.level,
    budget: { tokens: claims.assay.budget.tokens, costUsd: claims.assay.budget.costUsd },
    expiresAt: new Date(claims.exp * 1000).toISOString(),
  };
}

export function addGrantCommands(reg: Command, h: Helpers): void {
  const { withConn, client, json } = h;
  const g = reg.command('grant').description('Grant requests: the tester asks for gateway access, the developer approves with the grant its gateway issued');
  withConn(g.command('request').description('As the tester: ask for gateway access in an engagement').argument('<engagement>'))
    .addOption(new Option('--level <level>').choices(['black-box', 'grey-box', 'white-box']).makeOptionMandatory())
    .option('--max-tokens-total <n>', 'token budget asked for', (v) => Number(v))
    .option('--max-cost <usd>', 'cost budget asked for', (v) => Number(v))
    .option('--note <text>')
    .action(async (id: string, o: Conn & { level: string; maxTokensTotal?: number; maxCost?: number; note?: string }) => {
      const budget = o.maxTokensTotal !== undefined || o.maxCost !== undefined ? { tokens: o.maxTokensTotal ?? null, costUsd: o.maxCost ?? null } : null;
      json(await client(o).post(`/api/v1/engagements/${encodeURIComponent(id)}/grant-requests`, { level: o.level, budget, ...(o.note ? { note: o.note } : {}) }));
    });
  withConn(g.command('inbox').description('Grant requests your organisations are party to (default: pending ones)'))
    .addOption(new Option('--state <state>').choices(['pending', 'approved', 'refused', 'withdrawn', 'all']).default('pending'))
    .option('--engagement <id>')
    .action(async (o: Conn & { state: string; engagement?: string }) => json(await client(o).all('/api/v1/grant-requests', { state: o.state === 'all' ? undefined : o.state, engagement: o.engagement })));
  withConn(g.command('show').argument('<request>')).action(async (id: string, o: Conn) => json(await client(o).get(`/api/v1/grant-requests/${encodeURIComponent(id)}`)));
  withConn(g.command('approve').description('As the developer: approve with the token your gateway issued (`assay grant issue -o FILE`); only its digest and terms are sent').argument('<request>'))
    .requiredOption('--grant-token-file <file>', 'the token from `assay grant issue`')
    .option('--reason <text>')
    .action(async (id: string, o: Conn & { grantTokenFile: string; reason?: string }) => {
      const terms = grantTerms(readFileSync(o.grantTokenFile, 'utf8').trim(), o.grantTokenFile);
      json(await client(o).post(`/api/v1/grant-requests/${encodeURIComponent(id)}/approve`, { ...terms, ...(o.reason ? { reason: o.reason } : {}) }));
    });
  withConn(g.command('refuse').description('As the developer: refuse a pending request').argument('<request>'))
    .requiredOption('--reason <text>')
    .action(async (id: string, o: Conn & { reason: string }) => json(await client(o).post(`/api/v1/grant-requests/${encodeURIComponent(id)}/refuse`, { reason: o.reason })));
  withConn(g.command('withdraw').description('As the tester: withdraw your pending request').argument('<request>'))
    .option('--reason <text>')
    .action(async (id: string, o: Conn & { reason?: string }) => json(await client(o).post(`/api/v1/grant-requests/${encodeURIComponent(id)}/withdraw`, o.reason ? { reason: o.reason } : {})));
}
