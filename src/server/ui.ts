import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { UI_DIR, loadUi } from '../view/server.js';

/**
 * The web UI's registry screens on `assay server` (the same bundle as `assay view`): index.html at
 * /ui/ and the bundle's files under /assets/. Read into memory at start; nothing else on disk is
 * served. The registry's own security headers and access rules apply to every API call the screens make.
 */
export function registerUi(app: FastifyInstance, dir = UI_DIR): boolean {
  if (!existsSync(join(dir, 'index.html'))) return false;
  const files = loadUi(dir);
  const index = files.get('/index.html')!;
  app.get('/', async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', async (_req, reply) => reply.type(index.type).send(index.body));
  app.get('/assets/*', async (req, reply) => {
    const f = files.get(req.url.split('?')[0]!);
    if (!f) return reply.code(404).type('text/plain').send('not found\n');
    return reply.type(f.type).header('cache-control', 'public, max-age=3600').send(f.body);
  });
  return true;
}
