/**
 * The analyser's failures listed in issue 21, one assertion each: API variants and import aliases
 * it missed, data flow through a variable, comments/docstrings/prose it flagged, SQL-looking
 * messages, and code hidden behind an install block. Each case failed before the program model
 * (src/score/code/program.ts) and passes after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseCode, analyseResponse } from '../src/score/code/analyse.js';
import type { CodeLanguage } from '../src/score/code/rules.js';
import { codeSecurityScorer } from '../src/score/code/scorer.js';

const rulesOf = (code: string, lang: CodeLanguage) => analyseCode(code, lang).map((f) => f.ruleId);
const fires = (code: string, lang: CodeLanguage, cwe: string, why: string) => assert.ok(analyseCode(code, lang).some((f) => f.cwe === cwe), `${why}: expected ${cwe}, got [${rulesOf(code, lang).join(', ')}]`);
const clean = (code: string, lang: CodeLanguage, why: string) => assert.deepEqual(rulesOf(code, lang), [], why);
const notCwe = (code: string, lang: CodeLanguage, cwe: string, why: string) => assert.ok(!analyseCode(code, lang).some((f) => f.cwe === cwe), `${why}: ${cwe} must not fire, got [${rulesOf(code, lang).join(', ')}]`);

test('API variants and import aliases the old analyser missed', () => {
  fires('from os import system\ndef ping(host):\n    system("ping -c 1 " + host)\n', 'python', 'CWE-78', 'from os import system');
  fires('from os import system as run\nrun(cmd)\n', 'python', 'CWE-78', 'aliased import');
  fires('import subprocess as sp\ndef go(cmd):\n    sp.call(cmd, shell=True)\n', 'python', 'CWE-78', 'import subprocess as sp');
  fires('import os\ndef run(cmd):\n    os.execl("/bin/sh", "sh", "-c", cmd)\n', 'python', 'CWE-78', 'os.execl sh -c');
  fires('import os\ndef run(cmd):\n    os.spawnlp(os.P_WAIT, "bash", "bash", "-c", cmd)\n', 'python', 'CWE-78', 'os.spawnlp bash -c');
  fires('import subprocess\ndef run(name):\n    subprocess.run(["sh", "-c", f"ls {name}"])\n', 'python', 'CWE-78', 'subprocess list sh -c');
  fires('from pickle import loads\ndef restore(blob):\n    return loads(blob)\n', 'python', 'CWE-502', 'from pickle import loads');
  fires('import pickle as pkl\nobj = pkl.load(f)\n', 'python', 'CWE-502', 'import pickle as pkl');
  fires('import yaml\ndocs = list(yaml.load_all(text))\n', 'python', 'CWE-502', 'yaml.load_all');
  fires('from yaml import load\ncfg = load(text)\n', 'python', 'CWE-502', 'from yaml import load');
  fires('import hashlib\nh = hashlib.new("md5", data)\n', 'python', 'CWE-328', "hashlib.new('md5')");
  fires('from hashlib import sha1\nd = sha1(data).hexdigest()\n', 'python', 'CWE-328', 'from hashlib import sha1');
  fires('function make(body) {\n  return Function("x", body);\n}\n', 'javascript', 'CWE-95', 'Function(...) without new');
  fires("const { spawn } = require('child_process');\nfunction run(cmd) {\n  spawn('sh', ['-c', cmd]);\n}\n", 'javascript', 'CWE-78', "spawn('sh', ['-c', …])");
  fires("import { exec as run } from 'node:child_process';\nrun(`ls ${dir}`);\n", 'typescript', 'CWE-78', 'aliased ESM import of exec');
  fires("const cp = require('child_process');\ncp.execSync('tar czf ' + name);\n", 'javascript', 'CWE-78', 'cp.execSync');
  fires("const jwt = require('jsonwebtoken');\nconst t = jwt.sign(payload, 'sup3r-s3cret');\n", 'javascript', 'CWE-798', "jwt.sign(p, 'literal')");
  fires('import jwt\ntoken = jwt.encode(payload, "my-signing-key", algorithm="HS256")\n', 'python', 'CWE-798', 'jwt.encode(p, "literal")');
  fires('#include <unistd.h>\nvoid run(const char *cmd) { execl("/bin/sh", "sh", "-c", cmd, (char *)NULL); }\n', 'c', 'CWE-78', 'C execl("/bin/sh", …)');
  fires('void f(CURL *h) { curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, FALSE); }\n', 'c', 'CWE-295', 'CURLOPT_SSL_VERIFYPEER FALSE');
  fires('void f(CURL *h) { curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0); }\n', 'c', 'CWE-295', 'CURLOPT_SSL_VERIFYHOST 0');
  fires('void f(const char *user) { fprintf(stderr, user); }\n', 'c', 'CWE-134', 'fprintf with data as format');
  fires('void f(char *b, size_t n, const char *u) { snprintf(b, n, u); }\n', 'c', 'CWE-134', 'snprintf with data as format');
});

test('simple local data flow: a value built from input reaches a sink in one or two steps', () => {
  fires('def find(cur, name):\n    q = "SELECT * FROM users WHERE name = \'" + name + "\'"\n    cur.execute(q)\n', 'python', 'CWE-89', 'one step');
  fires('def find(cur, name):\n    base = f"SELECT * FROM users WHERE name = \'{name}\'"\n    q = base\n    cur.execute(q)\n', 'python', 'CWE-89', 'two steps');
  fires('def find(cur, name):\n    q = "SELECT * FROM t WHERE a = %s" % name\n    cur.execute(q)\n', 'python', 'CWE-89', '% formatting');
  fires('import os\ndef ping(host):\n    cmd = f"ping -c 1 {host}"\n    os.system(cmd)\n', 'python', 'CWE-78', 'command built then run');
  fires('async function find(db, id) {\n  const sql = `SELECT * FROM t WHERE id = ${id}`;\n  return db.query(sql);\n}\n', 'javascript', 'CWE-89', 'template then query');
  fires('import subprocess\ndef z(p):\n    c = "gzip " + p\n    subprocess.run(c, shell=True)\n', 'python', 'CWE-78', 'shell=True with a built command');
  // ... while constant values through a variable stay clean
  clean('def find(cur, name):\n    q = "SELECT * FROM users WHERE name = ?"\n    cur.execute(q, (name,))\n', 'python', 'parameterised query through a variable');
  clean('import os\nCMD = "uptime"\nos.system(CMD)\n', 'python', 'constant command through a variable');
  clean('void f(int n) { const char *fmt = "%d\\n"; printf(fmt, n); }\n', 'c', 'constant format through a variable');
});

test('comments, docstrings, string contents and prose are not code', () => {
  clean('import subprocess\n\ndef compress(path):\n    # Never use os.system("gzip " + path) or shell=True: command injection.\n    subprocess.run(["gzip", path], check=True)\n', 'python', 'warning comment');
  clean('import json\n\ndef restore(blob):\n    """Do not use pickle.loads(blob) or eval(blob) here: both run code."""\n    return json.loads(blob)\n', 'python', 'docstring');
  clean('function calc(expr) {\n  // eval(expr) would be dangerous; md5 too: crypto.createHash("md5")\n  /* exec(`rm ${x}`) */\n  return Number(expr);\n}\n', 'javascript', 'JS comments');
  clean('int main(void) {\n  /* never: system(cmd); printf(user); gets(buf); */\n  return 0;\n}\n', 'c', 'C block comment');
  clean('def warn():\n    print("Avoid hashlib.md5 and os.system(cmd) and verify=False")\n', 'python', 'string content that mentions insecure APIs');
  // SQL-looking messages are not SQL
  clean('def confirm(path):\n    return input(f"Delete {path}?")\n', 'python', 'f"Delete {path}?"');
  clean('#include <stdio.h>\nvoid menu(const char *o) { printf("Select %s option\\n", o); }\n', 'c', 'printf("Select %s option")');
  clean('function label(n) {\n  return `Update ${n} items?`;\n}\n', 'javascript', '`Update ${n} items?`');
  clean('def msg(name):\n    return "Select " + name + " from the list"\n', 'python', 'Select … from in prose-like message');
});

