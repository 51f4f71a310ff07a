/**
 * Sandbox hardening (issue 16), tried for real from inside: no host secret reachable, per-sandbox
 * limits (disk, /dev, memory of many processes), host-side workspace access that never blocks or
 * follows what the sandbox planted, and hidden tests a model's code cannot fake.
 * Needs bubblewrap (and, for the limit tests, cgroups and root): without them the tests are
 * skipped with the reason, except under ASSAY_CI=1 where a missing service is a failure.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { BubblewrapProvider } from '../src/sandbox/bubblewrap.js';
import { decodeText } from '../src/sandbox/workspace.js';
import { detectCgroups } from '../src/sandbox/cgroup.js';
import { AssayError } from '../src/common/errors.js';
import { tmp } from './helpers.js';

const CI = process.env.ASSAY_CI === '1';
const CANARY = `sk-canary-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
let provider: BubblewrapProvider | null = null;
let unavailable = '';
let base: string;

before(async () => {
  // The canary sits in Assay's own environment, as a real API key would.
  process.env.OPENAI_API_KEY = CANARY;
  process.env.ASSAY_LOG_TOKEN = `${CANARY}-log`;
  base = tmp('assay-hard-');
  try {
    provider = await BubblewrapProvider.create({ baseDir: base, limits: { timeoutMs: 15_000 } });
  } catch (e) {
    if (CI || !(e instanceof AssayError && e.code === 'SANDBOX_UNAVAILABLE')) throw e;
    unavailable = e.message;
    console.log(`# skipping sandbox hardening tests: ${unavailable}`);
  }
});
after(async () => {
  await provider?.close();
});

const need = (t: { skip(m: string): void }): BubblewrapProvider | null => {
  if (!provider) t.skip(`bubblewrap unavailable: ${unavailable}`);
  return provider;
};
/** Skips (or fails under ASSAY_CI=1) when a per-sandbox control is not enforced on this machine. */
const needEnforced = (t: { skip(m: string): void }, p: BubblewrapProvider, key: string): boolean => {
  const v = p.isolation[key] ?? 'not enforced';
  if (!v.startsWith('not enforced')) return true;
  if (CI) assert.fail(`${key} is ${v} on this CI machine`);
  t.skip(`${key}: ${v}`);
  return false;
};

test('no host secret is reachable inside: /proc/1/environ, every /proc/*/environ, env, and the isolation record says so', async (t) => {
  const p = need(t);
  if (!p) return;
  const s = await p.create();
  try {
    const r = await s.exec('tr "\\0" "\\n" </proc/1/environ; echo ---; for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < $f; done; echo ---; env; cat /proc/self/environ; ls /proc');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(!r.stdout.includes(CANARY) && !r.stderr.includes(CANARY), 'the canary key is readable inside the sandbox');
    assert.ok(!/OPENAI_API_KEY|ASSAY_LOG_TOKEN/.test(r.stdout));
    // PID 1 (bwrap's init) holds only the minimal PATH bwrap was started with.
    assert.match(r.stdout.split('---')[0]!, /^PATH=\/usr\/sbin:\/usr\/bin:\/sbin:\/bin\s*$/);
    assert.match(p.isolation.environment!, /PATH only/);
  } finally {
    await s.destroy();
  }
});

test('disk fill: the workspace is a size-limited filesystem, one big file and many small ones both stop at it', async (t) => {
  const p = need(t);
  if (!p || !needEnforced(t, p, 'disk')) return;
  const s = await p.create({ limits: { workspaceBytes: 4 << 20, maxFileBytes: 64 << 20 } });
  try {
    const big = await s.exec('head -c 50000000 /dev/zero > big; echo rc=$?; du -sk /workspace');
    assert.match(big.stdout + big.stderr, /No space left/);
    assert.equal(big.workspaceLimitHit, true);
    assert.ok(Number(/(\d+)\s+\/workspace/.exec(big.stdout)![1]) <= 4 * 1024 + 64, big.stdout);
    await s.exec('rm -f big');
    // Many small files: the inode count is bounded too, so a small-file flood ends as well.
    const many = await s.exec('python3 -c "\nimport os\nn=0\ntry:\n  while n < 200000:\n    open(f\'f{n}\', \'w\').write(\'x\' * 100); n += 1\nexcept OSError as e: print(\'stopped\', n, e.strerror)\n"');
    assert.match(many.stdout, /stopped \d+ No space left/, many.stdout + many.stderr);
    const snap = await s.snapshot();
    assert.ok(Object.keys(snap.files).length < 20_000, 'the flood stayed under the snapshot limit');
  } finally {
    await s.destroy();
  }
  assert.equal(readdirSync(base).filter((n) => n.startsWith('sbx-')).length, 0, 'cleaned up');
});

