import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assayHome } from '../../home.js';
import { collect, int } from '../options.js';

export function register(program: Command): void {
  program
    .command('view')
    .description('Open the web UI over $ASSAY_HOME (runs, samples, compare, verdicts, reports, transparency log) on 127.0.0.1')
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)', int(0, 65535), 0)
    .option('--trust <file>', 'trust file for report verification (default: $ASSAY_HOME/trust.json, else demo-trust.json)')
    .option('--policy <file>', 'a policy file offered on the verdict screen (repeatable)', collect)
    .action(async (o: { port: number; trust?: string; policy?: string[] }) => {
      const { startViewServer } = await import('../../view/server.js');
      const s = await startViewServer({ home: assayHome(), port: o.port, ...(o.trust ? { trustFile: resolve(o.trust) } : {}), policies: (o.policy ?? []).map((p) => resolve(p)) });
      // The token is in the URL only: whoever can read this terminal may view the home.
      process.stdout.write(`assay view on ${assayHome()}\nopen: ${s.url}?token=${s.token}\n(Ctrl-C to stop)\n`);
      const stop = () => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
