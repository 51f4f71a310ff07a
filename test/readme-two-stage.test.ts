import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, cliEntry, tmp } from './helpers.js';

/**
 * README's two-stage block, run as written by bash on a fresh $ASSAY_HOME, with `assay` on PATH
 * (the built CLI) and the repository's policies/ beside it. The only substitution: the target's
 * port 8897 becomes a free one, so parallel test runs do not collide.
 */

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

test("README's two-stage block runs as written: escalate, cross, sign, verify", async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('### Policies and the two-stage regime');
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(from >= 0 && m, 'the block is in the README');
  const port = await freePort();
  const block = m[1]!.replaceAll('8897', String(port));
  const dir = tmp();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'assay'), `#!/bin/sh\nexec "${process.execPath}" "${cliEntry()}" "$@"\n`);
  chmodSync(join(bin, 'assay'), 0o755);
  const work = join(dir, 'work');
  mkdirSync(work);
  symlinkSync(join(ROOT, 'policies'), join(work, 'policies'));
  const script = `${block}\necho "EXIT-OF-VERIFY $?"\nkill %1 2>/dev/null\nwait 2>/dev/null\n`;
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const p = spawn('bash', ['-c', script], { cwd: work, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ASSAY_HOME: join(dir, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => res({ code, stdout, stderr }));
  });
  const all = out.stdout + out.stderr;
  assert.match(out.stdout, /SCREEN: ESCALATE to stage 2/, all);
  assert.match(out.stdout, /elicitation run \S+ \(completed\): 20 judged, 0 skipped/, all);
  assert.match(out.stdout, /VERDICT: THRESHOLD CROSSED/, all);
  assert.match(out.stderr, /signed verdict \(threshold-crossed, 2 reports cited, logged\)/, all);
  assert.match(out.stdout, /recomputed from the cited reports: threshold-crossed\nVERIFIED/, all);
  assert.match(out.stdout, /EXIT-OF-VERIFY 0/, all);
  assert.doesNotMatch(out.stderr, /assay: error/, all);
});
