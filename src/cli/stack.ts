import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Stack frames of the bundled CLI (dist-cli/*.js) mapped back to the TypeScript sources, for the
 * one place a stack is shown: an unexpected error. Node 20 applies source maps only under
 * --enable-source-maps, which the installed `assay` command cannot pass itself, and turning them
 * on at start-up would read every chunk's map on every run; this reads the maps of the frames'
 * files only, after the error. A frame whose file has no readable map is left as it is.
 */
export function mapStack(stack: string, readMap: (file: string) => string | null = readBeside): string {
  const maps = new Map<string, SourceMap | null>();
  const mapFor = (file: string): SourceMap | null => {
    if (!maps.has(file)) {
      let map: SourceMap | null = null;
      try {
        const text = readMap(file);
        if (text) map = new SourceMap(JSON.parse(text) as ConstructorParameters<typeof SourceMap>[0]);
      } catch {
        map = null; // a missing or unreadable map: keep the bundle's position
      }
      maps.set(file, map);
    }
    return maps.get(file)!;
  };
  // Only frame lines ("    at …"): the message above them may quote anything an upstream sent.
  return stack
    .split('\n')
    .map((line) => {
      if (!/^\s+at /.test(line) || line.length > 4096) return line;
      return line.replace(/(file:\/\/[^\s()]+\.js):(\d+):(\d+)/, (whole, url: string, l: string, c: string) => {
        let file: string;
        try {
          file = fileURLToPath(url);
        } catch {
          return whole;
        }
        const entry = mapFor(file)?.findEntry(Number(l) - 1, Number(c) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
        if (!entry?.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
        const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
        return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
      });
    })
    .join('\n');
}

function readBeside(file: string): string | null {
  try {
    return readFileSync(`${file}.map`, 'utf8');
  } catch {
    return null;
  }
}
