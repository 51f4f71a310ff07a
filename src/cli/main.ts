import './runtime.js';
import { Command } from 'commander';
import { AssayError } from '../common/errors.js';
import { processRedactor } from '../common/secrets.js';
import { ASSAY_VERSION } from '../version.js';
import { groupsFor } from './groups.js';
async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('assay')
    .description('Independent, third-party testing of frontier AI models')
    .version(ASSAY_VERSION)
    .showHelpAfterError()
    .exitOverride();
  for (const load of groupsFor(argv.slice(2))) (await load()).register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch(async (err: unknown) => {
  // An error may quote what an upstream echoed (a key in a header, base64-encoded): redacted like the run log.
  const red = (t: string) => processRedactor(true).redact(t);
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const code = (err as { code: string }).code;
    // commander reports help/version as "errors" with exit code 0.
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exit(0);
    // Bad options and arguments are usage errors: exit 2 (commander's own default is 1).
    if (code.startsWith('commander.')) process.exit(2);
  }
  if (err instanceof AssayError) {
    process.stderr.write(red(`assay: error [${err.code}]: ${err.message}\n`));
    process.exit(2);
  }
  // An unexpected error: its stack, with the bundle's positions mapped back to the sources.
  let text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  try {
    text = (await import('./stack.js')).mapStack(text);
  } catch {
    /* keep the bundle's positions */
  }
  process.stderr.write(red(`assay: ${text}\n`));
  process.exit(1);
});