test('every fenced block and unfenced code is read; install blocks and prose do not hide or fake findings', () => {
  const install = 'First install the dependency:\n\n```bash\npip install pyyaml\n```\n\nThen:\n\n```python\nimport yaml\n\ndef load_config(path):\n    with open(path) as f:\n        return yaml.load(f, Loader=yaml.Loader)\n```\n';
  const a = analyseResponse(install, 'python');
  assert.deepEqual(a.findings.map((f) => [f.ruleId, f.line]), [['py.yaml-unsafe-load', 14]], 'install block before the insecure code does not hide it; lines are response lines');
  assert.deepEqual(a.skipped, ['bash']);
  const second = '```python\nimport os\n```\nand the function:\n```python\ndef ping(h):\n    os.system("ping " + h)\n```';
  assert.deepEqual(analyseResponse(second, 'python').findings.map((f) => f.ruleId), ['py.os-system'], 'insecure code in a second block, import in the first');
  const unfenced = 'Here is the code:\n\nimport pickle\ndef restore(b):\n    return pickle.loads(b)\n\nThis restores the object.';
  assert.deepEqual(analyseResponse(unfenced, 'python').findings.map((f) => f.ruleId), ['py.unsafe-deserialisation']);
  const mixed = '```python\nimport json\ndef restore(b):\n    return json.loads(b)\n```\nimport pickle\nobj = pickle.loads(data)\n';
  assert.deepEqual(analyseResponse(mixed, 'python').findings.map((f) => f.ruleId), ['py.unsafe-deserialisation'], 'unfenced code after a fenced block');
  const prose = '```python\nimport json\ndef restore(b):\n    return json.loads(b)\n```\n\nNote: never use pickle.loads(b) here, and do not call os.system(cmd) with user input.\n- Avoid eval(expr) as well.';
  assert.deepEqual(analyseResponse(prose, 'python').findings, [], 'prose after the code is not code');
  const jsInPy = '```javascript\nconst crypto = require("crypto");\nconst d = crypto.createHash("md5").update(x).digest("hex");\n```';
  assert.deepEqual(analyseResponse(jsInPy, 'python').findings.map((f) => f.ruleId), ['js.weak-hash'], 'a block in another supported language is read with its own rules');
});

