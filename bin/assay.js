#!/usr/bin/env node
// Entry point: the bundled CLI (dist-cli/, built by `npm run build`, which `npm ci` runs via `prepare`).
import '../dist-cli/main.js';
