import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

const fixture = join(ROOT, 'test/fixtures/ci/missing-service.test.ts');
const runIt = (env: NodeJS.ProcessEnv) => {
  const { ASSAY_CI: _ci, NODE_TEST_CONTEXT: _ctx, ...base } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { env: { ...base, ...env }, encoding: 'utf8', cwd: ROOT });
};

test('a missing service: skipped with the reason printed outside CI, a failure under ASSAY_CI=1', () => {
  const local = runIt({});
  assert.equal(local.status, 0, local.stdout + local.stderr);
  assert.match(local.stdout + local.stderr, /Imaginary unavailable \(not running on 127\.0\.0\.1:1\)/);
  assert.match(local.stdout, /# skipped 1/);
  const ci = runIt({ ASSAY_CI: '1' });
  assert.notEqual(ci.status, 0, 'under ASSAY_CI=1 the run must fail');
  assert.match(ci.stdout, /not ok .*required service: Imaginary \(ASSAY_CI=1\)/);
  assert.match(ci.stdout, /a missing service is a failure, not a skip/);
});
