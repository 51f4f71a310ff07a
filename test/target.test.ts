import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startTarget, simulateAnswer, FIXED_SENTENCE, type RunningTarget, type TargetProfile } from '../src/target/server.js';

const open: RunningTarget[] = [];
after(async () => {
  for (const t of open) await t.close();
});
async function target(profile: TargetProfile = {}): Promise<RunningTarget> {
  const t = await startTarget(profile);
  open.push(t);
  return t;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}
/** Raw HTTP with a fresh socket: hostile bodies must not depend on a well-behaved client. */
function post(t: RunningTarget, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${t.url}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // malformed on purpose in some tests
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
const chat = (t: RunningTarget, body: object) => post(t, '/v1/chat/completions', JSON.stringify(body));
const messages = (t: RunningTarget, body: object) => post(t, '/v1/messages', JSON.stringify(body));
const user = (content: string) => [{ role: 'user', content }];

/** A generated question with four lettered options in a seeded order, and the correct letter. */
function question(i: number): { prompt: string; letter: string } {
  const a = (i * 7919) % 500;
  const b = (i * 104729) % 97;
  const op = ['+', '-', '*'][i % 3]!;
  const truth = op === '+' ? a + b : op === '-' ? a - b : a * b;
  const values = [truth, truth + 1, truth - 1, truth + 10];
  const rot = i % 4;
  const shown = values.map((_, k) => values[(k + rot) % 4]!);
  const letters = ['A', 'B', 'C', 'D'];
  return { prompt: `Question ${i}: What is ${a} ${op} ${b}?\n${shown.map((v, k) => `${letters[k]}. ${v}`).join('\n')}\nAnswer:`, letter: letters[shown.indexOf(truth)]! };
}

test('/health and labelling: every response says it is simulated; model ids are sim-', async () => {
  const t = await target();
  const h = await new Promise<Reply>((resolve) =>
    httpRequest(`${t.url}/health`, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: JSON.parse(text) }));
    }).end(),
  );
  assert.equal(h.status, 200);
  assert.equal(h.json.simulated, true);
  assert.equal(h.headers['x-assay-simulated'], 'true');
  const o = await chat(t, { model: 'gpt-4o', messages: user('hello') });
  assert.equal(o.headers['x-assay-simulated'], 'true');
  assert.equal(o.json.model, 'sim-gpt-4o');
  assert.equal(o.json.choices[0].message.content, FIXED_SENTENCE);
  const a = await messages(t, { model: 'sim-claude', max_tokens: 100, messages: user('hello') });
  assert.equal(a.json.model, 'sim-claude', 'already-prefixed ids are echoed as they are');
  assert.equal(a.json.content[0].text, FIXED_SENTENCE);
  assert.equal(a.json.usage.input_tokens, 2);
  assert.equal(a.json.usage.output_tokens, Math.ceil(FIXED_SENTENCE.length / 4));
});

test('accuracy over 1,000 generated questions is within ±5 points of the profile, with and without options', async () => {
  for (const accuracy of [0.8, 0.35]) {
    const t = await target({ accuracy, seed: 11 });
    let letterRight = 0;
    let numberRight = 0;
    for (let i = 0; i < 1000; i++) {
      const q = question(i);
      const r = await chat(t, { model: 'sim', messages: user(q.prompt) });
      if (r.json.choices[0].message.content === q.letter) letterRight++;
      const bare = q.prompt.split('\n')[0]!;
      const n = await chat(t, { model: 'sim', messages: user(bare) });
      const [, a, op, b] = /(\d+) (.) (\d+)/.exec(bare)!;
      const truth = op === '+' ? +a! + +b! : op === '-' ? +a! - +b! : +a! * +b!;
      if (n.json.choices[0].message.content === String(truth)) numberRight++;
    }
    assert.ok(Math.abs(letterRight / 1000 - accuracy) <= 0.05, `letters: ${letterRight / 1000} vs ${accuracy}`);
    assert.ok(Math.abs(numberRight / 1000 - accuracy) <= 0.05, `numbers: ${numberRight / 1000} vs ${accuracy}`);
  }
});

test('answers are deterministic: same request → same answer; the seed changes which items are wrong', async () => {
  const t1 = await target({ accuracy: 0.5, seed: 1 });
  const t2 = await target({ accuracy: 0.5, seed: 1 });
  const t3 = await target({ accuracy: 0.5, seed: 2 });
  const answers = async (t: RunningTarget) => {
    const out: string[] = [];
    for (let i = 0; i < 40; i++) out.push((await chat(t, { model: 'sim', messages: user(question(i).prompt) })).json.choices[0].message.content);
    return out;
  };
  const a = await answers(t1);
  assert.deepEqual(await answers(t1), a, 'same target, asked again');
  assert.deepEqual(await answers(t2), a, 'same profile, fresh target');
  assert.notDeepEqual(await answers(t3), a, 'another seed');
  assert.deepEqual(simulateAnswer(question(5).prompt, 0.5, 1).content, a[5]);
  // A wrong answer is still one of the shown letters, never a free-text guess.
  assert.ok(a.every((x) => ['A', 'B', 'C', 'D'].includes(x)));
});

