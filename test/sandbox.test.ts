/**
 * The bubblewrap sandbox: what a model-chosen command can and cannot do. Each escape attempt is
 * made for real from inside, and the host is checked afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer, get } from 'node:http';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BubblewrapProvider } from '../src/sandbox/bubblewrap.js';
import { workspaceParts } from '../src/sandbox/workspace.js';
import { AssayError } from '../src/common/errors.js';
import { ROOT, tmp } from './helpers.js';

let provider: BubblewrapProvider;
let base: string;
before(async () => {
  base = tmp('assay-sbx-');
  provider = await BubblewrapProvider.create({ baseDir: base, limits: { timeoutMs: 8_000 } });
});
after(async () => {
  await provider?.close();
});

const marker = () => `m${Math.random().toString(36).slice(2, 10)}`;
/** Host processes whose command line contains `s` (the test's own pgrep excluded). */
const hostProcs = (s: string) => {
  try {
    return execFileSync('pgrep', ['-f', s], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

test('a command runs as uid 65534 in the workspace with the initial files, and its writes are visible to snapshots', async () => {
  const s = await provider.create({ files: { 'src/a.txt': 'hello\n', 'b.py': 'print(6*7)\n' } });
  try {
    const r = await s.exec('id -u; id -g; hostname; pwd; cat src/a.txt; python3 b.py; node -e "console.log(1+1)"; echo new > c.txt; mkdir -p d/e');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['65534', '65534', 'sandbox', '/workspace', 'hello', '42', '2']);
    const snap = await s.snapshot();
    assert.equal(snap.files['c.txt']?.text, 'new\n');
    assert.equal(snap.files['src/a.txt']?.digest, 'sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
    assert.equal(snap.files['d/e']?.kind, 'dir');
    assert.equal((await s.readFile('/workspace/c.txt')).toString(), 'new\n');
    const listed = (await s.listFiles()).files.map((f) => f.path);
    assert.deepEqual(listed, ['b.py', 'c.txt', 'd', 'd/e', 'src', 'src/a.txt']);
  } finally {
    await s.destroy();
  }
});

test('writing outside the workspace fails: the system is read-only and the host tree is not visible', async () => {
  const m = marker();
  const hostDir = tmp('assay-host-');
  writeFileSync(join(hostDir, 'secret.txt'), 'host secret');
  const s = await provider.create();
  try {
    const r = await s.exec(
      [
        `echo x > /etc/${m} 2>/dev/null && echo WROTE-ETC`,
        `echo x > /usr/${m} 2>/dev/null && echo WROTE-USR`,
        `echo x > /${m} 2>/dev/null && echo WROTE-ROOT`,
        `echo x > /tmp/${m} && echo TMP-PRIVATE`,
        `cat ${hostDir}/secret.txt 2>/dev/null && echo READ-HOST-TMP`,
        `ls /work /root /home /var /run 2>/dev/null && echo SAW-HOST`,
        `cat /etc/shadow 2>/dev/null && echo READ-SHADOW`,
        `mount -t tmpfs none /usr 2>/dev/null && echo MOUNTED`,
        `unshare -U true 2>/dev/null && echo NESTED-USERNS`,
        'exit 0',
      ].join('; '),
    );
    assert.equal(r.stdout.trim(), 'TMP-PRIVATE', r.stdout);
    for (const p of [`/etc/${m}`, `/usr/${m}`, `/${m}`, `/tmp/${m}`]) assert.equal(existsSync(p), false, p);
  } finally {
    await s.destroy();
  }
});

test('symlinks and relative paths cannot lead Assay itself outside the workspace', async () => {
  const hostDir = tmp('assay-host-');
  writeFileSync(join(hostDir, 'victim.txt'), 'original');
  const s = await provider.create();
  try {
    // The sandbox cannot see hostDir, but it can plant links naming host paths for Assay to follow.
    await s.exec(`ln -s ${hostDir}/victim.txt link; ln -s ${hostDir} dirlink; ln -s /etc/passwd pw`);
    await assert.rejects(s.readFile('pw'), (e: AssayError) => e.code === 'SANDBOX_PATH' && /symlink/.test(e.message));
    await assert.rejects(s.writeFile('link', 'pwned'), (e: AssayError) => e.code === 'SANDBOX_PATH');
    await assert.rejects(s.writeFile('dirlink/new.txt', 'pwned'), (e: AssayError) => e.code === 'SANDBOX_PATH');
    await assert.rejects(s.readFile('../owner.json'), (e: AssayError) => e.code === 'SANDBOX_PATH' && /outside/.test(e.message));
    await assert.rejects(s.readFile('/etc/passwd'), (e: AssayError) => e.code === 'SANDBOX_PATH');
    assert.equal(readFileSync(join(hostDir, 'victim.txt'), 'utf8'), 'original');
    assert.deepEqual(readdirSync(hostDir), ['victim.txt']);
    const snap = await s.snapshot();
    assert.deepEqual(snap.files['pw'], { kind: 'symlink', size: 0, mode: snap.files['pw']!.mode, target: '/etc/passwd' });
    assert.equal(snap.files['dirlink/victim.txt'], undefined, 'the walk does not follow a directory link');
  } finally {
    await s.destroy();
  }
  assert.deepEqual(workspaceParts('/workspace/a/../b', '/workspace'), ['b']);
  assert.throws(() => workspaceParts('a/../../x', '/workspace'), /outside the workspace/);
});

test('no network: host loopback services, the host address and the internet are unreachable', async () => {
  let hits = 0;
  const server = createServer((_q, res) => {
    hits++;
    res.end('reached');
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  const port = (server.address() as AddressInfo).port;
  const hostIp = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  // Sanity: the server is reachable from the host itself.
  const fromHost = await new Promise<string>((res, rej) => get(`http://127.0.0.1:${port}/`, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); }).on('error', rej));
  assert.equal(fromHost, 'reached');
  hits = 0;
  const s = await provider.create();
  try {
    const probe = (host: string) =>
      `python3 -c "import socket,sys
s=socket.socket(); s.settimeout(2)
try:
  s.connect(('${host}', ${port})); print('CONNECTED ${host}')
except OSError as e: print('blocked', e.__class__.__name__)"`;
    const targets = ['127.0.0.1', ...(hostIp ? [hostIp] : []), '1.1.1.1'];
    const r = await s.exec([...targets.map(probe), `curl -s --max-time 2 http://127.0.0.1:${port}/ || echo curl-failed`, 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "'].join('; '));
    assert.doesNotMatch(r.stdout, /CONNECTED|reached/, r.stdout);
    assert.equal(r.stdout.match(/blocked/g)?.length, targets.length, r.stdout);
    assert.match(r.stdout, /curl-failed/);
    assert.deepEqual(r.stdout.trim().split('\n').slice(-1), ['lo'], 'only a private loopback interface');
    assert.equal(hits, 0);
  } finally {
    await s.destroy();
    server.closeAllConnections();
    server.close();
  }
});

test('a fork bomb is contained by the process limit and nothing outlives the command', async () => {
  const m = marker();
  const s = await provider.create({ files: { [`bomb_${m}.sh`]: 'b() { b | b & }; b\nsleep 2\n' }, limits: { timeoutMs: 4_000 } });
  try {
    const t0 = Date.now();
    const r = await s.exec(`sh bomb_${m}.sh`);
    assert.ok(Date.now() - t0 < 7_000, `returned after ${Date.now() - t0} ms`);
    assert.match(r.stderr, /Cannot fork|Resource temporarily unavailable/);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(hostProcs(`bomb_${m}`), 0, 'no bomb process survives on the host');
    // The sandbox is still usable afterwards.
    assert.equal((await s.exec('echo alive')).stdout, 'alive\n');
  } finally {
    await s.destroy();
  }
});

test('a memory bomb fails at the address-space limit', async () => {
  const s = await provider.create({ limits: { memoryBytes: 256 << 20 } });
  try {
    const r = await s.exec(`python3 -c "x = bytearray(1024*1024*1024); print('ALLOCATED')"`);
    assert.notEqual(r.exitCode, 0);
    assert.doesNotMatch(r.stdout, /ALLOCATED/);
    assert.match(r.stderr, /MemoryError/);
  } finally {
    await s.destroy();
  }
});

test('huge outputs are capped and an endless writer is killed; files, /tmp and the workspace are bounded', async () => {
  const s = await provider.create({ limits: { outputBytes: 1000, outputKillBytes: 1 << 20, maxFileBytes: 4 << 20, tmpBytes: 8 << 20, workspaceBytes: 6 << 20 } });
  try {
    const t0 = Date.now();
    const r = await s.exec('yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.ok(Date.now() - t0 < 5_000);
    assert.equal(r.outputLimitHit, true);
    assert.equal(r.truncated, true);
    assert.equal(Buffer.byteLength(r.stdout), 1000);
    assert.ok(r.stdoutBytes > 1 << 20);

    const big = await s.exec('head -c 10000000 /dev/zero > big.bin; echo rc=$?');
    assert.match(big.stdout + big.stderr, /rc=153|File size limit/); // SIGXFSZ: 128 + 25
    assert.ok((await s.snapshot()).files['big.bin']!.size <= 4 << 20);

    const tmpfill = await s.exec('head -c 3000000 /dev/zero > /tmp/a; head -c 3000000 /dev/zero > /tmp/b; head -c 3000000 /dev/zero > /tmp/c; echo rc=$?');
    assert.match(tmpfill.stdout + tmpfill.stderr, /No space left|rc=1/);

    const fill = await s.exec('for i in 1 2 3; do head -c 3000000 /dev/zero > f$i; done');
    assert.equal(fill.workspaceLimitHit, true);
  } finally {
    await s.destroy();
  }
});

test('long runs are killed at the wall-clock limit with their background children; CPU burners at the CPU limit', async () => {
  const m = marker();
  const s = await provider.create({ limits: { cpuSeconds: 1 } });
  try {
    const t0 = Date.now();
    const r = await s.exec(`sleep 600.${m.length} & sleep 300`, { timeoutMs: 600 });
    assert.equal(r.timedOut, true);
    assert.ok(Date.now() - t0 < 3_000);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(hostProcs(`^sleep 600\\.${m.length}$`), 0);

    const bg = await s.exec(`(sleep 700.${m.length} &); echo started`);
    assert.equal(bg.stdout, 'started\n');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(hostProcs(`^sleep 700\\.${m.length}$`), 0, 'a detached background process dies with its command');

    const cpu = await s.exec('while :; do :; done');
    assert.equal(cpu.timedOut, false);
    assert.ok(cpu.signal === 'SIGKILL' || cpu.signal === 'SIGXCPU' || (cpu.exitCode ?? 0) > 128, JSON.stringify(cpu));
  } finally {
    await s.destroy();
  }
});

test('destroy removes the workspace, and a destroyed sandbox refuses work', async () => {
  const s = await provider.create({ files: { 'x.txt': 'x' } });
  const dir = join(base, s.id);
  assert.ok(existsSync(dir));
  await s.exec('mkdir locked && touch locked/f && chmod 000 locked');
  await s.destroy();
  assert.equal(existsSync(dir), false);
  await assert.rejects(s.exec('true'), (e: AssayError) => e.code === 'SANDBOX_DESTROYED');
  await s.destroy(); // idempotent
});

test('sandboxes of one run do not see each other', async () => {
  const [a, b] = await Promise.all([provider.create({ files: { 'mine.txt': 'a' } }), provider.create()]);
  try {
    const r = await b.exec(`ls /workspace; ls ${base} 2>&1; find / -name mine.txt 2>/dev/null | head -1`);
    assert.doesNotMatch(r.stdout, /mine\.txt/);
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
});

test('a base directory the sandbox user cannot reach is refused with the reason', async () => {
  const dir = tmp('assay-sbx-private-'); // mkdtemp makes it 0700
  await assert.rejects(BubblewrapProvider.create({ baseDir: join(dir, 'base') }), (e: AssayError) => e.code === 'SANDBOX_UNAVAILABLE' && /not searchable by others \(mode 700\)/.test(e.message) && /ASSAY_SANDBOX_DIR/.test(e.message));
});

test('a missing bubblewrap is a clear error naming the fix', async () => {
  await assert.rejects(BubblewrapProvider.create({ baseDir: tmp(), searchPath: '/nonexistent' }), (e: AssayError) => e.code === 'SANDBOX_UNAVAILABLE' && /not installed/.test(e.message) && /apt-get install bubblewrap/.test(e.message));
});

test('a SIGKILLed runner leaves no sandbox process behind, and the next provider sweeps its workspace', async () => {
  const m = marker();
  const dir = tmp('assay-sbx-kill-');
  const script = join(dir, 'runner.mts');
  mkdirSync(join(dir, 'base'));
  chmodSync(dir, 0o711); // the sandbox user must be able to reach its workspace (a 0700 parent is refused: next test)
  writeFileSync(
    script,
    `import { BubblewrapProvider } from ${JSON.stringify(join(ROOT, 'src/sandbox/bubblewrap.ts'))};
const p = await BubblewrapProvider.create({ baseDir: ${JSON.stringify(join(dir, 'base'))} });
const s = await p.create({ files: { 'work.txt': 'in progress' } });
void s.exec('sleep 900.${m.length}${m.length} & sleep 901.${m.length}${m.length}');
setTimeout(() => process.stdout.write('ready\\n'), 500);
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && res());
    child.once('exit', (c) => rej(new Error(`runner exited early (${c})`)));
  });
  const pattern = `^sleep 90[01]\\.${m.length}${m.length}$`;
  assert.equal(hostProcs(pattern), 2, 'the sandboxed processes were running');
  child.kill('SIGKILL');
  await new Promise((res) => child.once('exit', res));
  let left = 2;
  for (let i = 0; i < 40 && left; i++) {
    await new Promise((res) => setTimeout(res, 100));
    left = hostProcs(pattern);
  }
  assert.equal(left, 0, 'sandbox processes die with the runner');
  const stale = readdirSync(join(dir, 'base')).filter((n) => n.startsWith('sbx-'));
  assert.equal(stale.length, 1, 'the killed runner could not clean up');
  const next = await BubblewrapProvider.create({ baseDir: join(dir, 'base'), sweep: false });
  assert.equal(await next.sweep(), 1);
  assert.deepEqual(readdirSync(join(dir, 'base')).filter((n) => !n.startsWith('.')), [], 'only caches (the compiled seccomp filter) remain');
  // A live provider's sandboxes are never swept.
  const live = await next.create();
  assert.equal(await next.sweep(), 0);
  await live.destroy();
});
