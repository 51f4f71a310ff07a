/**
 * The two programs of a hidden test (issue 16): a trusted **runner** that runs the test and
 * reports the verdict to Assay on a pipe the code under test never holds, and a **worker** that
 * runs the model's code in another sandbox and answers the runner's calls into it.
 *
 * Why two processes: code running in the same interpreter as a test can fake any verdict the test
 * could produce (find a nonce in memory, write the result, exit 0; patch the test's helpers; return
 * objects whose `__eq__` is always true). So the test never shares a process — or a sandbox — with
 * the model's code: `import calc` in the test gives a proxy module, each call crosses to the worker
 * as JSON, and results come back as plain values (numbers, strings, lists, tuples, dicts, sets,
 * bytes) or as opaque handles that compare by identity. The worker's sandbox does not hold the
 * test's files, so the model's code cannot read the expected values either.
 *
 * The runner also wraps non-Python commands: it runs `sh -c <command>` as its child and reports
 * the exit status or the signal that ended it. Either way the verdict is one JSON line on fd 4
 * holding the nonce the runner got on stdin; the runner makes itself non-dumpable first, so no
 * process of the same user can read its memory or open its descriptors through /proc. No verdict
 * line with the right nonce means the runner did not reach its end: the check fails.
 *
 * Descriptors: runner fd 4 → Assay (verdict), fd 5 → worker (requests), fd 6 ← worker
 * (responses); worker fd 5 ← requests, fd 4 → responses. Assay relays between the two sandboxes.
 */

export const VERDICT_FD = 4;

export const RUNNER_PY = `import os, sys, json, runpy, types, importlib.abc, importlib.machinery, builtins, base64, math
VERDICT, REQ, RESP = 4, 5, 6
for _fd in (VERDICT, REQ, RESP):
    try:
        os.set_inheritable(_fd, False)
    except OSError:
        pass
try:
    import ctypes
    # PR_SET_DUMPABLE 0: same-user processes cannot read /proc/<runner>/mem, fd, environ.
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
except Exception:
    pass
_job = json.loads(sys.stdin.readline())
sys.stdin = open(os.devnull)
_out = os.fdopen(VERDICT, 'w')

def _report(status, **extra):
    _out.write(json.dumps(dict(nonce=_job['nonce'], status=status, **extra)) + '\\n')
    _out.flush()

if _job['mode'] == 'shell':
    import subprocess
    p = subprocess.run(['sh', '-c', _job['command']], cwd='/workspace', stdin=subprocess.DEVNULL)
    rc = p.returncode
    _report(128 - rc if rc < 0 else rc, **({'signal': -rc} if rc < 0 else {}))
    sys.exit(0)

class RemoteError(Exception):
    pass

_req = os.fdopen(REQ, 'w')
_resp = os.fdopen(RESP, 'r')
_next = [0]

class Remote:
    """An object living in the worker: attribute access and calls cross over; equality is identity."""
    __slots__ = ('_ref', '_desc')
    def __init__(self, ref, desc):
        object.__setattr__(self, '_ref', ref)
        object.__setattr__(self, '_desc', desc)
    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        return _ask({'op': 'getattr', 'ref': self._ref, 'name': name})
    def __call__(self, *args, **kwargs):
        return _ask({'op': 'call', 'ref': self._ref, 'args': [_enc(a) for a in args], 'kwargs': {k: _enc(v) for k, v in kwargs.items()}})
    def __iter__(self):
        return iter(_ask({'op': 'list', 'ref': self._ref}))
    def __len__(self):
        return _ask({'op': 'len', 'ref': self._ref})
    def __eq__(self, other):
        return isinstance(other, Remote) and other._ref == self._ref
    def __hash__(self):
        return hash(self._ref)
    def __repr__(self):
        return '<remote %s #%d>' % (self._desc, self._ref)

def _enc(v):
    if v is None or type(v) in (bool, int, str):
        return v
    if type(v) is float:
        return v if math.isfinite(v) else {'$f': repr(v)}
    if isinstance(v, Remote):
        return {'$r': v._ref}
    if type(v) is list:
        return [_enc(x) for x in v]
    if type(v) is tuple:
        return {'$t': [_enc(x) for x in v]}
    if type(v) in (set, frozenset):
        return {'$s': [_enc(x) for x in v]}
    if type(v) is dict:
        return {'$d': [[_enc(k), _enc(x)] for k, x in v.items()]}
    if type(v) in (bytes, bytearray):
        return {'$b': base64.b64encode(bytes(v)).decode()}
    raise TypeError('a hidden test can pass only plain values to the code under test, not %s' % type(v).__name__)

def _dec(v):
    # Only plain types are built here: nothing the worker sends can run code in the runner.
    if v is None or type(v) in (bool, int, float, str):
        return v
    if type(v) is list:
        return [_dec(x) for x in v]
    if type(v) is dict:
        if '$t' in v: return tuple(_dec(x) for x in v['$t'])
        if '$s' in v: return set(_dec(x) for x in v['$s'])
        if '$d' in v: return {_dec(k): _dec(x) for k, x in v['$d']}
        if '$b' in v: return base64.b64decode(v['$b'])
        if '$f' in v: return float(v['$f'])
        if '$r' in v: return Remote(int(v['$r']), str(v.get('desc', 'object'))[:80])
    raise RemoteError('the worker sent a value the runner does not accept')

def _ask(msg):
    _req.write(json.dumps(msg) + '\\n')
    _req.flush()
    line = _resp.readline()
    if not line:
        raise RemoteError('the code under test stopped (its process ended)')
    r = json.loads(line)
    if r.get('ok'):
        return _dec(r.get('value'))
    name = str(r.get('type', 'Exception'))
    cls = getattr(builtins, name, None)
    # Only ordinary built-in exceptions are raised as themselves (never SystemExit or KeyboardInterrupt).
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = RemoteError
    raise cls('%s (in the code under test: %s)' % (str(r.get('message', ''))[:2000], name))

class RemoteModule(types.ModuleType):
    def __getattr__(self, name):
        if name == '__all__':
            # For \`from module import *\`: the module's own __all__, else its public names.
            return [str(n) for n in _ask({'op': 'names', 'ref': self.__dict__['_remote']._ref})]
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        return getattr(self.__dict__['_remote'], name)

def _in_workspace(name):
    base = os.path.join('/workspace', *name.split('.'))
    return os.path.isfile(base + '.py') or os.path.isdir(base)

class RemoteFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # Last on sys.meta_path: the standard library and installed packages always win.
    def find_spec(self, name, path=None, target=None):
        if not _in_workspace(name):
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=os.path.isdir(os.path.join('/workspace', *name.split('.'))))
    def create_module(self, spec):
        m = RemoteModule(spec.name)
        m.__dict__['_remote'] = _ask({'op': 'import', 'module': spec.name})
        if spec.submodule_search_locations is not None:
            m.__path__ = []
        return m
    def exec_module(self, module):
        pass

sys.meta_path.append(RemoteFinder())
os.chdir('/workspace')
script = _job['script']
sys.argv = [script] + list(_job.get('args', []))
status = 0
try:
    runpy.run_path(script, run_name='__main__')
except SystemExit as e:
    # Only the test's own code can raise SystemExit here (the worker's exceptions never become one).
    status = 0 if e.code is None else int(e.code) if isinstance(e.code, int) else 1
except BaseException:
    import traceback
    traceback.print_exc()
    status = 1
_report(status)
`;

