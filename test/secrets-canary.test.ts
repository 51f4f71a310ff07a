/**
 * Canary keys across full runs that are not agentic (issue 16): the redaction pass applies to every
 * record the log writer writes, not only to agentic samples. A simulated model that leaks the keys
 * in its answers (plain, base64 inside `Basic user:key`, URL-encoded, \u-escaped, split across two
 * chunks), and an upstream that echoes the request's Authorization header back in its error body in
 * several encodings: the run log and its artefacts hold none of the keys in any of those forms.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runSuite } from '../src/run/engine.js';
import { iterateSamples } from '../src/run/log-reader.js';
import { createModel } from '../src/model/registry.js';
import { startTarget, type RunningTarget } from '../src/target/server.js';
import type { Behaviour } from '../src/target/behaviours/types.js';
import { loadSuite } from '../src/suite/load.js';
import { putArtefact } from '../src/run/artefacts.js';
import { secretRedactor } from '../src/common/secrets.js';
import type { SampleRecord } from '../src/run/types.js';
import { ROOT, cli, config, tmp } from './helpers.js';

const rnd = () => Math.random().toString(36).slice(2, 12).padEnd(10, '7');
/** In the environment, as a grader key would be. */
const ENV_KEY = `sk-envcanary-${rnd()}${rnd()}${rnd()}`;
/** Given to the adapter, as `--api-key` would be. */
const FLAG_KEY = `sk-flagcanary-${rnd()}${rnd()}${rnd()}`;

/** Every encoding a leak is tried in, and so searched for afterwards. */
function encodings(k: string) {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    plain: k,
    base64: b64(k).replace(/=+$/, ''),
    basicAuth: b64(`user:${k}`),
    base64Offset2: b64(`ab${k}`),
    urlEncoded: encodeURIComponent(`key=${k}&x=1`),
    percentAll: [...Buffer.from(k)].map((x) => `%${x.toString(16).toUpperCase()}`).join(''),
    uEscaped: [...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
    hex: Buffer.from(k).toString('hex'),
    reversed: [...k].reverse().join(''),
  };
}
/** How the leak is written: every encoding, and the key split in two chunks. */
const leakText = (k: string) => `${Object.entries(encodings(k)).map(([n, v]) => `${n}: ${v}`).join('\n')}\nchunk one: ${k.slice(0, Math.ceil(k.length / 2))}\n(and later) chunk two: ${k.slice(Math.ceil(k.length / 2))}\n`;
/** What must appear nowhere afterwards: each encoding (its core, so context around it does not matter) and each half. */
function needles(k: string): string[] {
  const e = encodings(k);
  const half = Math.ceil(k.length / 2);
  return [k, e.base64.slice(4, -4), Buffer.from(`user:${k}`).toString('base64').slice(12, -4), Buffer.from(`ab${k}`).toString('base64').slice(4, -4), encodeURIComponent(k), e.percentAll, e.uEscaped, e.hex, e.reversed, k.slice(0, half), k.slice(half)];
}

