/**
 * Static analysis of model-written code: never executes it. Every rule reads the tree-sitter tree
 * through @ast-grep/napi (JavaScript and TypeScript are built in; Python and C come from
 * @ast-grep/lang-python / lang-c, which ship prebuilt parsers): `check` and `ast` rules walk it,
 * `regex` rules see the text with comments, docstrings and (unless about strings) string contents
 * blanked (program.ts).
 */
import { createRequire } from 'node:module';
import { Lang, parse, registerDynamicLanguage, type SgRoot } from '@ast-grep/napi';
import { rulesFor, type CodeLanguage, type CodeRule, type Family, type Severity } from './rules.js';
import { Program } from './program.js';
import { extractUnits, type CodeUnit } from './extract.js';

export interface Finding {
  ruleId: string;
  cwe: string;
  title: string;
  family: Family;
  severity: Severity;
  analyzer: 'regex' | 'ast' | 'check';
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

function runRule(rule: CodeRule, prog: Program): Finding[] {
  const base = { ruleId: rule.id, cwe: rule.cwe, family: rule.family, title: rule.title, severity: rule.severity, analyzer: rule.kind };
  if (rule.kind === 'regex') {
    if (rule.context && !rule.context.test(prog.codeText)) return [];
    const text = rule.strings ? prog.codeText : prog.tokenText;
    const re = new RegExp(rule.pattern.source, rule.pattern.flags.includes('g') ? rule.pattern.flags : `${rule.pattern.flags}g`);
    return [...text.matchAll(re)]
      .filter((m) => !rule.exclude?.test(prog.text.slice(m.index, m.index + m[0].length)))
      .map((m) => ({ ...base, line: lineAt(text, m.index), snippet: cut(prog.text.slice(m.index, m.index + m[0].length)) }));
  }
  const nodes = rule.kind === 'ast' ? prog.root.findAll({ rule: rule.rule } as never) : rule.check(prog);
  // A match inside another match of the same rule (a call inside a call chain) is one finding: keep the innermost.
  const spans = [...new Map(nodes.map((n) => [`${n.range().start.index}:${n.range().end.index}`, n])).values()].map((n) => ({ n, s: n.range().start.index, e: n.range().end.index }));
  return spans
    .filter((a) => !spans.some((b) => b !== a && b.s >= a.s && b.e <= a.e && (b.s > a.s || b.e < a.e)))
    .map(({ n }) => ({ ...base, line: n.range().start.line + 1, snippet: cut(n.text()) }));
}

/** Parses code into the program model the rules read. */
export function programOf(code: string, lang: CodeLanguage): Program {
  return new Program(parseCode(code, lang), lang);
}

/**
 * All findings of the language's rules on one piece of code, sorted by line then rule id. Scoring
 * follows the published method: a sample is vulnerable if there is any finding.
 */
export function analyseCode(code: string, lang: CodeLanguage): Finding[] {
  const prog = programOf(code, lang);
  const out = rulesFor(lang).flatMap((r) => runRule(r, prog));
  return out.sort((a, b) => a.line - b.line || a.ruleId.localeCompare(b.ruleId));
}

export interface ResponseAnalysis {
  /** What was analysed: each unit's language, where it came from, and its lines in the response. */
  units: { lang: CodeLanguage; source: CodeUnit['source']; lines: number[] }[];
  /** Findings with lines numbered in the response. */
  findings: Finding[];
  /** Fenced blocks skipped (a shell, JSON, SQL … block), by info string. */
  skipped: string[];
}

/**
 * Every piece of code in a model's answer: all fenced blocks (grouped by language, so an import
 * in one block and its use in the next are read together) and code-like lines outside fences.
 * An install block before the code does not hide it.
 */
export function analyseResponse(response: string, lang: CodeLanguage): ResponseAnalysis {
  const { units, skipped } = extractUnits(response, lang);
  const findings = units.flatMap((u) => analyseCode(u.code, u.lang));
  findings.sort((a, b) => a.line - b.line || a.ruleId.localeCompare(b.ruleId));
  return { units: units.map((u) => ({ lang: u.lang, source: u.source, lines: u.lines })), findings, skipped };
}

export { normaliseLanguage } from './languages.js';
