/**
 * The container back-end (Docker/Podman, optional runsc): the commands it builds, and its tar
 * reader. No engine runs on the CI machines (no daemon, no registry), so a real run is tested
 * only where `docker` or `podman` and $ASSAY_SANDBOX_IMAGE are present; otherwise it says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerExecArgs, containerRunArgs, parseTar, ContainerProvider } from '../src/sandbox/container.js';
import { which } from '../src/sandbox/bubblewrap.js';
import { DEFAULT_LIMITS } from '../src/sandbox/types.js';
import { createSandboxProvider } from '../src/sandbox/index.js';
import { AssayError } from '../src/common/errors.js';
import { tmp } from './helpers.js';

const IMAGE = `docker.io/library/python@sha256:${'a'.repeat(64)}`;
const value = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

test('run arguments: digest-pinned image, no network, non-root, read-only root, no capabilities, limits for the whole container, tmpfs workspace and /tmp', () => {
  const l = { ...DEFAULT_LIMITS, memoryBytes: 256 << 20, maxProcesses: 32, cpus: 0.5, workspaceBytes: 8 << 20, tmpBytes: 4 << 20 };
  const a = containerRunArgs({ name: 'assay-x', image: IMAGE, limits: l, owner: '123:456' });
  assert.equal(a[0], 'run');
  assert.deepEqual(value(a, '--network'), ['none']);
  assert.deepEqual(value(a, '--user'), ['65534:65534']);
  assert.ok(a.includes('--read-only'));
  assert.deepEqual(value(a, '--cap-drop'), ['ALL']);
  assert.deepEqual(value(a, '--security-opt'), ['no-new-privileges']);
  assert.deepEqual(value(a, '--pids-limit'), ['32']);
  assert.deepEqual(value(a, '--memory'), [String(256 << 20)]);
  assert.deepEqual(value(a, '--memory-swap'), [String(256 << 20)], 'no swap beyond the memory limit');
  assert.deepEqual(value(a, '--cpus'), ['0.5']);
  assert.deepEqual(value(a, '--tmpfs'), [`/workspace:rw,exec,size=${8 << 20},mode=0755,uid=65534,gid=65534`, `/tmp:rw,exec,size=${4 << 20},mode=1777`]);
  assert.ok(value(a, '--label').includes('assay.owner=123:456'));
  assert.equal(a[a.indexOf(IMAGE) - 2], '--entrypoint');
  assert.ok(!a.includes('--runtime'));
  assert.ok(!a.some((x) => /^--(privileged|pid|ipc|uts|network=host)$/.test(x) || x === 'host'), 'no host namespaces');
  assert.ok(!value(a, '--env').some((e) => /KEY|TOKEN|SECRET/.test(e)), 'no host variable is passed');
  const g = containerRunArgs({ name: 'assay-y', image: IMAGE, limits: l, owner: '1', runtime: 'runsc' });
  assert.deepEqual(value(g, '--runtime'), ['runsc']);
});

test('an image that is not pinned by digest is refused with the reason', () => {
  for (const image of ['python:3.12', 'python@sha256:abc', 'python:3.12@sha256:XYZ', `python@sha512:${'a'.repeat(128)}`])
    assert.throws(() => containerRunArgs({ name: 'x', image, limits: DEFAULT_LIMITS, owner: '1' }), (e: AssayError) => e.code === 'SANDBOX_IMAGE' && /pinned by digest/.test(e.message), image);
});

test('exec arguments: as the sandbox user in the workspace, stdin attached, the command as one argv element', () => {
  const a = containerExecArgs('assay-x', ['sh', '-c', 'echo "$(id)"; rm -rf /'], { env: { A: 'b' } });
  assert.deepEqual(a, ['exec', '--interactive', '--user', '65534:65534', '--workdir', '/workspace', '--env', 'A=b', 'assay-x', 'sh', '-c', 'echo "$(id)"; rm -rf /']);
});

test('the tar reader reads what GNU tar writes: files, directories, symlinks (never followed), long and non-ASCII names', () => {
  const d = tmp('assay-tar-');
  mkdirSync(join(d, 'src/deep'), { recursive: true });
  writeFileSync(join(d, 'src/a.txt'), 'hello\n');
  const long = `${'n'.repeat(150)}.py`;
  writeFileSync(join(d, 'src/deep', long), 'x = 1\n');
  writeFileSync(join(d, 'ünï\ncode.txt'), 'u');
  symlinkSync('/etc/shadow', join(d, 'evil'));
  const tar = execFileSync('tar', ['-C', d, '-cf', '-', '.']);
  const e = new Map(parseTar(tar).map((x) => [x.path, x]));
  assert.equal(e.get('src/a.txt')?.data?.toString(), 'hello\n');
  assert.equal(e.get('src')?.kind, 'dir');
  assert.equal(e.get(`src/deep/${long}`)?.data?.toString(), 'x = 1\n');
  assert.equal(e.get('ünï\ncode.txt')?.size, 1);
  assert.deepEqual([e.get('evil')?.kind, e.get('evil')?.target], ['symlink', '/etc/shadow']);
  const pax = execFileSync('tar', ['--format=pax', '-C', d, '-cf', '-', '.']);
  assert.ok(parseTar(pax).some((x) => x.path === `src/deep/${long}`));
});

test('the docker and podman back-ends are registered and say what they need', async () => {
  const saved = process.env.ASSAY_SANDBOX_IMAGE;
  delete process.env.ASSAY_SANDBOX_IMAGE;
  try {
    await assert.rejects(createSandboxProvider('docker'), (e: AssayError) => e.code === 'SANDBOX_UNAVAILABLE' && /ASSAY_SANDBOX_IMAGE/.test(e.message));
  } finally {
    if (saved !== undefined) process.env.ASSAY_SANDBOX_IMAGE = saved;
  }
});

test('a real container engine, where one is installed', async (t) => {
  const engine = which('podman') ? 'podman' : which('docker') ? 'docker' : null;
  const image = process.env.ASSAY_SANDBOX_IMAGE;
  if (!engine || !image) return t.skip(`no container engine${engine ? '' : ' (neither podman nor docker is installed)'}${image ? '' : ' and no ASSAY_SANDBOX_IMAGE'}: only the command construction is tested here`);
  const p = await ContainerProvider.create({ engine, image });
  const s = await p.create({ files: { 'a.txt': 'hi\n' } });
  try {
    const r = await s.exec('id -u; cat a.txt; echo new > b.txt');
    assert.match(r.stdout, /^65534\nhi\n$/);
    const snap = await s.snapshot();
    assert.equal(snap.files['b.txt']?.text, 'new\n');
    assert.equal(p.isolation.image, image);
  } finally {
    await s.destroy();
  }
});
