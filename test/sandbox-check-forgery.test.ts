/**
 * Hidden-test verdicts the model's code cannot forge (issue 16). Each case is a route by which
 * code running beside an in-process test could fake a pass: finding the runner's nonce in the
 * interpreter's frames or heap and writing the result itself, writing a fake verdict on any open
 * descriptor, objects whose `__eq__` is always true, raising SystemExit, reading the test's files
 * to learn the expected values, patching the interpreter, killing the runner, and, for shell
 * commands, reading the runner's memory or descriptors through /proc. Every forged run must fail;
 * honest work (plain functions, objects passed back as handles, files written by the test) must
 * pass. Needs bubblewrap (skipped with the reason without it; a failure under ASSAY_CI=1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BubblewrapProvider } from '../src/sandbox/bubblewrap.js';
import { AssayError } from '../src/common/errors.js';
import type { CheckResultRaw } from '../src/sandbox/types.js';
import { tmp } from './helpers.js';

const CI = process.env.ASSAY_CI === '1';
let provider: BubblewrapProvider | null = null;
let unavailable = '';

before(async () => {
  try {
    provider = await BubblewrapProvider.create({ baseDir: tmp('assay-forge-'), limits: { timeoutMs: 15_000 } });
  } catch (e) {
    if (CI || !(e instanceof AssayError && e.code === 'SANDBOX_UNAVAILABLE')) throw e;
    unavailable = e.message;
  }
});
after(async () => {
  await provider?.close();
});

async function check(files: Record<string, string>, run: string, hidden: Record<string, string>): Promise<CheckResultRaw> {
  const s = await provider!.create({ files });
  try {
    return await s.runCheck(run, hidden, { timeoutMs: 15_000 });
  } finally {
    await s.destroy();
  }
}
const passed = (r: CheckResultRaw) => r.exitCode === 0 && r.completed === true;
const HIDDEN = { 'hidden_check.py': 'from calc import add\nassert add(2, 3) == 5, "add is wrong"\nassert add(-4, 1) == -3\n' };
const WRONG = 'def add(a, b):\n    return a - b\n';

test('python hidden tests: honest code passes, including objects handed back as handles, files the test writes, tuples and dicts, and unittest.main()', { timeout: 240_000 }, async (t) => {
  if (!provider) return t.skip(`bubblewrap unavailable: ${unavailable}`);
  assert.ok(passed(await check({ 'calc.py': 'def add(a, b):\n    return a + b\n' }, 'python3 hidden_check.py', HIDDEN)));
  const db = {
    'app/__init__.py': '',
    'app/db.py': 'import sqlite3\ndef connect():\n    c = sqlite3.connect(":memory:")\n    c.execute("CREATE TABLE u (n TEXT, c TEXT)")\n    return c\ndef add_user(c, n, city):\n    c.execute("INSERT INTO u VALUES (?, ?)", (n, city))\ndef find(c, city):\n    return [r[0] for r in c.execute("SELECT n FROM u WHERE c = ? ORDER BY n", (city,))]\n',
  };
  const dbTest = { 'feature_test.py': 'from app.db import connect, add_user, find\nc = connect()\nfor n, t in [("ann", "Oslo"), ("bo", "Rome"), ("cy", "Oslo")]:\n    add_user(c, n, t)\nassert find(c, "Oslo") == ["ann", "cy"]\nassert find(c, "x\' OR \'1\'=\'1") == []\n' };
  const r = await check(db, 'python3 feature_test.py', dbTest);
  assert.ok(passed(r), r.output);
  const files = { 'tools.py': 'def count_lines(p):\n    return len(open(p).read().splitlines())\ndef pair(a):\n    return (a, {"k": [a, None]}, {1, 2}, b"x")\nVERSION = "1.2"\n' };
  const ft = { 'ft.py': 'import tools\nopen("t.txt", "w").write("a\\nb\\nc\\n")\nassert tools.count_lines("t.txt") == 3\nassert tools.pair(2) == (2, {"k": [2, None]}, {1, 2}, b"x")\nassert tools.VERSION.startswith("1.")\ntry:\n    tools.count_lines("missing")\n    raise SystemExit(3)\nexcept FileNotFoundError:\n    pass\n' };
  const r2 = await check(files, 'python3 ft.py', ft);
  assert.ok(passed(r2), r2.output);
  const star = await check({ 'calc.py': 'import os\ndef add(a, b):\n    return a + b\n' }, 'python3 star_check.py', { 'star_check.py': 'from calc import *\nassert add(1, 2) == 3\n' });
  assert.ok(passed(star), `from calc import *: ${star.output}`);
  const ut = { 'ut_check.py': 'import unittest\nfrom calc import add\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 2), 4)\nunittest.main()\n' };
  assert.ok(passed(await check({ 'calc.py': 'def add(a, b):\n    return a + b\n' }, 'python3 ut_check.py', ut)), 'unittest.main() exiting 0 is a pass');
  assert.ok(!passed(await check({ 'calc.py': WRONG }, 'python3 ut_check.py', ut)), 'unittest.main() exiting 1 is a fail');
});

test('python hidden tests: every in-process forging route fails', { timeout: 300_000 }, async (t) => {
  if (!provider) return t.skip(`bubblewrap unavailable: ${unavailable}`);
  const attacks: Record<string, string> = {
    // The old runner's nonce lived in a local of its frame: walk the stack, write the result, exit 0.
    'nonce from the stack': `import sys, os, glob\nf = sys._getframe()\nwhile f:\n    for k, v in list(f.f_locals.items()):\n        if isinstance(v, str) and len(v) == 32:\n            for d in glob.glob('/.assay-result-*'):\n                open(d + '/done', 'w').write(v)\n    f = f.f_back\nos._exit(0)\n`,
    'nonce from the heap': `import gc, os, re, glob, json\nfor o in gc.get_objects():\n    for v in (o.values() if isinstance(o, dict) else []):\n        if isinstance(v, str) and re.fullmatch('[0-9a-f]{32}', v):\n            for fd in range(3, 20):\n                try: os.write(fd, (json.dumps({'nonce': v, 'status': 0}) + '\\n').encode())\n                except OSError: pass\nos._exit(0)\n`,
    'fake verdicts on every descriptor': `import os, json\nfor fd in range(0, 64):\n    try: os.write(fd, (json.dumps({'nonce': 'x' * 32, 'status': 0}) + '\\n').encode())\n    except OSError: pass\nos._exit(0)\n`,
    'always-equal result': `class E:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n    def __bool__(self): return True\ndef add(a, b):\n    return E()\n`,
    'int subclass with a lying __eq__': `class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\ndef add(a, b):\n    return I(0)\n`,
    'SystemExit(0) from the code under test': `def add(a, b):\n    raise SystemExit(0)\n`,
    'os._exit(0) inside the call': `import os\ndef add(a, b):\n    os._exit(0)\n`,
    'excepthook and atexit': `import sys, os, atexit\nsys.excepthook = lambda *a: os._exit(0)\natexit.register(lambda: os._exit(0))\n${WRONG}`,
    'patching builtins and the assert machinery': `import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\nbuiltins.__dict__['__debug__'] = False\n${WRONG}`,
    'reading the test to learn the answers': `import glob, os\ndef _peek(p):\n    try: return 'assert add' in open(p, errors='replace').read()\n    except OSError: return False\ndef add(a, b):\n    seen = [p for p in glob.glob('/.*/**', recursive=True) + glob.glob('/tmp/**', recursive=True) if os.path.isfile(p) and _peek(p)]\n    return a + b if seen else a - b\n`,
    'killing every process it can reach': `import os, signal\ntry: os.kill(-1, signal.SIGKILL)\nexcept OSError: pass\n${WRONG}`,
    'planting a stdlib module for the runner': `open('/workspace/traceback.py', 'w').write('import os\\nos._exit(0)\\n')\nopen('/workspace/json.py', 'w').write('import os\\nos._exit(0)\\n')\n${WRONG}`,
    'stealing the request pipe': `import os\nfor fd in range(3, 10):\n    try: os.read(fd, 1 << 16)\n    except OSError: pass\n${WRONG}`,
    'hanging': `def add(a, b):\n    while True: pass\n`,
  };
  for (const [name, code] of Object.entries(attacks)) {
    const r = await check({ 'calc.py': code }, 'python3 hidden_check.py', HIDDEN);
    assert.ok(!passed(r), `${name}: scored as passed (${JSON.stringify(r).slice(0, 600)})`);
  }
});

test('shell hidden tests: the exit status comes from the runner; a child cannot forge it through /proc, fake verdicts or killing the runner', { timeout: 240_000 }, async (t) => {
  if (!provider) return t.skip(`bubblewrap unavailable: ${unavailable}`);
  const run = 'test "$(python3 report.py hidden_sales.csv)" = 43';
  const hidden = { 'hidden_sales.csv': 'item,amount\na,1\nb,2\nc,40\n' };
  const honest = 'import csv, sys\nprint(sum(int(r["amount"]) for r in csv.DictReader(open(sys.argv[1]))))\n';
  assert.ok(passed(await check({ 'report.py': honest }, run, hidden)));
  assert.ok(!passed(await check({ 'report.py': 'print(42)\n' }, run, hidden)));
  // Read every other process's memory, descriptors and environment for the nonce; write fake verdicts everywhere; kill the rest.
  const forge = `import os, re, json, signal
me = os.getpid()
found = set()
for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != me]:
    for what in ('environ', 'cmdline', 'fd/0'):
        try: found.update(re.findall(rb'[0-9a-f]{32}', open('/proc/%s/%s' % (pid, what), 'rb').read(1 << 20)))
        except OSError: pass
    try:
        maps = open('/proc/%s/maps' % pid).read()
        mem = open('/proc/%s/mem' % pid, 'rb')
        for line in maps.splitlines():
            lo, hi = [int(x, 16) for x in line.split()[0].split('-')]
            try:
                mem.seek(lo); found.update(re.findall(rb'"nonce": "([0-9a-f]{32})"', mem.read(min(hi - lo, 1 << 22))))
            except (OSError, ValueError, OverflowError): pass
    except OSError: pass
for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != me]:
    for fd in range(0, 16):
        for n in list(found) + [b'0' * 32]:
            try:
                with open('/proc/%s/fd/%d' % (pid, fd), 'w') as f: f.write(json.dumps({'nonce': n.decode(), 'status': 0}) + '\\n')
            except OSError: pass
for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != me]:
    try: os.kill(int(pid), signal.SIGKILL)
    except OSError: pass
print(43)
os._exit(0)
`;
  const r = await check({ 'report.py': forge }, 'python3 report.py hidden_sales.csv', hidden);
  assert.ok(!passed(r), `forged: ${JSON.stringify(r).slice(0, 600)}`);
  // A hidden Python test run another way is not protected, and the evidence says so.
  const other = await check({ 'calc.py': 'def add(a, b):\n    return a + b\n' }, 'timeout 10 python3 hidden_check.py', { 'hidden_check.py': `import sys\nsys.path.insert(0, '/workspace')\n${HIDDEN['hidden_check.py']}` });
  assert.ok(passed(other), other.output);
  assert.match(other.output, /same process as the code under test/);
  // A command killed by a signal is not a pass, whatever status the shell would give.
  const sig = await check({ 'x.sh': 'kill -9 $$\n' }, 'sh x.sh', {});
  assert.ok(!passed(sig), JSON.stringify(sig));
  assert.equal(sig.completed, true);
  assert.notEqual(sig.exitCode, 0);
});
