/**
 * Writes the enclave's tiny GPT-2 test model (config.json + model.safetensors) into a directory:
 *   node --import tsx scripts/make-test-model.ts <dir> [seed]
 * Architecture and weights: src/enclave/testmodel.ts (deterministic; nothing is downloaded).
 */
import { writeTestModel } from '../src/enclave/testmodel.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node --import tsx scripts/make-test-model.ts <dir> [seed]\n');
  process.exit(2);
}
const seed = process.argv[3] ? Number(process.argv[3]) : 29;
const r = writeTestModel(dir, undefined, seed);
process.stdout.write(`${r.weights} ${r.digest}\n${r.config}\n`);
