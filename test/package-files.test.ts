import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// What `npm pack` / `npm publish` ship: the built CLI and UI (git-ignored, so only the "files" list brings
// them in), the suites, policies and schemas the CLI reads at run time, and no tests or sources.
const ROOT = join(import.meta.dirname, '..');

test('the package ships the bundled CLI, web UI and run-time data, and not the tests', { timeout: 60_000 }, () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  const files = new Set(pack!.files.map((f) => f.path));
  for (const f of ['bin/assay.js', 'dist-cli/main.js', 'dist-cli/verify-worker.js', 'dist-web/index.html', 'suites/demo-arithmetic/suite.yaml', 'policies/examples/demo-two-stage.yaml', 'python/assay_whitebox.py', 'LICENSE', 'README.md', 'package.json'])
    assert.ok(files.has(f), `${f} is not in the package`);
  // Every chunk the entry imports is shipped (a missing chunk fails only when that command runs).
  const chunks = [...files].filter((f) => f.startsWith('dist-cli/') && f.endsWith('.js'));
  assert.ok(chunks.length > 10, `only ${chunks.length} bundle files`);
  for (const f of files) assert.ok(!f.startsWith('test/') && !f.startsWith('src/') && !f.startsWith('node_modules/') && !f.startsWith('dist-bench/'), `${f} should not be shipped`);
});
