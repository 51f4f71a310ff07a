import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { AssayError } from '../../common/errors.js';
import { loadSuite } from '../../suite/load.js';
import { toSuiteFile } from '../../suite/schema.js';
import { openItems, sealItems } from '../../suite/heldout.js';
import { readInput } from '../input.js';

function readKey(file: string): Buffer {
  const text = readInput(file, 'held-out key').toString('utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text) throw new AssayError('HELD_OUT_KEY', 'the key file must hold 32 bytes in base64 (as written by assay suite seal)', { file });
  return key;
}

function rowsOf(file: string): unknown[] {
  return readInput(file, 'held-out items')
    .toString('utf8')
    .split('\n')
    .flatMap((l, i) => {
      if (!l.trim()) return [];
      try {
        return [JSON.parse(l) as unknown];
      } catch (e) {
        throw new AssayError('HELD_OUT_ITEM', `not JSON: ${(e as Error).message}`, { file, line: i + 1 });
      }
    });
}

/** `assay suite seal` and `assay suite unseal` (held-out splits, issue 27; docs/formats/audit.md §8). */
export function registerHeldOut(suite: Command): void {
  suite
    .command('seal')
    .description("Add an encrypted held-out split to a suite: items sealed with AES-256-GCM under the tester's key, salted commitments published in the suite file")
    .argument('<suite>', 'suite.yaml (its dataset is the public practice split)')
    .requiredOption('--items <file>', 'the held-out rows (JSONL, the same fields as the public dataset)')
    .option('--key <file>', 'an existing key (base64, 32 bytes); default: a new key written to --key-out')
    .option('--key-out <file>', 'where to write a new key (mode 0600; keep it away from the suite)')
    .option('--pair-by <field>', 'metadata field pairing public and held-out items for the contamination test (e.g. difficulty)')
    .option('--out <file>', 'sealed items file, relative to the suite', 'held-out.sealed.jsonl')
    .action(async (file: string, f: { items: string; key?: string; keyOut?: string; pairBy?: string; out: string }) => {
      const s = await loadSuite(file);
      if (s.def.heldOut) throw new AssayError('USAGE', 'this suite already has a held-out split; a new one is a new suite version', { file, field: 'held_out' });
      let key: Buffer;
      if (f.key) key = readKey(f.key);
      else {
        if (!f.keyOut) throw new AssayError('USAGE', 'give --key <file> or --key-out <file> for the new key');
        if (existsSync(f.keyOut)) throw new AssayError('USAGE', 'the --key-out file exists; refusing to overwrite a key', { file: f.keyOut });
        key = randomBytes(32);
        writeFileSync(f.keyOut, key.toString('base64') + '\n', { mode: 0o600 });
      }
      const sealed = sealItems(rowsOf(f.items), key, s.def.id);
      writeFileSync(join(s.dir, f.out), sealed.lines.join('\n') + '\n');
      const block = stringify({ held_out: { path: f.out, cipher: 'aes-256-gcm', key_id: sealed.keyId, ...(f.pairBy ? { pair_by: f.pairBy } : {}), commitments: sealed.commitments } });
      appendFileSync(s.file, (readFileSync(s.file, 'utf8').endsWith('\n') ? '' : '\n') + '# Held-out split (assay suite seal): encrypted items, salted commitments. The key is held by the tester.\n' + block);
      const again = await loadSuite(file);
      process.stdout.write(`sealed ${sealed.commitments.length} held-out items into ${join(s.dir, f.out)} (key ${sealed.keyId}${f.keyOut ? `, written to ${f.keyOut}` : ''})\n  suite ${again.def.id}@${again.def.version} now commits to them: digest ${again.digest}\n`);
    });

  suite
    .command('unseal')
    .description('As the tester: decrypt the held-out split, check every item against its published commitment, and write a runnable suite of it')
    .argument('<suite>', 'suite.yaml with a held_out block')
    .requiredOption('--key <file>', 'the held-out key')
    .requiredOption('--out <dir>', 'directory for the held-out suite (keep it private)')
    .action(async (file: string, f: { key: string; out: string }) => {
      const s = await loadSuite(file);
      if (!s.def.heldOut) throw new AssayError('USAGE', 'this suite has no held-out split', { file, field: 'held_out' });
      const sealedFile = resolve(s.dir, s.def.heldOut.path);
      const rows = openItems(readInput(sealedFile, 'sealed items').toString('utf8').split('\n'), readKey(f.key), { id: s.def.id, heldOut: s.def.heldOut }, sealedFile);
      const out = resolve(f.out);
      mkdirSync(out, { recursive: true });
      const data = `held-out${s.def.dataset.format === 'jsonl' ? '.jsonl' : '.jsonl'}`;
      writeFileSync(join(out, data), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      copyFileSync(resolve(s.dir, s.def.methodology), join(out, basename(s.def.methodology)));
      const { heldOut: _h, ...def } = s.def;
      const held = { ...def, description: `HELD-OUT split of ${s.def.id}@${s.def.version} (sealed suite ${s.digest}); every item checked against its published commitment`, methodology: basename(s.def.methodology), dataset: { ...def.dataset, path: data, format: 'jsonl' as const } };
      writeFileSync(join(out, 'suite.yaml'), stringify(toSuiteFile(held)));
      const loaded = await loadSuite(join(out, 'suite.yaml'));
      process.stdout.write(`unsealed ${rows.length} held-out items of ${s.def.id}@${s.def.version}: all match their commitments\n  held-out suite ${join(out, 'suite.yaml')} (${loaded.digest}); run it, then: assay audit contamination <public-run> <held-out-run>${s.def.heldOut.pairBy ? ` --by ${s.def.heldOut.pairBy}` : ''}\n`);
      void dirname;
    });
}
