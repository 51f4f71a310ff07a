import { bytesEqual } from '../tlog/merkle.js';
import { entriesPath, parseEntryBundle, TILE_WIDTH } from '../tlog/tiles.js';
import { fetchCheckpoint, type LogSource } from '../tlog/client.js';
import { decodeEntry } from '../tlog/entry.js';
import type { RegistryStore } from './db.js';
import { EVENT_ENTRY_TYPE, GENESIS, contentOfRow, eventDigest, eventEntry } from './events.js';

/**
 * `assay registry audit`: proves the database's event history matches the transparency log.
 * - every row's digest is recomputed from its content (an edited row fails);
 * - rows chain by `prev_digest` from the genesis value (a deleted or reordered row fails);
 * - each drained row's log entry is the entry for its digest (a substituted row fails);
 * - every registry-event entry in the log names a row (a deleted latest row fails);
 * - rows not yet drained are reported (normal for a moment after a write; a lasting gap is not).
 */
export interface AuditResult {
  ok: boolean;
  events: number;
  logged: number;
  undrained: number;
  logSize: number;
  problems: string[];
}

/** All entries of a log up to its verified checkpoint. */
export async function readLogEntries(src: LogSource, vkey: string): Promise<Uint8Array[]> {
  const cp = await fetchCheckpoint(src, vkey);
  const out: Uint8Array[] = [];
  for (let n = 0; n * TILE_WIDTH < cp.size; n++) {
    const width = Math.min(TILE_WIDTH, cp.size - n * TILE_WIDTH);
    const data = (await src.fetch(entriesPath(n, width))) ?? (width < TILE_WIDTH ? await src.fetch(entriesPath(n)) : null);
    if (!data) throw new Error(`entry bundle ${n} is missing from the log`);
    out.push(...parseEntryBundle(data).slice(0, width));
  }
  return out;
}

export async function auditRegistry(store: RegistryStore, log: { src: LogSource; vkey: string }): Promise<AuditResult> {
  const problems: string[] = [];
  const entries = await readLogEntries(log.src, log.vkey);
  const byIndex = new Map<number, number>(); // log index → seq
  let prev = GENESIS;
  let events = 0;
  let logged = 0;
  let undrained = 0;
  const digests = new Set<string>();
  let after = -1;
  for (;;) {
    const rows = await store.db.selectFrom('events').selectAll().where('seq', '>', after).orderBy('seq').limit(2000).execute();
    if (!rows.length) break;
    for (const r of rows) {
      const seq = Number(r.seq);
      after = seq;
      events++;
      const d = eventDigest(contentOfRow(r));
      if (d !== r.digest) problems.push(`event ${seq} (${r.kind}): its content does not hash to its recorded digest (the row was edited)`);
      if (r.prev_digest !== prev) problems.push(`event ${seq} (${r.kind}): does not follow the previous event (a row before it was deleted, inserted or reordered)`);
      prev = r.digest;
      digests.add(r.digest);
      if (r.tlog_index === null) {
        undrained++;
        continue;
      }
      logged++;
      const idx = Number(r.tlog_index);
      const e = entries[idx];
      if (!e) problems.push(`event ${seq}: names log index ${idx}, beyond the log's size ${entries.length}`);
      else if (!bytesEqual(e, eventEntry(d, r.kind, seq))) problems.push(`event ${seq} (${r.kind}): the log entry at index ${idx} commits to a different event`);
      byIndex.set(idx, seq);
    }
  }
  entries.forEach((e, i) => {
    let parsed;
    try {
      parsed = decodeEntry(e);
    } catch {
      return;
    }
    if (parsed.type !== EVENT_ENTRY_TYPE) return;
    if (!byIndex.has(i) && !digests.has(parsed.digest)) problems.push(`log entry ${i} (event ${String(parsed.metadata.seq)}, ${String(parsed.metadata.kind)}) has no row in the database (the row was deleted)`);
  });
  return { ok: problems.length === 0, events, logged, undrained, logSize: entries.length, problems };
}
