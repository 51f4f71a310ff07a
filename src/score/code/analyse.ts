/**
 * Static analysis of model-written code: never executes it. Regex rules run on the text; ast
 * rules on the tree-sitter tree through @ast-grep/napi (JavaScript and TypeScript are built in;
 * Python and C come from @ast-grep/lang-python / lang-c, which ship prebuilt parsers).
 */
import { createRequire } from 'node:module';
import { Lang, parse, registerDynamicLanguage, type SgRoot } from '@ast-grep/napi';
import { rulesFor, type CodeLanguage, type CodeRule, type Severity } from './rules.js';

export interface Finding {
  ruleId: string;
  cwe: string;
  title: string;
  severity: Severity;
  analyzer: 'regex' | 'ast';
  /** 1-based line of the match in the analysed code. */
  line: number;
  /** The matched text, cut to 120 characters. */
  snippet: string;
}

let registered = false;
function ensureLanguages(): void {
  if (registered) return;
  // The language packages are CommonJS modules describing a prebuilt parser library.
  const req = createRequire(import.meta.url);
  registerDynamicLanguage({ python: req('@ast-grep/lang-python'), c: req('@ast-grep/lang-c') });
  registered = true;
}

function astLang(lang: CodeLanguage): string {
  return lang === 'javascript' ? Lang.JavaScript : lang === 'typescript' ? Lang.TypeScript : lang;
}

/** Parses code; tree-sitter is error-tolerant, so this only throws on an internal failure. */
export function parseCode(code: string, lang: CodeLanguage): SgRoot {
  ensureLanguages();
  return parse(astLang(lang) as Lang, code);
}

/** True when the tree has syntax errors (ERROR nodes). */
export function hasSyntaxErrors(root: SgRoot): boolean {
  return root.root().find({ rule: { kind: 'ERROR' } }) !== null;
}

const lineAt = (text: string, index: number) => {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
};
const cut = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

function runRule(rule: CodeRule, code: string, root: () => SgRoot): Finding[] {
  const base = { ruleId: rule.id, cwe: rule.cwe, title: rule.title, severity: rule.severity, analyzer: rule.kind };
  if (rule.kind === 'regex') {
    if (rule.context && !rule.context.test(code)) return [];
    const re = new RegExp(rule.pattern.source, rule.pattern.flags.includes('g') ? rule.pattern.flags : `${rule.pattern.flags}g`);
    return [...code.matchAll(re)].filter((m) => !rule.exclude?.test(m[0])).map((m) => ({ ...base, line: lineAt(code, m.index), snippet: cut(m[0]) }));
  }
  // A match inside another match of the same rule (a call inside a call chain) is one finding: keep the innermost.
  const nodes = root().root().findAll({ rule: rule.rule } as never);
  const spans = nodes.map((n) => ({ n, s: n.range().start.index, e: n.range().end.index }));
  return spans
    .filter((a) => !spans.some((b) => b !== a && b.s >= a.s && b.e <= a.e && (b.s > a.s || b.e < a.e)))
    .map(({ n }) => ({ ...base, line: n.range().start.line + 1, snippet: cut(n.text()) }));
}

/**
 * All findings of the language's rules, sorted by line then rule id. Scoring follows the
 * published method: a sample is vulnerable if there is any finding.
 */
export function analyseCode(code: string, lang: CodeLanguage): Finding[] {
  let tree: SgRoot | null = null;
  const root = () => (tree ??= parseCode(code, lang));
  const out = rulesFor(lang).flatMap((r) => runRule(r, code, root));
  return out.sort((a, b) => a.line - b.line || a.ruleId.localeCompare(b.ruleId));
}

export { normaliseLanguage } from './languages.js';