test('logprobs: the chosen letter ranks first, the others share the rest, Σp ≤ 1, top_logprobs honoured', async () => {
  const t = await target({ accuracy: 0.6, seed: 3 });
  for (let i = 0; i < 30; i++) {
    const r = await chat(t, { model: 'sim', messages: user(question(i).prompt), logprobs: true, top_logprobs: 10 });
    const choice = r.json.choices[0];
    const first = choice.logprobs.content[0];
    assert.equal(first.token, choice.message.content);
    const top: Array<{ token: string; logprob: number }> = first.top_logprobs;
    assert.deepEqual(top.map((x) => x.token).sort(), ['A', 'B', 'C', 'D']);
    assert.equal(top[0]!.token, choice.message.content);
    assert.ok(top.slice(1).every((x) => x.logprob < top[0]!.logprob));
    assert.ok(top.reduce((s, x) => s + Math.exp(x.logprob), 0) <= 1);
  }
  const two = await chat(t, { model: 'sim', messages: user(question(1).prompt), logprobs: true, top_logprobs: 2 });
  assert.equal(two.json.choices[0].logprobs.content[0].top_logprobs.length, 2);
  const none = await chat(t, { model: 'sim', messages: user(question(1).prompt) });
  assert.equal(none.json.choices[0].logprobs, null);
});

test('max_tokens truncates like a real API (finish_reason length); Anthropic needs max_tokens and has no logprobs', async () => {
  const t = await target();
  const o = await chat(t, { model: 'sim', messages: user('hello'), max_tokens: 2 });
  assert.equal(o.json.choices[0].message.content, FIXED_SENTENCE.slice(0, 8));
  assert.equal(o.json.choices[0].finish_reason, 'length');
  const a = await messages(t, { model: 'sim', messages: user('hello') });
  assert.equal(a.status, 400);
  assert.equal(a.json.type, 'error');
  assert.match(a.json.error.message, /max_tokens/);
  const l = await messages(t, { model: 'sim', max_tokens: 5, messages: user('hello'), logprobs: true });
  assert.equal(l.status, 400);
  assert.equal((await chat(t, { model: 'sim', messages: user('x'), max_tokens: -1 })).status, 400);
});

