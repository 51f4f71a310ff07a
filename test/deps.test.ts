import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';

// cookie@2.0.2 declares engines node >= 22 but reaches us only through fastify's inject helper
// (light-my-request), and works on Node 20: this test is the evidence (docs/decisions.md).
test('cookie@2.0.2 (via fastify inject / light-my-request) works on this Node: cookies encoded and parsed both ways', async () => {
  // The copy light-my-request loads: its package.json sits beside its resolved entry's package root.
  const lmr = createRequire(import.meta.url).resolve('light-my-request');
  const entry = createRequire(lmr).resolve('cookie');
  const pkgFile = join(entry.slice(0, entry.lastIndexOf('node_modules/cookie/') + 'node_modules/cookie/'.length), 'package.json');
  const cookiePkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string; engines?: { node?: string } };
  assert.equal(cookiePkg.version, '2.0.2', 'update this test and docs/decisions.md when cookie changes');
  const app = Fastify();
  app.get('/c', async (req, reply) => {
    void reply.header('set-cookie', 'sid=a%20b; Path=/; HttpOnly');
    return { cookie: req.headers.cookie ?? null };
  });
  const res = await app.inject({ method: 'GET', url: '/c', cookies: { theme: 'dark mode', n: '1' } });
  assert.equal(res.statusCode, 200);
  assert.equal((res.json() as { cookie: string }).cookie, 'theme=dark%20mode; n=1');
  assert.deepEqual(res.cookies.map((c) => [c.name, c.value, c.httpOnly]), [['sid', 'a b', true]]);
  await app.close();
});