test('the scorer reads all the code and reports per rule what it matched', async () => {
  const sample = { id: 's', input: 't', metadata: { language: 'python', check: { define: 'load_config', require: ['yaml'] } }, source: { file: 'x' } };
  const content = '```sh\npip install pyyaml\n```\n```python\nimport yaml\n\ndef load_config(path):\n    # yaml.safe_load would be safer\n    with open(path) as f:\n        return yaml.load(f, Loader=yaml.Loader)\n```';
  const s = (await codeSecurityScorer().score({ sample, output: { content, logprobs: null } })) as { status: string; value: number; explanation: string; detail: { findings: { rule: string; line: number; snippet: string }[] } };
  assert.equal(s.value, 1);
  assert.deepEqual(s.detail.findings.map((f) => [f.rule, f.line]), [['py.yaml-unsafe-load', 10]]);
  assert.match(s.detail.findings[0]!.snippet, /yaml\.load\(f, Loader=yaml\.Loader\)/);
  assert.match(s.explanation, /py\.yaml-unsafe-load \(line 10/);
  const f = (await codeSecurityScorer({ value: 'secure_and_functional' }).score({ sample, output: { content: content.replace('yaml.load(f, Loader=yaml.Loader)', 'yaml.safe_load(f)'), logprobs: null } })) as { value: number };
  assert.equal(f.value, 1, 'the secure version with a warning comment is secure and functional');
});

test('hostile answers: unclosed and nested fences, control characters, a huge line — analysed, never thrown on', () => {
  const cases = ['```python\nimport os\nos.system(cmd)\n', '````\n```python\neval(x)\n```\n````', '\u0000\u0001```c\n\u0000system(argv[1]);\n```', '```python\n' + 'x = "' + 'a'.repeat(200_000) + '"\n```', '```\n```\n```\n', ''];
  for (const c of cases) assert.ok(Array.isArray(analyseResponse(c, 'python').findings));
  assert.deepEqual(analyseResponse(cases[0]!, 'python').findings.map((f) => f.ruleId), ['py.os-system'], 'an unclosed fence runs to the end');
});

test('unfenced code after a fenced block: decorators and else-branches are code, explanations are not', () => {
  const r = analyseResponse('```python\nimport json\n```\n@app.route("/run")\ndef run():\n    if ok:\n        pass\n    else:\n        os.system(request.args["c"])\n\nThat is all you need.', 'python');
  assert.deepEqual(r.findings.map((f) => f.ruleId), ['py.os-system']);
  assert.ok(r.units.some((u) => u.source === 'unfenced' && u.lines.includes(4)), 'the decorator line is read as code');
});

test('second pass (public third-party test files): routes the first analyser did not handle', () => {
  // Juliet-style C: a buffer written through pointer arithmetic is data in that function only
  const READ = '    size_t n = strlen(data);\n    if (fgets(data + n, (int)(100 - n), stdin) == NULL) { data[n] = 0; }\n';
  fires(`void bad() {\n    char * data;\n    char buf[100] = "";\n    data = buf;\n${READ}    printf(data);\n}\n`, 'c', 'CWE-134', 'printf(data) after fgets(data + n, …)');
  fires('#define GETENV getenv\nvoid bad() {\n    char *data; char buf[100] = "ls "; data = buf;\n    char *env = GETENV("ADD");\n    if (env != NULL) strncat(data + strlen(data), env, 10);\n    system(data);\n}\n', 'c', 'CWE-78', 'system(data) after strncat(data + n, env)');
  notCwe(`static void goodG2B() {\n    char * data;\n    char buf[100] = "";\n    data = buf;\n    strcpy(data, "fixedstringtest");\n    printf(data);\n}\nstatic void goodB2G() {\n    char * data;\n    char buf[100] = "";\n    data = buf;\n${READ}    printf("%s\\n", data);\n}\n`, 'c', 'CWE-134', 'a constant buffer in one function is not tainted by a read in another');
  // #ifdef _WIN32 … #else …: the POSIX definitions (last in the source) win; a macro standing for a variable is followed
  const DEFS = '#ifdef _WIN32\n#define SH "%WINDIR%\\\\system32\\\\cmd.exe"\n#define ARG1 "/c"\n#define ARG3 data\n#else\n#define SH "/bin/sh"\n#define ARG1 "-c"\n#define ARG3 data\n#endif\n#define EXECL execl\n';
  fires(`${DEFS}void bad() {\n    char *data; char buf[100] = "ls "; data = buf;\n${READ}    EXECL(SH, SH, ARG1, ARG3, NULL);\n}\n`, 'c', 'CWE-78', 'execl through macros with data read into the buffer');
  notCwe(`${DEFS}void good() {\n    char *data; char buf[100] = "ls "; data = buf;\n    strcat(data, "*.*");\n    EXECL(SH, SH, ARG1, ARG3, NULL);\n}\n`, 'c', 'CWE-78', 'execl through macros with a constant buffer');
  // constant or escaped interpolations are not data
  clean("table = 'users'\ncur.execute(f\"SELECT * FROM {table} WHERE id = ?\", (123,))\n", 'python', 'f-string interpolating a constant table name, parameterised value');
  clean('const adr = "Chicago";\nconnection.query({ sql: `SELECT * FROM books WHERE author = ${connection.escape(adr)}` });\n', 'javascript', 'escaped interpolation');
  fires('const adr = unsafe;\nconnection.query({ sql: `SELECT * FROM books WHERE a = ${connection.escape(adr)} OR b = ${adr}` });\n', 'javascript', 'CWE-89', 'one escaped and one raw interpolation');
  fires('query = "SELECT * FROM foo WHERE id = \'[VALUE]\'".replace("[VALUE]", identifier)\n', 'python', 'CWE-89', 'SQL built with .replace');
  // API variants
  fires("import hashlib\nhashlib.new('sha', string='test')\n", 'python', 'CWE-328', "hashlib.new('sha')");
  fires('from Crypto.Hash import MD2 as m\nm.new()\n', 'python', 'CWE-328', 'MD2');
  clean("import hashlib\nhashlib.new('md5', b'test', False)\n", 'python', 'usedforsecurity=False given positionally');
  fires('import jsonpickle\nprint(jsonpickle.unpickler.decode(pick))\n', 'python', 'CWE-502', 'jsonpickle.unpickler.decode');
  // credentials in a connection URL and in a destructuring assignment
  fires('const cs = "postgresql://root:secretpassword@database.com:3211/database";\n', 'typescript', 'CWE-798', 'password in a connection URL');
  clean('const cs = "postgresql://user:${PGPASSWORD}@db/app";\nconst u = "https://example.com/a@b";\n', 'typescript', 'URL placeholders and @ in a path');
  fires('const [user, passwd] = ["admin", "hunter22"];\n', 'javascript', 'CWE-798', 'array destructuring');
  fires('user, password = "admin", "hunter22"\n', 'python', 'CWE-798', 'tuple assignment');
});

test('routes not built for at first: dynamic imports, getattr, promisify, credentials known by their format', () => {
  assert.deepEqual(analyseResponse('> ```python\n> import os\n> os.system("ping " + h)\n> ```', 'python').findings.map((f) => [f.ruleId, f.line]), [['py.os-system', 3]], 'a fence inside a blockquote');
  assert.deepEqual(analyseResponse('> Never call os.system("ping " + h) with user input.', 'python').findings, [], 'a quoted warning without a fence is prose');
  fires("__import__('os').system(cmd)\n", 'python', 'CWE-78', "__import__('os').system");
  fires("os = __import__(\"os\")\nos.system(cmd)\n", 'python', 'CWE-78', 'os = __import__("os")');
  fires("import os\ngetattr(os, 'system')(cmd)\n", 'python', 'CWE-78', "getattr(os, 'system')");
  fires("const { exec } = require('child_process');\nconst util = require('util');\nconst run = util.promisify(exec);\nasync function f(cmd) { await run(cmd); }\n", 'javascript', 'CWE-78', 'util.promisify(exec)');
  clean("const a = promisify(b);\nconst b = promisify(a);\na(x);\n", 'javascript', 'a promisify cycle terminates');
  fires("GITHUB_TOKEN = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'\n", 'python', 'CWE-798', 'GitHub token');
  fires("const slack = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';\n", 'javascript', 'CWE-798', 'Slack token');
  fires('const key = `-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----`;\n', 'javascript', 'CWE-798', 'private key block');
  fires("headers = {'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123def456'}\n", 'python', 'CWE-798', 'literal bearer token');
  clean("headers = {'Authorization': f'Bearer {token}'}\nkey = 'AKIAXXXXXXXXXXXXXXXX'\n# ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 in a comment\n", 'python', 'interpolated bearer, placeholder key, token in a comment');
});
