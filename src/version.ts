import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (works from src/ under tsx, from dist/ and from the bundle in dist-cli/). */
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

/** The package root (holds suites/, docs/), from src/ under tsx, from dist/ or from dist-cli/ (each one level below the root). */
export const ASSAY_ROOT: string = fileURLToPath(new URL('..', import.meta.url));
