import type { Agent as UndiciAgent, errors as undiciErrors } from 'undici';
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import errorsImpl from 'undici/lib/core/errors.js';

/**
 * undici's Agent and error classes, loaded from their own files. The package's index also loads
 * fetch, WebSocket, EventSource, cookies, the HTTP cache and the mocks (and its cookie module reads
 * `globalThis.Headers`, which makes Node load its own copy of undici): 60–80 ms of CPU at every start
 * of `assay run` for code the model adapters never call (docs/benchmarks.md, "Start-up"). They only
 * dispatch on an Agent and close it. undici is pinned to an exact version in package.json, so these
 * paths inside it cannot move under us; test/model-undici.test.ts checks they are the package's own
 * classes. Code that needs the rest of undici (the gateway) imports 'undici' itself.
 */
export const Agent = AgentImpl as typeof UndiciAgent;
export type Agent = UndiciAgent;
export const errors = errorsImpl as typeof undiciErrors;
