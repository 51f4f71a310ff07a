import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted upstream for gateway tests that need what the simulated target does not do: streams
 * that stop before their final usage event, upstreams that report usage in a particular event,
 * and a record of the exact bodies the gateway forwarded.
 */
export interface ScriptedUpstream {
  url: string;
  bodies: Record<string, unknown>[];
  close(): Promise<void>;
}

export type Handler = (body: Record<string, unknown>, format: 'openai' | 'anthropic', res: ServerResponse, req: IncomingMessage) => void;

export async function startScripted(handler: Handler): Promise<ScriptedUpstream> {
  const bodies: Record<string, unknown>[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      bodies.push(body);
      open.add(res);
      res.on('close', () => open.delete(res));
      handler(body, req.url?.includes('/messages') ? 'anthropic' : 'openai', res, req);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

/** Streams the given words as deltas; `final` decides whether the final usage event and terminator follow. */
export function streamWords(res: ServerResponse, format: 'openai' | 'anthropic', words: string[], o: { final: boolean; input?: number; output?: number; hang?: boolean }): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (format === 'anthropic') {
    res.write(sse({ type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model: 'x', content: [], usage: { input_tokens: o.input ?? 10, output_tokens: 1 } } }, 'message_start'));
    res.write(sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
    for (const w of words) res.write(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } }, 'content_block_delta'));
    res.write(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
    if (o.final) {
      res.write(sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: o.output ?? words.length } }, 'message_delta'));
      res.write(sse({ type: 'message_stop' }, 'message_stop'));
      res.end();
    } else if (!o.hang) res.end();
  } else {
    for (const w of words) res.write(sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: w }, finish_reason: null }] }));
    if (o.final) {
      res.write(sse({ id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: o.input ?? 10, completion_tokens: o.output ?? words.length, total_tokens: 0 } }));
      res.write(sse('[DONE]'));
      res.end();
    } else if (!o.hang) res.end();
  }
}
