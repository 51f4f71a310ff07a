import { backends } from './registry-fixture.js';
import { registryCliWorkflow } from './registry-cli-workflow.js';

// backends() prints why PostgreSQL is skipped, and fails under ASSAY_CI=1 when it is missing.
for (const backend of await backends()) if (backend === 'postgres') registryCliWorkflow(backend);
