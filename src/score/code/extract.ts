import { normaliseLanguage } from './languages.js';
import type { CodeLanguage } from './rules.js';

/**
 * The code in a model's answer, as the published insecure-code method reads it: the first fenced
 * code block (``` or ~~~, any info string); when there is none, the whole response. An unclosed
 * fence runs to the end of the text.
 */
export interface ExtractedCode {
  code: string;
  /** The fence's info string (e.g. "python"), lower-cased; null when absent or unfenced. */
  info: string | null;
  fenced: boolean;
}

const OPEN = /^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\n`]*)$/;

export function extractCode(response: string): ExtractedCode {
  const lines = response.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = OPEN.exec(lines[i]!);
    if (!m) continue;
    const fence = m[1]!;
    const info = m[2]!.trim().split(/\s+/)[0]?.toLowerCase() || null;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const close = new RegExp(`^[ \\t]{0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
      if (close.test(lines[j]!)) return { code: body.join('\n'), info, fenced: true };
      body.push(lines[j]!);
    }
    return { code: body.join('\n'), info, fenced: true };
  }
  return { code: response, info: null, fenced: false };
}

/** One analysable piece of an answer: the response's text with every line not in the unit blanked (line numbers kept). */
export interface CodeUnit {
  lang: CodeLanguage;
  source: 'fenced' | 'unfenced';
  code: string;
  /** 1-based response lines that belong to the unit. */
  lines: number[];
}

/** Fence info strings that name something other than program code: their blocks are not analysed. */
const NOT_CODE = /^(?:bash|sh|shell|zsh|console|shell-session|shellsession|powershell|ps1?|cmd|bat|text|txt|plain|plaintext|output|json|jsonc|yaml|yml|toml|ini|xml|html|css|sql|markdown|md|diff|patch|dockerfile|docker|makefile|make|cmake|env|dotenv|csv|log|http|graphql|proto|requirements|pip)$/;

/** Lines outside fences that read as prose (a sentence, a heading, a list item), not code. */
const PROSE = /^\s*(?:#{1,6}\s+\S|>\s|[-*+]\s+[A-Za-z`]|\d+[.)]\s+[A-Za-z`]|\*\*|[A-Z][\w'’,-]*\s+(?:[\w'’`,()/.:-]+\s+){2,}[\w'’`,()/.:-]*[.!?:]?\s*$|[A-Z][\w'’-]*(?:\s+[\w'’`,-]+){0,3}[.!?:]\s*$)/;
/** Lines outside fences that read as code. */
const CODE_LINE = /^\s*(?:def |class |import |from [\w.]+ import |return\b|if\b.*:\s*$|(?:elif|else|finally|except|case|default)\b.*[:{]\s*$|@[\w.]+|\}\s*(?:else|catch|finally)\b|for\b|while\b|with\b|try:|except\b|raise\b|async |await |const |let |var |function\b|export |module\.exports|require\(|#include|#define|int |char |void |unsigned |static |struct |typedef |[\w$.[\]"']+\s*(?:=|\+=|:=)\s*\S|[\w$.]+\(.*\)\s*;?\s*$|[{}()[\]]+;?\s*$|\s{2,}\S)/;

/**
 * Every analysable unit of an answer. Fenced blocks are grouped by language (the fence's info
 * string when it names a supported language, else the item's language; blocks naming something
 * else — shell, JSON, SQL … — are skipped and listed); outside the fences, lines that read as code
 * and not as prose form one more unit in the item's language.
 */
export function extractUnits(response: string, lang: CodeLanguage): { units: CodeUnit[]; skipped: string[] } {
  const lines = unquoteFencedBlockquotes(response.split(/\r?\n/));
  const owner: (CodeLanguage | null | 'fence')[] = lines.map(() => null);
  const skipped: string[] = [];
  let anyFence = false;
  for (let i = 0; i < lines.length; i++) {
    const m = OPEN.exec(lines[i]!);
    if (!m) continue;
    anyFence = true;
    const fence = m[1]!;
    const info = m[2]!.trim().split(/[\s{]+/)[0]?.toLowerCase() ?? '';
    const close = new RegExp(`^[ \\t]{0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    const named = info ? normaliseLanguage(info) : null;
    const blockLang: CodeLanguage | null = named ? named.lang : info && NOT_CODE.test(info) ? null : lang;
    if (blockLang === null) skipped.push(info);
    owner[i] = 'fence';
    let j = i + 1;
    for (; j < lines.length && !close.test(lines[j]!); j++) owner[j] = blockLang ?? 'fence';
    if (j < lines.length) owner[j] = 'fence';
    i = j;
  }
  // Outside fences: code-like lines (all non-prose lines when there is no fence at all).
  for (let i = 0; i < lines.length; i++) {
    if (owner[i] !== null) continue;
    const l = lines[i]!;
    if (l.trim() === '' || PROSE.test(l)) continue;
    if (!anyFence || CODE_LINE.test(l)) owner[i] = `unfenced:${lang}` as never;
  }
  const groups = new Map<string, number[]>();
  owner.forEach((o, i) => {
    if (o === null || o === 'fence') return;
    const list = groups.get(o) ?? [];
    list.push(i);
    groups.set(o, list);
  });
  const units: CodeUnit[] = [];
  for (const [key, idx] of groups) {
    const unfenced = key.startsWith('unfenced:');
    const set = new Set(idx);
    const code = lines.map((l, i) => (set.has(i) ? l : '')).join('\n');
    if (code.trim() === '') continue;
    units.push({ lang: (unfenced ? key.slice(9) : key) as CodeLanguage, source: unfenced ? 'unfenced' : 'fenced', code, lines: idx.map((i) => i + 1) });
  }
  return { units, skipped };
}

/** A blockquote (`> ` lines) that holds a code fence is read without its markers (line numbers kept). */
function unquoteFencedBlockquotes(lines: string[]): string[] {
  const out = [...lines];
  for (let i = 0; i < out.length; ) {
    if (!/^\s{0,3}>/.test(out[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < out.length && /^\s{0,3}>/.test(out[j]!)) j++;
    const inner = out.slice(i, j).map((l) => l.replace(/^\s{0,3}>\s?/, ''));
    if (inner.some((l) => OPEN.test(l))) for (let k = i; k < j; k++) out[k] = inner[k - i]!;
    i = j;
  }
  return out;
}
