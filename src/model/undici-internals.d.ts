// The two files of undici that src/model/undici.ts loads directly (CommonJS, typed there from the package's own types).
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: unknown;
  export default Agent;
}
declare module 'undici/lib/core/errors.js' {
  const errors: unknown;
  export default errors;
}