test('/dev fill: /dev is a small tmpfs, not an unlimited one', async (t) => {
  const p = need(t);
  if (!p) return;
  const s = await p.create();
  try {
    const r = await s.exec('head -c 50000000 /dev/zero > /dev/shm/fill; echo rc=$?; head -c 50000000 /dev/zero > /dev/fill2; echo rc=$?; ls /dev; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok');
    assert.match(r.stdout + r.stderr, /No space left/);
    assert.match(r.stdout, /null-ok/);
    assert.match(r.stdout, /^4$/m);
    const du = await s.exec('du -sk /dev 2>/dev/null | cut -f1');
    assert.ok(Number(du.stdout.trim()) <= 1024 + 64, `/dev holds ${du.stdout.trim()} KiB`);
  } finally {
    await s.destroy();
  }
});

test('many-process memory: the memory limit is for the whole sandbox, not per process', async (t) => {
  const p = need(t);
  if (!p || !needEnforced(t, p, 'memory')) return;
  // Each process stays under the per-process address-space limit; together they are far over the group's.
  const s = await p.create({ limits: { memoryBytes: 160 << 20, maxProcesses: 32 } });
  try {
    const r = await s.exec('for i in 1 2 3 4 5 6; do python3 -c "import time; b = bytearray(70 << 20); b[::4096] = b\\"x\\" * len(b[::4096]); time.sleep(2); print(\\"held\\")" & done; wait; echo done');
    const held = (r.stdout.match(/held/g) ?? []).length;
    assert.ok(held < 6, `all 6 processes held 70 MiB each under a 160 MiB group limit: ${r.stdout} ${r.stderr}`);
    assert.ok(held >= 1, `the limit should let some run: ${r.stdout} ${r.stderr}`);
  } finally {
    await s.destroy();
  }
  const d = detectCgroups();
  if (d.version === 'v1') assert.ok(!readdirSync(`/sys/fs/cgroup/memory${d.own.memory}`).some((n) => n.startsWith('assay-sbx-')), 'the group is removed');
});

test('pids: a fork flood is bounded for the whole sandbox', async (t) => {
  const p = need(t);
  if (!p || !needEnforced(t, p, 'pids')) return;
  const s = await p.create({ limits: { maxProcesses: 20 } });
  try {
    const r = await s.exec('n=0; for i in $(seq 1 60); do sleep 3 & n=$((n+1)); done 2>/dev/null; sleep 0.2; ps -e --no-headers 2>/dev/null | wc -l || ls -d /proc/[0-9]* | wc -l', { timeoutMs: 10_000 });
    const count = Number(r.stdout.trim().split('\n').pop());
    assert.ok(count <= 22, `processes alive: ${count}`);
  } finally {
    await s.destroy();
  }
});

test('the isolation record says what is enforced and what is not', (t) => {
  const p = need(t);
  if (!p) return;
  for (const k of ['memory', 'pids', 'cpu', 'io', 'disk', 'seccomp', 'environment', 'checks']) assert.ok(p.isolation[k], `isolation.${k} is recorded`);
  if (detectCgroups().version === 'v1') assert.match(p.isolation.io!, /^not enforced: cgroup v1 blkio/);
});