let target: RunningTarget;
let echo: Server;
let echoUrl = '';
before(async () => {
  process.env.ASSAY_TEST_GRADER_API_KEY = ENV_KEY;
  const leaky: Behaviour = {
    name: 'leaky',
    answer: () => ({ content: `The answer is 4.\n${leakText(ENV_KEY)}${leakText(FLAG_KEY)}` }),
  };
  target = await startTarget({ behaviours: [leaky] });
  // An upstream that echoes the Authorization header in its error, as some gateways do.
  let served = 0;
  echo = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // The first request succeeds (a run whose first request fails stops before writing anything), the rest echo the key.
      if (served++ === 0 && !req.url?.startsWith('/fail')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'leaky', choices: [{ index: 0, message: { role: 'assistant', content: '4' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
        return;
      }
      const auth = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
      const key = auth.replace(/^Bearer /, '');
      res.writeHead(400, { 'content-type': 'application/json', 'x-echo-auth': Buffer.from(auth).toString('base64') });
      res.end(JSON.stringify({ error: { message: `invalid request for ${auth}; as received: ${Buffer.from(auth).toString('base64')} ${encodeURIComponent(`k=${key}`)} ${key.slice(0, 16)} ${key.slice(16)}`, detail: leakText(key) } }));
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
after(async () => {
  delete process.env.ASSAY_TEST_GRADER_API_KEY;
  await target?.close();
  await new Promise((r) => echo?.close(r));
});

const allText = (dir: string): string => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((n) => join(dir, n)).filter((p) => statSync(p).isFile()).map((p) => readFileSync(p, 'latin1')).join('\n') : '');

function assertClean(where: string, text: string) {
  for (const k of [ENV_KEY, FLAG_KEY])
    for (const n of needles(k)) assert.ok(!text.includes(n), `${where} holds a form of a canary key (${n.slice(0, 14)}…)`);
}

async function runDemo(baseUrl: string, over: Partial<import('../src/run/types.js').RunConfig> = {}) {
  const suite = await loadSuite(join(ROOT, 'suites/demo-arithmetic/suite.yaml'));
  const model = createModel('openai/leaky', { baseUrl, apiKey: FLAG_KEY, maxConnections: 2 });
  const log = join(tmp('assay-canary-'), 'run.jsonl');
  const r = await runSuite({ suite, model, config: config({ limit: 4, maxConnections: 2, ...over }), logPath: log, durable: false });
  const samples: SampleRecord[] = [];
  for await (const s of iterateSamples(log)) samples.push(s);
  return { log, samples, status: r.status };
}

test('a non-agentic run whose model leaks both keys in every encoding: no form of either key in the log; the records stay valid JSON', async () => {
  const { log, samples, status } = await runDemo(`${target.url}/v1`);
  assert.equal(status, 'completed');
  assert.equal(samples.length, 4);
  const text = readFileSync(log, 'utf8');
  assertClean('the run log', text);
  assertClean('the artefacts', allText(`${log}.artefacts`));
  assert.match(text, /\[REDACTED\]/);
  for (const line of text.trim().split('\n')) JSON.parse(line);
  // The rest of the answer survives: redaction takes the keys, not the record.
  assert.ok(samples.every((s) => /The answer is 4/.test(JSON.stringify(s.output))), 'the answer text is kept');
});

test('an upstream that echoes the Authorization header in its errors: the errored records hold no form of the key', async () => {
  const { log, samples, status } = await runDemo(echoUrl, { maxRetries: 1 });
  assert.equal(status, 'completed');
  assert.ok(samples.filter((s) => s.error !== null).length >= 2, 'the samples after the first errored');
  const text = readFileSync(log, 'utf8');
  assertClean('the run log', text);
  assertClean('the artefacts', allText(`${log}.artefacts`));
  for (const line of text.trim().split('\n')) JSON.parse(line);
});

test('text artefacts pass the redactor; a record whose text pass would break JSON is redacted field by field', () => {
  const dir = tmp('assay-canary-art-');
  createModel('openai/x', { baseUrl: 'http://127.0.0.1:9/v1', apiKey: FLAG_KEY, maxConnections: 1 });
  const ref = putArtefact(dir, `config\n${leakText(FLAG_KEY)}`);
  assertClean('an artefact', allText(dir));
  assert.equal(ref.size, statSync(join(dir, 'sha256', ref.artefact.slice(7))).size);
  // A secret that is mostly digits could match JSON outside strings: the line is re-serialised from the redacted object instead.
  const digits = '123456789012345678';
  const red = secretRedactor([digits]);
  const line = `${JSON.stringify({ n: Number(digits.slice(0, 15)), s: `x${digits}y` })}\n`;
  const out = red.redactLine(line);
  assert.doesNotThrow(() => JSON.parse(out), out);
  assert.ok(!out.includes(digits));
});

test('the redactor never misses a form at any offset in any text (randomised), and leaves text without secrets untouched', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ .,:"{}\n\u00e9\u4e2d';
  const text = (n: number) => Array.from({ length: n }, () => alphabet[rand(alphabet.length)]).join('');
  for (let trial = 0; trial < 300; trial++) {
    const key = `sk-${text(8 + rand(40)).replace(/[^A-Za-z0-9]/g, 'x')}`;
    const red = secretRedactor([key]);
    const forms = Object.values(encodings(key));
    const form = forms[rand(forms.length)]!;
    const t = `${text(rand(300))}${form}${text(rand(300))}`;
    assert.ok(!red.redact(t).includes(form), `trial ${trial}: ${form} survived`);
    const plain = text(rand(500)).replace(/sk-/g, 'sk_');
    assert.equal(red.redact(plain), plain, 'text holding no form of the key is left as it is');
  }
});

test('assay run whose first request fails with the key echoed back: the message printed to the terminal holds no form of the key', async () => {
  const out = join(tmp('assay-canary-cli-'), 'run.jsonl');
  const r = await cli(['run', join(ROOT, 'suites/demo-arithmetic/suite.yaml'), '--model', 'openai/leaky', '--base-url', `${echoUrl}/fail/v1`, '--api-key', FLAG_KEY, '--out', out, '--limit', '2', '--no-progress'], { ASSAY_HOME: tmp('assay-canary-home-'), ASSAY_TEST_GRADER_API_KEY: ENV_KEY });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /400/);
  assertClean('the terminal output', r.stdout + r.stderr);
});
