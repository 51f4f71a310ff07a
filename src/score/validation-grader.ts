import type { GraderModel } from './types.js';

/**
 * The grader a validation command (`assay validate injection|election`) measures: a provider/model,
 * or "simulated" — the simulated target's grader behaviour for that rubric, a test double started
 * for the call (its figures check the plumbing, never a real grader). `label` names it in reports.
 */
export async function withValidationGrader<T>(spec: string, simulatedBehaviour: string, fn: (grader: GraderModel, label: string) => Promise<T>): Promise<T> {
  const { createModel } = await import('../model/registry.js');
  const { graderFromAdapter } = await import('./grader.js');
  let close = async () => {};
  let model = spec;
  const adapterOpts: Record<string, unknown> = { maxConnections: 4 };
  if (spec === 'simulated') {
    const { startTarget } = await import('../target/server.js');
    const { behaviourFromSpec } = await import('../target/behaviours/index.js');
    const t = await startTarget({ behaviours: [behaviourFromSpec(simulatedBehaviour)] });
    close = () => t.close();
    model = `openai/simulated-${simulatedBehaviour}`;
    Object.assign(adapterOpts, { baseUrl: `${t.url}/v1`, apiKey: 'simulated' });
  }
  const grader = graderFromAdapter(createModel(model, adapterOpts as never));
  try {
    return await fn(grader, spec === 'simulated' ? `simulated ${simulatedBehaviour} (test double)` : spec);
  } finally {
    await grader.close();
    await close();
  }
}
