import { AssayError } from '../common/errors.js';

/**
 * Strict JSON (RFC 8259 + the I-JSON rules of RFC 7493) for documents that arrive from
 * elsewhere: envelopes, statements, trust files, disclosures. `JSON.parse` silently keeps the
 * last of two duplicate keys, so two verifiers could read different documents from the same
 * bytes; here that, unsafe numbers and lone surrogates are errors naming the JSON path and the
 * line:column where they occur.
 *
 * Rejected:
 * - duplicate member names in an object (path of the second occurrence);
 * - numbers whose magnitude exceeds 2^53 − 1 (they cannot round-trip through a double);
 * - strings containing unpaired UTF-16 surrogates (escaped or not);
 * - invalid UTF-8 (when given bytes), a byte-order mark, and anything JSON.parse rejects.
 */

export interface StrictJsonSource {
  /** File (or other name) used in error messages. */
  file?: string;
  /**
   * Accept numbers beyond ±(2^53−1) (still finite). Only for content whose integrity rests on a
   * digest of its canonical text rather than on reading the numbers (disclosed raw responses).
   */
  allowLargeNumbers?: boolean;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseStrictJson(input: string | Uint8Array, src: StrictJsonSource = {}): JsonValue {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new AssayError('JSON_INVALID', 'not valid UTF-8', loc(src));
    }
  }
  return new Parser(text, src).document();
}

/** JSON path segment rendering: `$.a.b[3]["odd key"]`. */
export function jsonPath(parts: readonly (string | number)[]): string {
  let s = '$';
  for (const p of parts) s += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  return s;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const loc = (src: StrictJsonSource): { file?: string } => (src.file ? { file: src.file } : {});

class Parser {
  private i = 0;
  private readonly path: (string | number)[] = [];
  constructor(
    private readonly s: string,
    private readonly src: StrictJsonSource,
  ) {}

  document(): JsonValue {
    if (this.s.charCodeAt(0) === 0xfeff) this.fail('JSON_INVALID', 'byte-order mark before the JSON text', 0);
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail('JSON_INVALID', 'unexpected data after the JSON value');
    return v;
  }

  private fail(code: string, problem: string, at = this.i): never {
    let line = 1;
    let col = 1;
    for (let k = 0; k < at && k < this.s.length; k++) {
      if (this.s.charCodeAt(k) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    const where = jsonPath(this.path);
    throw new AssayError(code, `${problem} (column ${col})`, { ...loc(this.src), line, field: where });
  }

  private ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  private value(): JsonValue {
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail('JSON_INVALID', c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    return this.fail('JSON_INVALID', 'invalid literal');
  }

  private object(): { [k: string]: JsonValue } {
    const out: { [k: string]: JsonValue } = {};
    const seen = new Set<string>();
    this.members('}', () => {
      if (this.s[this.i] !== '"') this.fail('JSON_INVALID', 'expected a member name');
      const keyAt = this.i;
      const key = this.string();
      if (seen.has(key)) {
        this.path.push(key);
        this.fail('JSON_DUPLICATE_KEY', `duplicate key ${JSON.stringify(key)}`, keyAt);
      }
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.fail('JSON_INVALID', 'expected ":"');
      this.i++;
      this.ws();
      this.path.push(key);
      // defineProperty: a "__proto__" member is data, never the object's prototype.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.path.pop();
    });
    return out;
  }

  private array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.members(']', () => {
      this.path.push(out.length);
      out.push(this.value());
      this.path.pop();
    });
    return out;
  }

  /**
   * The members of an object or array, from its opening bracket to just past `close`: none, or
   * `member` (called at the member's first character) separated by commas, white space around each.
   */
  private members(close: '}' | ']', member: () => void): void {
    this.i++; // { or [
    this.ws();
    if (this.s[this.i] === close) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      member();
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === close) {
        this.i++;
        return;
      }
      this.fail('JSON_INVALID', `expected "," or "${close}"`);
    }
  }

  private string(): string {
    const start = this.i;
    this.i++; // "
    let out = '';
    let runStart = this.i;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('JSON_INVALID', 'unterminated string', start);
      if (c === 0x22) {
        out += this.s.slice(runStart, this.i);
        this.i++;
        break;
      }
      if (c < 0x20) this.fail('JSON_INVALID', 'control character in string');
      if (c === 0x5c) {
        out += this.s.slice(runStart, this.i);
        const e = this.s[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.i += 2;
        } else if (e === 'u') {
          const hex = this.s.slice(this.i + 2, this.i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('JSON_INVALID', 'invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 6;
        } else this.fail('JSON_INVALID', 'invalid escape');
        runStart = this.i;
        continue;
      }
      this.i++;
    }
    if (LONE_SURROGATE.test(out)) this.fail('JSON_INVALID', 'string contains an unpaired UTF-16 surrogate', start);
    return out;
  }

  private number(): number {
    const start = this.i;
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) return this.fail('JSON_INVALID', 'invalid number');
    this.i += m[0].length;
    const v = Number(m[0]);
    if (!Number.isFinite(v) || (!this.src.allowLargeNumbers && Math.abs(v) > Number.MAX_SAFE_INTEGER))
      this.fail('JSON_UNSAFE_NUMBER', `number ${m[0]} is outside the safe range ±(2^53−1); carry large values as strings`, start);
    return v;
  }
}
