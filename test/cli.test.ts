import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { COMMAND_GROUPS, groupsFor } from '../src/cli/groups.js';
import { cliEntry } from './helpers.js';

test('the command table names exactly the top-level commands each group registers', async () => {
  const seen = new Set<string>();
  for (const [name, g] of Object.entries(COMMAND_GROUPS)) {
    const program = new Command();
    (await g.load()).register(program);
    assert.deepEqual(program.commands.map((c) => c.name()).sort(), [...g.commands].sort(), `group ${name}`);
    for (const c of g.commands) {
      assert.ok(!seen.has(c), `command ${c} is claimed by two groups`);
      seen.add(c);
    }
  }
});

test('a known command loads only its own group; help and unknown commands load them all', () => {
  const all = Object.keys(COMMAND_GROUPS).length;
  assert.deepEqual(groupsFor(['run', 'suite.yaml', '--model', 'openai/x']), [COMMAND_GROUPS.run!.load]);
  assert.deepEqual(groupsFor(['verify', 'r.json']), [COMMAND_GROUPS.attest!.load]);
  assert.equal(groupsFor([]).length, all);
  assert.equal(groupsFor(['--help']).length, all);
  assert.deepEqual(groupsFor(['--version']), []);
  assert.deepEqual(groupsFor(['-V']), []);
  assert.equal(groupsFor(['nonsense']).length, all);
});

test('unknown commands still get commander\'s own error, with every command listed in help', () => {
  const cli = [cliEntry()];
  const help = execFileSync(process.execPath, [...cli, '--help'], { encoding: 'utf8' });
  for (const g of Object.values(COMMAND_GROUPS)) for (const c of g.commands) assert.match(help, new RegExp(`^  ${c}\\b`, 'm'), c);
  assert.throws(() => execFileSync(process.execPath, [...cli, 'nonsense'], { encoding: 'utf8', stdio: 'pipe' }), (e: { status: number; stderr: string }) => e.status !== 0 && /unknown command 'nonsense'/.test(e.stderr));
});