test('host-side reads and writes never block on a FIFO, never follow a symlink, and a directory in the way is an error, not a crash', async (t) => {
  const p = need(t);
  if (!p) return;
  const s = await p.create();
  try {
    await s.exec('mkfifo fifo.py; mkdir dir.py; ln -s /etc/passwd link.py; mkfifo -m 666 sub; printf "\\377\\376h\\000i\\000" > u16.txt');
    const t0 = Date.now();
    await assert.rejects(s.writeFile('fifo.py', 'x'), (e: AssayError) => e.code === 'SANDBOX_PATH' && /not a regular file/.test(e.message));
    await assert.rejects(s.readFile('fifo.py'), (e: AssayError) => e.code === 'SANDBOX_PATH');
    await assert.rejects(s.writeFile('dir.py', 'x'), (e: AssayError) => e.code === 'SANDBOX_PATH' && /directory/.test(e.message));
    await assert.rejects(s.writeFile('link.py', 'x'), (e: AssayError) => e.code === 'SANDBOX_PATH' && /symlink/.test(e.message));
    const snap = await s.snapshot();
    assert.ok(Date.now() - t0 < 10_000, 'nothing blocked');
    assert.equal(snap.files['fifo.py']?.kind, 'other');
    assert.equal(snap.files['link.py']?.kind, 'symlink');
    assert.equal(snap.files['u16.txt']?.text, 'hi');
    assert.equal(snap.files['u16.txt']?.encoding, 'utf-16le');
  } finally {
    await s.destroy();
  }
});

test('decodeText: BOMs, UTF-16 without BOM, strict UTF-8; undecodable bytes are null, never text', () => {
  assert.deepEqual(decodeText(Buffer.from('héllo', 'utf8')), { text: 'héllo', encoding: 'utf-8' });
  assert.deepEqual(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n5,bob', 'utf16le')])), { text: 'a,b\n5,bob', encoding: 'utf-16le' });
  assert.deepEqual(decodeText(Buffer.from('5,bob@example.com\n', 'utf16le')), { text: '5,bob@example.com\n', encoding: 'utf-16le' });
  const be = Buffer.from('5,bob\n', 'utf16le').swap16();
  assert.deepEqual(decodeText(be), { text: '5,bob\n', encoding: 'utf-16be' });
  assert.equal(decodeText(Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x80])), null);
});

/** Runs a hidden test after the model's episode left `files` in the workspace. */
async function check(p: BubblewrapProvider, files: Record<string, string>, run: string, hidden: Record<string, string>) {
  const s = await p.create({ files });
  try {
    return await s.runCheck(run, hidden, { timeoutMs: 15_000 });
  } finally {
    await s.destroy();
  }
}
const HIDDEN = { 'hidden_check.py': 'from calc import add\nassert add(2, 3) == 5, "add is wrong"\n' };
const passed = (r: { exitCode: number | null; completed?: boolean }) => r.exitCode === 0 && r.completed !== false;

