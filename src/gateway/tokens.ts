import { Tiktoken, getEncodingNameForModel, type TiktokenEncoding, type TiktokenModel } from 'js-tiktoken/lite';

/**
 * Counting what a stream actually delivered, when the upstream's own usage report never arrived
 * (the client or the upstream ended the stream early, or an OpenAI stream without include_usage).
 *
 * - OpenAI-family models (js-tiktoken knows the upstream model id, or the config names an
 *   encoding): the delivered text is encoded with that model's tokenizer (o200k_base, cl100k_base…).
 * - Every other model: the UTF-8 bytes delivered. No tokenizer produces more tokens than bytes
 *   (byte-level BPE and byte-fallback tokenizers alike), so this is an upper bound, never an
 *   undercount a tester could exploit by ending streams early.
 */

export type TokenizerName = 'o200k_base' | 'cl100k_base' | 'bytes';
export const TOKENIZERS: readonly TokenizerName[] = ['o200k_base', 'cl100k_base', 'bytes'];

export interface TokenCounter {
  readonly name: TokenizerName;
  count(text: string): number;
}

const bytesCounter: TokenCounter = { name: 'bytes', count: (t) => Buffer.byteLength(t, 'utf8') };
const loaded = new Map<TokenizerName, Promise<TokenCounter>>();

async function loadEncoding(name: Exclude<TokenizerName, 'bytes'>): Promise<TokenCounter> {
  const ranks = name === 'o200k_base' ? (await import('js-tiktoken/ranks/o200k_base')).default : (await import('js-tiktoken/ranks/cl100k_base')).default;
  const enc = new Tiktoken(ranks);
  // Special-token text in model output is ordinary text here (disallowedSpecial: none).
  return { name, count: (t) => (t ? enc.encode(t, [], []).length : 0) };
}

/** The tokenizer for a model: the configured one, else js-tiktoken's for a known OpenAI model id, else bytes. */
export function tokenizerFor(upstreamModel: string, configured?: TokenizerName): TokenizerName {
  if (configured) return configured;
  try {
    const e = getEncodingNameForModel(upstreamModel as TiktokenModel) as TiktokenEncoding;
    return e === 'o200k_base' || e === 'cl100k_base' ? e : 'bytes';
  } catch {
    return 'bytes';
  }
}

/** Loads a counter once per process (the rank tables are large; the server loads them at start). */
export function counter(name: TokenizerName): Promise<TokenCounter> {
  if (name === 'bytes') return Promise.resolve(bytesCounter);
  let c = loaded.get(name);
  if (!c) loaded.set(name, (c = loadEncoding(name)));
  return c;
}
