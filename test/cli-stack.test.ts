import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mapStack } from '../src/cli/stack.js';

// An unexpected error's stack points into the bundle (dist-cli/); the CLI maps it back to src/ with the
// .map files esbuild writes beside the chunks. Checked against the real bundle `npm run build` made.
const ROOT = join(import.meta.dirname, '..');
const bundle = join(ROOT, 'dist-cli/main.js');

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function position(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} not found`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

test('a frame in the bundle is mapped to the TypeScript source line', () => {
  const needle = 'commander.helpDisplayed';
  const inBundle = position(readFileSync(bundle, 'utf8'), needle);
  const inSource = position(readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8'), needle);
  const stack = `TypeError: boom\n    at main (${pathToFileURL(bundle).href}:${inBundle.line}:${inBundle.column})\n    at node:internal/process/task_queues:95:5`;
  const mapped = mapStack(stack).split('\n');
  assert.equal(mapped[0], 'TypeError: boom');
  assert.match(mapped[1]!, new RegExp(`^    at main \\(${join(ROOT, 'src/cli/main.ts').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${inSource.line}:\\d+\\)$`));
  assert.equal(mapped[2], '    at node:internal/process/task_queues:95:5');
});

test('frames without a map, unreadable maps and the message are left as they are', () => {
  const url = pathToFileURL(join(ROOT, 'dist-cli/no-such-chunk.js')).href;
  const stack = `Error: upstream said file:///x.js:1:1 and at (file:///y.js:2:2)\n    at f (${url}:1:10)\n    at g (file:///elsewhere.js:3:4)`;
  assert.equal(mapStack(stack), stack);
  assert.equal(mapStack(stack, () => '{not json'), stack);
  assert.equal(mapStack(stack, () => JSON.stringify({ version: 3, sources: [], names: [], mappings: '' })), stack);
});

test('hostile frame lines: long, or many file URLs without a position, come back unchanged', { timeout: 10_000 }, () => {
  const lines = [`    at x (file:///${'a'.repeat(200_000)}`, `    at (${'file:///a.js:'.repeat(300)})`, `    at (${'file://'.repeat(580)}x.js:1)`];
  for (const line of lines) assert.equal(mapStack(`Error\n${line}`), `Error\n${line}`);
});