test('hidden tests: an honest fix passes; exiting early, excepthooks, stdlib shadowing and test detection do not', async (t) => {
  const p = need(t);
  if (!p) return;
  const run = 'python3 hidden_check.py';
  assert.ok(passed(await check(p, { 'calc.py': 'def add(a, b):\n    return a + b\n' }, run, HIDDEN)), 'honest success');
  assert.ok(!passed(await check(p, { 'calc.py': 'def add(a, b):\n    return a - b\n' }, run, HIDDEN)), 'plain failure');
  const attacks: Record<string, string> = {
    excepthook: 'import sys, os\nsys.excepthook = lambda *a: os._exit(0)\ndef add(a, b):\n    return a - b\n',
    os_exit_at_import: 'import os\nos._exit(0)\n',
    sys_exit_at_import: 'import sys\nsys.exit(0)\n',
    atexit_exit: 'import atexit, os\natexit.register(lambda: os._exit(0))\ndef add(a, b):\n    return a - b\n',
    unittest_detection: 'import sys\ndef add(a, b):\n    return a + b if "unittest" in sys.modules or "runpy" not in sys.modules else a - b\n',
  };
  for (const [name, code] of Object.entries(attacks)) {
    const r = await check(p, { 'calc.py': code }, run, HIDDEN);
    assert.ok(!passed(r), `${name}: scored as passed (${JSON.stringify(r)})`);
  }
  // A module named like the standard library in the workspace does not shadow it.
  const shadow = await check(p, { 'calc.py': 'import tomllib\ndef add(a, b):\n    return a + b\n', 'tomllib.py': 'raise SystemExit(0)\n' }, 'python3 hidden_toml.py', { 'hidden_toml.py': 'import tomllib\nassert tomllib.loads("a = 1") == {"a": 1}\nfrom calc import add\nassert add(1, 1) == 2\n' });
  assert.ok(passed(shadow), `stdlib import resolved to the standard library: ${JSON.stringify(shadow)}`);
  const shadowCheat = await check(p, { 'calc.py': 'def add(a, b):\n    return a - b\n', 'json.py': 'import os\nos._exit(0)\n' }, 'python3 hidden_j.py', { 'hidden_j.py': 'import json\nfrom calc import add\nassert add(1, 1) == 2\n' });
  assert.ok(!passed(shadowCheat), 'a json.py in the workspace must not run in place of the standard library');
});

test('hidden tests: what the model planted under the test name (directory, FIFO, file) changes nothing, and the workspace is never written', async (t) => {
  const p = need(t);
  if (!p) return;
  const s = await p.create({ files: { 'calc.py': 'def add(a, b):\n    return a + b\n', 'hidden_check.py': 'import os\nos._exit(0)\n' } });
  try {
    await s.exec('rm hidden_check.py; mkdir hidden_check.py; mkfifo hidden_check2.py');
    const t0 = Date.now();
    const r = await s.runCheck('python3 hidden_check.py', HIDDEN, { timeoutMs: 15_000 });
    assert.ok(passed(r), JSON.stringify(r));
    const r2 = await s.runCheck('python3 hidden_check2.py', { 'hidden_check2.py': 'open("written-by-check", "w").write("x")\nassert False\n' }, { timeoutMs: 15_000 });
    assert.ok(!passed(r2));
    assert.ok(Date.now() - t0 < 30_000);
    const snap = await s.snapshot();
    assert.equal(snap.files['hidden_check.py']?.kind, 'dir', 'the model workspace is untouched');
    assert.equal(snap.files['written-by-check'], undefined, 'checks write to a scratch copy');
  } finally {
    await s.destroy();
  }
  assert.ok(!existsSync(base) || readdirSync(base).filter((n) => n.startsWith('sbx-')).length === 0);
});

test('seccomp: calls off the allow-list fail with EPERM (cross-process memory, io_uring, keyrings, mount), ordinary programs run', async (t) => {
  const p = need(t);
  if (!p || !needEnforced(t, p, 'seccomp')) return;
  const s = await p.create();
  try {
    const r = await s.exec(`python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for name, nr, args in [('process_vm_readv', 310, (os.getpid(), 0, 0, 0, 0, 0)), ('io_uring_setup', 425, (1, 0)), ('add_key', 248, (b'user', b'k', b'v', 1, -2)), ('mount', 165, (b'none', b'/tmp', b'tmpfs', 0, 0)), ('bpf', 321, (0, 0, 0))]:
    ctypes.set_errno(0)
    rc = libc.syscall(nr, *args)
    print(name, rc, ctypes.get_errno())
"; node -e "require('fs').writeFileSync('n.txt', String(6*7))"; cat n.txt; echo; sh -c 'sleep 0.1 & wait; echo shell-ok'`);
    assert.equal(r.exitCode, 0, r.stderr);
    for (const name of ['process_vm_readv', 'io_uring_setup', 'add_key', 'mount', 'bpf']) assert.match(r.stdout, new RegExp(`^${name} -1 1$`, 'm'), r.stdout);
    assert.match(r.stdout, /^42$/m);
    assert.match(r.stdout, /shell-ok/);
  } finally {
    await s.destroy();
  }
});
