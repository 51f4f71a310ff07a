import { AssayError } from '../common/errors.js';
import { BubblewrapProvider, processStartTime, type BubblewrapOptions } from './bubblewrap.js';
import { ContainerProvider } from './container.js';
import type { SandboxProvider } from './types.js';

export type { ExecOptions, ExecResult, Sandbox, SandboxLimits, SandboxProvider, SandboxSpec, Snapshot, SnapshotEntry } from './types.js';
export { DEFAULT_LIMITS } from './types.js';

/**
 * Sandbox back-ends by name. A container back-end (Docker, Kubernetes) registers a factory here
 * and implements `SandboxProvider` (see docs/sandbox.md, "Other back-ends").
 */
const PROVIDERS: Record<string, (opts: BubblewrapOptions) => Promise<SandboxProvider>> = {
  bubblewrap: (opts) => BubblewrapProvider.create(opts),
  docker: () => containerFromEnv('docker'),
  podman: () => containerFromEnv('podman'),
};

/** A container back-end configured by $ASSAY_SANDBOX_IMAGE (name@sha256:…) and optionally $ASSAY_SANDBOX_RUNTIME (e.g. runsc). */
async function containerFromEnv(engine: 'docker' | 'podman'): Promise<SandboxProvider> {
  const image = process.env.ASSAY_SANDBOX_IMAGE;
  if (!image) throw new AssayError('SANDBOX_UNAVAILABLE', `the ${engine} back-end needs an image pinned by digest: set ASSAY_SANDBOX_IMAGE=<name>@sha256:<digest>`);
  const runtime = process.env.ASSAY_SANDBOX_RUNTIME;
  return ContainerProvider.create({ engine, image, ...(runtime ? { runtime } : {}), owner: `${process.pid}:${(await processStartTime(process.pid)) ?? ''}` });
}

export function registerSandboxProvider(name: string, factory: (opts: BubblewrapOptions) => Promise<SandboxProvider>): void {
  PROVIDERS[name] = factory;
}

export async function createSandboxProvider(name = 'bubblewrap', opts: BubblewrapOptions = {}): Promise<SandboxProvider> {
  const f = PROVIDERS[name];
  if (!f) throw new AssayError('SANDBOX_UNKNOWN', `unknown sandbox back-end "${name}" (known: ${Object.keys(PROVIDERS).sort().join(', ')})`);
  return f(opts);
}
