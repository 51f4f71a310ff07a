// Worker entry when the registry runs from TypeScript source (tests under tsx): workers do not
// inherit the parent's loader hooks on Node 20, so register tsx in this thread, then load the worker.
const { register } = await import('tsx/esm/api');
register();
const { default: verify } = await import('./verify-worker.ts');
export default verify;
