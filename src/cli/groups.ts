import type { Command } from 'commander';

type Group = () => Promise<{ register(program: Command): void }>;

/**
 * Each command group lives in its own module and registers itself on the program; the top-level
 * commands it registers are listed here (test/cli.test.ts checks the list against the modules), so
 * `assay run` loads the engine and not the gateway, the signer or SQLite drivers it never uses.
 */
export const COMMAND_GROUPS: Record<string, { commands: string[]; load: Group }> = {
  run: { commands: ['run', 'score', 'runs'], load: () => import('./commands/run.js') },
  demo: { commands: ['demo'], load: () => import('./commands/demo.js') },
  target: { commands: ['target'], load: () => import('./commands/target.js') },
  suite: { commands: ['suite'], load: () => import('./commands/suite.js') },
  attest: { commands: ['keys', 'attest', 'cosign', 'verify', 'disclose', 'report', 'accredit', 'trust'], load: () => import('./commands/attest.js') },
  stats: { commands: ['stats', 'compare', 'plan'], load: () => import('./commands/stats.js') },
  log: { commands: ['log'], load: () => import('./commands/log.js') },
  analyse: { commands: ['analyse', 'refusal-validate'], load: () => import('./commands/analyse.js') },
  gateway: { commands: ['gateway', 'grant', 'release'], load: () => import('./commands/gateway.js') },
  enclave: { commands: ['enclave'], load: () => import('./commands/enclave.js') },
  policy: { commands: ['policy', 'verdict', 'screen', 'elicit'], load: () => import('./commands/policy.js') },
  agent: { commands: ['agent'], load: () => import('./commands/agent.js') },
  registry: { commands: ['server', 'registry'], load: () => import('./commands/registry.js') },
  findings: { commands: ['finding', 'obligation', 'inbox'], load: () => import('./commands/findings.js') },
  validate: { commands: ['validate'], load: () => import('./commands/validate.js') },
  tamper: { commands: ['tamper'], load: () => import('./commands/tamper.js') },
  audit: { commands: ['audit'], load: () => import('./commands/audit.js') },
  import: { commands: ['import'], load: () => import('./commands/import.js') },
  view: { commands: ['view'], load: () => import('./commands/view.js') },
  worker: { commands: ['worker'], load: () => import('./commands/worker.js') },
};

/**
 * The groups to load for these arguments: the one that owns the command, none for `assay --version`
 * (loading every group costs ~1 s of CPU), or all (help, unknown commands).
 */
export function groupsFor(args: string[]): Group[] {
  const first = args.find((a) => !a.startsWith('-'));
  if (first === undefined && (args.includes('--version') || args.includes('-V')) && !args.some((a) => a === '--help' || a === '-h')) return [];
  const owner = first === undefined ? undefined : Object.values(COMMAND_GROUPS).find((g) => g.commands.includes(first));
  return owner ? [owner.load] : Object.values(COMMAND_GROUPS).map((g) => g.load);
}
