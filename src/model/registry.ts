import { AssayError } from '../common/errors.js';
import { registerSecret } from '../common/secrets.js';
import { AnthropicAdapter } from './anthropic.js';
import { OpenAIChatAdapter } from './openai.js';
import type { ModelAdapter } from './types.js';

export { redact } from './http.js';

const PROVIDERS = {
  openai: { baseEnv: 'OPENAI_BASE_URL', keyEnv: 'OPENAI_API_KEY', defaultBase: 'https://api.openai.com/v1' },
  anthropic: { baseEnv: 'ANTHROPIC_BASE_URL', keyEnv: 'ANTHROPIC_API_KEY', defaultBase: 'https://api.anthropic.com' },
} as const;

export interface ModelOptions {
  baseUrl?: string;
  apiKey?: string;
  maxConnections: number;
  env?: NodeJS.ProcessEnv;
}

const isLoopback = (url: string) => {
  try {
    const h = new URL(url).hostname;
    return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\./.test(h);
  } catch {
    return false;
  }
};

/** `openai/<model>` or `anthropic/<model>`; the model part may itself contain slashes. */
export function createModel(name: string, opts: ModelOptions): ModelAdapter {
  const env = opts.env ?? process.env;
  const slash = name.indexOf('/');
  const provider = slash > 0 ? name.slice(0, slash) : '';
  const model = slash > 0 ? name.slice(slash + 1) : '';
  if (!(provider in PROVIDERS) || !model)
    throw new AssayError('MODEL_NAME', `model "${name}" must be <provider>/<model> with provider one of: ${Object.keys(PROVIDERS).join(', ')}`, { field: 'model' });
  const p = PROVIDERS[provider as keyof typeof PROVIDERS];
  const baseUrl = opts.baseUrl ?? env[p.baseEnv] ?? p.defaultBase;
  try {
    new URL(baseUrl);
  } catch {
    throw new AssayError('MODEL_BASE_URL', `base URL "${baseUrl}" is not a URL`, { field: 'base-url' });
  }
  const apiKey = opts.apiKey ?? env[p.keyEnv] ?? undefined;
  registerSecret(apiKey); // kept out of sandboxes, run logs and transcripts (src/common/secrets.ts)
  // Local servers (vLLM, Ollama, the simulated target) need no key; a remote API does.
  if (!apiKey && !isLoopback(baseUrl)) throw new AssayError('MODEL_API_KEY', `no API key for ${baseUrl}: set ${p.keyEnv} or pass --api-key`, { field: 'api-key' });
  return provider === 'openai' ? new OpenAIChatAdapter(name, model, baseUrl, apiKey, opts.maxConnections) : new AnthropicAdapter(name, model, baseUrl, apiKey, opts.maxConnections);
}