export const WORKER_PY = `import os, sys, json, base64, math, importlib, runpy
REQ, RESP = 5, 4
for _fd in (REQ, RESP):
    try:
        os.set_inheritable(_fd, False)
    except OSError:
        pass
_req = os.fdopen(REQ, 'r')
_resp = os.fdopen(RESP, 'w')
# Last on the path: workspace modules are importable but cannot shadow the standard library.
sys.path.append('/workspace')
os.chdir('/workspace')
_objs = {}

def _keep(o):
    i = len(_objs) + 1
    _objs[i] = o
    return {'$r': i, 'desc': type(o).__name__}

def _enc(v, depth=0):
    if depth > 50:
        raise ValueError('value nested too deeply')
    if v is None or type(v) in (bool, int, str):
        return v
    if type(v) is float:
        return v if math.isfinite(v) else {'$f': repr(v)}
    if type(v) is list:
        return [_enc(x, depth + 1) for x in v]
    if type(v) is tuple:
        return {'$t': [_enc(x, depth + 1) for x in v]}
    if type(v) in (set, frozenset):
        return {'$s': [_enc(x, depth + 1) for x in v]}
    if type(v) is dict:
        return {'$d': [[_enc(k, depth + 1), _enc(x, depth + 1)] for k, x in v.items()]}
    if type(v) in (bytes, bytearray):
        return {'$b': base64.b64encode(bytes(v)).decode()}
    return _keep(v)

def _dec(v):
    if type(v) is list:
        return [_dec(x) for x in v]
    if type(v) is dict:
        if '$r' in v: return _objs[int(v['$r'])]
        if '$t' in v: return tuple(_dec(x) for x in v['$t'])
        if '$s' in v: return set(_dec(x) for x in v['$s'])
        if '$d' in v: return {_dec(k): _dec(x) for k, x in v['$d']}
        if '$b' in v: return base64.b64decode(v['$b'])
        if '$f' in v: return float(v['$f'])
    return v

def _do(m):
    op = m['op']
    if op == 'import':
        return _keep(importlib.import_module(m['module']))
    o = _objs[int(m['ref'])]
    if op == 'getattr':
        v = getattr(o, m['name'])
        return _keep(v) if callable(v) or type(v).__name__ == 'module' else _enc(v)
    if op == 'call':
        return _enc(o(*[_dec(a) for a in m['args']], **{k: _dec(x) for k, x in m['kwargs'].items()}))
    if op == 'list':
        return _enc(list(o))
    if op == 'len':
        return len(o)
    if op == 'names':
        return [str(n) for n in getattr(o, '__all__', [n for n in dir(o) if not n.startswith('_')])]
    raise ValueError('unknown request')

for line in _req:
    try:
        out = {'ok': True, 'value': _do(json.loads(line))}
    except BaseException as e:
        out = {'ok': False, 'type': type(e).__name__, 'message': str(e)[:2000]}
    _resp.write(json.dumps(out) + '\\n')
    _resp.flush()
`;
