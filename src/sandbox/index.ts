import { AssayError } from '../common/errors.js';
import { BubblewrapProvider, type BubblewrapOptions } from './bubblewrap.js';
import type { SandboxProvider } from './types.js';

export type { ExecOptions, ExecResult, Sandbox, SandboxLimits, SandboxProvider, SandboxSpec, Snapshot, SnapshotEntry } from './types.js';
export { DEFAULT_LIMITS } from './types.js';

/**
 * Sandbox back-ends by name. A container back-end (Docker, Kubernetes) registers a factory here
 * and implements `SandboxProvider` (see docs/sandbox.md, "Other back-ends").
 */
const PROVIDERS: Record<string, (opts: BubblewrapOptions) => Promise<SandboxProvider>> = {
  bubblewrap: (opts) => BubblewrapProvider.create(opts),
};

export function registerSandboxProvider(name: string, factory: (opts: BubblewrapOptions) => Promise<SandboxProvider>): void {
  PROVIDERS[name] = factory;
}

export async function createSandboxProvider(name = 'bubblewrap', opts: BubblewrapOptions = {}): Promise<SandboxProvider> {
  const f = PROVIDERS[name];
  if (!f) throw new AssayError('SANDBOX_UNKNOWN', `unknown sandbox back-end "${name}" (known: ${Object.keys(PROVIDERS).sort().join(', ')})`);
  return f(opts);
}
