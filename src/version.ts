import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (works from src/ under tsx and from dist/). */
export const ASSAY_VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'assay' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0-unknown';
})();

/** The package root (holds suites/, docs/), from src/ under tsx or from dist/. */
export const ASSAY_ROOT: string = fileURLToPath(new URL('..', import.meta.url));
