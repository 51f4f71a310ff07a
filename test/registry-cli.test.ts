import { registryCliWorkflow } from './registry-cli-workflow.js';

registryCliWorkflow('sqlite');
