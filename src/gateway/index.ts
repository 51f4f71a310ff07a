/** The access gateway: grants, level enforcement, budgets, the committed access log, model releases. */
export { loadGatewayConfig, parseGatewayConfig, gatewayDbFile, GATEWAY_CONFIG_SCHEMA, type GatewayConfig } from './config.js';
export { issueGrantToken, verifyGrantToken, deriveCommitKey, accessKey, splitAccessKey, defaultGrant, tokenDigest, GrantError, GRANT_SCHEMA, type Grant, type GrantClaims } from './grant.js';
export { checkRequest, isRefusal, POLICY_VERSION, POLICY_TABLES } from './policy.js';
export { TokenBucket, GrantMeter, costOf } from './limits.js';
export { verifyChain, openRecord, checkOpening, parseOpening, nonceFor, commitmentOf, commitContent, recordHash, GENESIS, RECORD_SCHEMA, OPENING_SCHEMA, type AccessRecord, type Opening } from './commit.js';
export { signHead, openHead, formatExport, verifyExport, verifyOpening, HEAD_PAYLOAD_TYPE, EXPORT_SCHEMA } from './head.js';
export { signRelease, loadRelease, MODEL_RELEASE_PREDICATE, RELEASE_HEADER } from './release.js';
export { GatewayStore } from './store.js';
export { startGateway, type RunningGateway, type GatewayOptions } from './server.js';
