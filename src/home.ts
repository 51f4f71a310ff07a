import { join, resolve } from 'node:path';

/** Where Assay keeps its embedded state: $ASSAY_HOME, else ./.assay in the working directory. */
export function assayHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.ASSAY_HOME ?? '.assay');
}
export const runsDir = (home = assayHome()) => join(home, 'runs');
export const indexFile = (home = assayHome()) => join(home, 'assay.db');