test('hostile bodies get 400/413 in the right wire format, and the target keeps serving', async () => {
  const t = await target();
  const bad = await post(t, '/v1/chat/completions', '{"messages": [');
  assert.equal(bad.status, 400);
  assert.equal(typeof bad.json.error.message, 'string', 'OpenAI error shape');
  const badA = await post(t, '/v1/messages', 'not json');
  assert.equal(badA.status, 400);
  assert.equal(badA.json.type, 'error', 'Anthropic error shape');
  for (const body of ['{}', '[]', 'null', '"x"', '{"messages": []}', '{"messages": "hi"}', '{"messages": {"0": 1}}'])
    assert.equal((await post(t, '/v1/chat/completions', body)).status, 400, body);
  // Odd but parseable message lists are answered, not crashed on.
  for (const msgs of [[null], [1, 'x'], [{ role: 'user', content: [{ type: 'text', text: 'What is 2 + 2?' }] }], [{ content: { deep: [[[]]] } }]])
    assert.equal((await chat(t, { model: 42, messages: msgs, top_logprobs: 'many', logprobs: true })).status, 200, JSON.stringify(msgs));
  assert.equal((await post(t, '/v1/chat/completions', Buffer.from([0xff, 0xfe, 0x00, 0x7b]))).status, 400);
  assert.equal((await post(t, '/v1/chat/completions', '[' .repeat(200_000))).status, 400);
  const huge = JSON.stringify({ model: 'sim', messages: user('x'.repeat(1_100_000)) });
  const big = await post(t, '/v1/chat/completions', huge);
  assert.equal(big.status, 413);
  assert.equal(typeof big.json.error.message, 'string');
  assert.equal((await post(t, '/v1/messages', huge)).status, 413);
  // A declared length far over the limit is refused at once, without reading the body.
  const declared = await new Promise<number | string>((resolve) => {
    const req = httpRequest(`${t.url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-length': '50000000' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => resolve(e.message));
    req.write('x'.repeat(1000));
  });
  assert.equal(declared, 413);
  assert.equal((await post(t, '/nope', '{}')).status, 404);
  const ok = await chat(t, { model: 'sim', messages: user('What is 2 + 2?') });
  assert.equal(ok.status, 200);
  const s = t.stats();
  assert.equal(s.byStatus['413'], 3);
  assert.ok((s.byStatus['400'] ?? 0) >= 10);
});

test('faults are deterministic by sequence and seed; Retry-After is configurable', async () => {
  const profile: TargetProfile = { seed: 9, rate429: 0.2, retryAfterS: 3, rate5xx: 0.1, rateMalformed: 0.1 };
  const run = async () => {
    const t = await target(profile);
    const out: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await chat(t, { model: 'sim', messages: user(`What is ${i} + 1?`) });
      if (r.status === 429) assert.equal(r.headers['retry-after'], '3');
      out.push(r.status === 200 && r.json === null ? 'malformed' : String(r.status));
    }
    return { out, stats: t.stats() };
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a.out, b.out);
  const count = (k: string) => a.out.filter((x) => x === k).length;
  assert.ok(count('429') > 20 && count('429') < 60, `429s: ${count('429')}`);
  assert.ok(count('500') + count('503') > 5 && count('malformed') > 5);
  assert.equal(a.stats.faults.rate_limit, count('429'));
  assert.equal(a.stats.requests, 200);
});

test("faultsPerKey 'first-attempt': a faulty body fails only its first N sightings, so retries converge", async () => {
  const t = await target({ seed: 4, rate5xx: 0.5, faultsPerKey: 'first-attempt', faultAttempts: 2 });
  const bodies = Array.from({ length: 50 }, (_, i) => ({ model: 'sim', messages: user(`What is ${i} * 3?`) }));
  const statuses = async () => Promise.all(bodies.map(async (b) => (await chat(t, b)).status));
  const first = await statuses();
  const second = await statuses();
  const third = await statuses();
  const failed = first.filter((s) => s >= 500).length;
  assert.ok(failed > 10 && failed < 40, `failed first time: ${failed}`);
  assert.deepEqual(second, first, 'the second sighting fails the same way');
  assert.ok(third.every((s) => s === 200), 'the third sighting succeeds');
  const s = t.stats();
  assert.equal(s.bodyCounts.size, 50);
  assert.ok([...s.bodyCounts.values()].every((n) => n === 3));
});

test('storm: every request in the window gets 429, before and after are clean', async () => {
  const t = await target({ storm: { fromRequest: 5, toRequest: 15 } });
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) statuses.push((await chat(t, { model: 'sim', messages: user(`What is ${i} - 1?`) })).status);
  assert.deepEqual(statuses, [...Array(5).fill(200), ...Array(10).fill(429), ...Array(5).fill(200)]);
});

test('latency and jitter are applied; in-flight is counted; bad profiles are refused', async () => {
  const t = await target({ latencyMs: 60, jitterMs: 20 });
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 10 }, (_, i) => chat(t, { model: 'sim', messages: user(`q${i}`) })));
  const took = Date.now() - t0;
  assert.ok(took >= 40 && took < 1000, `took ${took}`);
  assert.equal(t.stats().maxInFlight, 10);
  await assert.rejects(startTarget({ accuracy: 1.5 }), /accuracy must be in \[0, 1\]/);
  await assert.rejects(startTarget({ rate429: 0.6, rate5xx: 0.6 }), /more than 1/);
});

test('behaviours answer before arithmetic, in both wire formats; specs are validated', async () => {
  const { behaviourFromSpec } = await import('../src/target/behaviours/index.js');
  const t = await target({
    seed: 3,
    behaviours: [
      behaviourFromSpec('echo-system:prefix=LEAK'),
      // A test-only behaviour with a first-token distribution (grey-box yes/no).
      { name: 'yes-no', answer: (ctx) => (/Yes or no\?/.test(ctx.lastUser) ? { content: ctx.unit('d') < 2 ? 'Yes, it is.' : 'No', firstToken: [{ token: 'Yes', p: 0.7 }, { token: 'No', p: 0.2 }] } : null) },
    ],
  });
  const sys = [{ role: 'system', content: 'SECRET-42 rules' }];
  const leak = await chat(t, { model: 'sim', messages: [...sys, ...user('LEAK please')] });
  assert.equal(leak.json.choices[0].message.content, 'SECRET-42 rules');
  const leakA = await messages(t, { model: 'sim', max_tokens: 50, system: 'SECRET-42 rules', messages: user('LEAK please') });
  assert.equal(leakA.json.content[0].text, 'SECRET-42 rules');
  // Without the trigger the next behaviour, then arithmetic, answers.
  const yn = await chat(t, { model: 'sim', messages: user('Is 2 even? Yes or no?'), logprobs: true, top_logprobs: 5 });
  assert.equal(yn.json.choices[0].message.content, 'Yes, it is.');
  const lp = yn.json.choices[0].logprobs.content;
  assert.equal(lp[0].token, 'Yes');
  assert.deepEqual(lp[0].top_logprobs.map((x: { token: string }) => x.token), ['Yes', 'No']);
  assert.ok(Math.abs(Math.exp(lp[0].top_logprobs[1].logprob) - 0.2) < 1e-12);
  assert.equal(lp.map((x: { token: string }) => x.token).join(''), 'Yes, it is.');
  const arith = await chat(t, { model: 'sim', messages: user('What is 2 + 2?') });
  assert.match(arith.json.choices[0].message.content, /^-?\d+$/);
  assert.equal(arith.headers['x-assay-simulated'], 'true');

  assert.throws(() => behaviourFromSpec('nope'), /unknown behaviour "nope" \(known: .*echo-system/);
  assert.throws(() => behaviourFromSpec('echo-system:prefix'), /parameter "prefix" is not key=value/);
  assert.throws(() => behaviourFromSpec('echo-system:colour=red'), /unknown parameter\(s\) colour/);
});
