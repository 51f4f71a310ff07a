/**
 * What the rules read instead of raw text: one parsed unit of code with
 * - a *masked* text (comments, docstrings and — for rules not about strings — string contents
 *   blanked to spaces, positions kept), so a warning comment or an SQL-looking message is not code;
 * - its imports resolved (`from os import system as s` → `s` means `os.system`; `const {exec} =
 *   require('child_process')` → `exec` means `child_process.exec`), so rules name qualified APIs;
 * - its call sites with positional and keyword arguments;
 * - its assignments, so a value built in one statement and passed to a sink in the next (up to
 *   two steps) is seen at the sink: simple local data flow, not a taint engine.
 */
import type { SgNode, SgRoot } from '@ast-grep/napi';
import type { CodeLanguage } from './rules.js';

export interface CallSite {
  /** Callee with imports resolved, e.g. "os.system", "child_process.exec", "eval"; "" when not a name. */
  callee: string;
  /** Callee as written. */
  raw: string;
  node: SgNode;
  /** Positional arguments (Python keyword arguments and *args excluded). */
  args: SgNode[];
  /** Python keyword arguments by name; JS: properties of a trailing object literal argument. */
  kw: Map<string, SgNode>;
  isNew: boolean;
}

const COMMENT_KINDS = new Set(['comment', 'line_comment', 'block_comment']);
const STRING_CONTENT_KINDS = new Set(['string_content', 'string_fragment', 'escape_sequence']);

export class Program {
  readonly lang: CodeLanguage;
  readonly text: string;
  readonly root: SgNode;
  /** Comments and docstrings blanked. */
  readonly codeText: string;
  /** Comments, docstrings and string contents blanked. */
  readonly tokenText: string;
  /** Local name → qualified name. */
  readonly aliases = new Map<string, string>();
  /** Name → assigned value nodes in source order. */
  readonly assignments = new Map<string, SgNode[]>();
  readonly calls: CallSite[] = [];
  /** Names declared as function parameters anywhere (values that come from the caller). */
  readonly params = new Set<string>();
  /** C: buffers written with non-constant data (strcat, sprintf, fgets …), by name → the enclosing functions' start offsets (-1: file scope). */
  readonly written = new Map<string, Set<number>>();
  /** C: `#define NAME "text"` constants. */
  readonly macros = new Map<string, string>();
  private macroPos = new Map<string, number>();

  constructor(root: SgRoot, lang: CodeLanguage) {
    this.lang = lang;
    this.root = root.root();
    this.text = this.root.text();
    const comments: [number, number][] = [];
    const contents: [number, number][] = [];
    const stack: SgNode[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      const k = n.kind().toString();
      const r = n.range();
      if (COMMENT_KINDS.has(k)) comments.push([r.start.index, r.end.index]);
      else if (STRING_CONTENT_KINDS.has(k)) contents.push([r.start.index, r.end.index]);
      else if (lang === 'python' && k === 'expression_statement') {
        const ch = n.children().filter((c) => c.isNamed());
        if (ch.length === 1 && ch[0]!.kind().toString() === 'string') comments.push([r.start.index, r.end.index]); // a docstring or bare string statement
      }
      this.visit(n, k);
      for (const c of n.children()) stack.push(c);
    }
    this.codeText = blank(this.text, comments);
    this.tokenText = blank(this.codeText, contents);
    for (const c of this.pendingCalls) this.calls.push(this.callSite(c));
    // C: a buffer that strcat/sprintf/memcpy/fgets … write data into is no longer a constant
    // (the destination may be written through pointer arithmetic or a cast: `fgets(data + len, …)`, `strncat(&buf[n], …)`)
    if (lang === 'c')
      for (const c of this.calls) {
        const dst = c.callee === 'recv' || c.callee === 'read' ? c.args[1] : c.callee === 'fread' ? c.args[0] : c.args[0];
        const base = dst ? this.bufferBase(dst) : null;
        if (!base) continue;
        const writes =
          (/^(?:strn?cat|strn?cpy|v?s(?:n)?printf|memcpy|memmove|strlcat|strlcpy|wcsn?cat|wcsn?cpy)$/.test(c.callee) && c.args.slice(1).some((a) => this.isNonConstant(a) && !/^(?:number_literal|binary_expression|sizeof_expression)$/.test(a.kind().toString()))) ||
          /^(?:fgets|fgetws|gets|read|recv|recvfrom|fread|scanf|fscanf|getline|getdelim)$/.test(c.callee);
        if (!writes) continue;
        const fn = this.enclosingFunction(c.node);
        const set = this.written.get(base) ?? new Set<number>();
        set.add(fn ? fn.range().start.index : -1);
        this.written.set(base, set);
      }
  }

  /** C: the buffer a destination expression writes into (`data`, `data + n`, `&data[n]`, `(char *)data`), or null. */
  private bufferBase(n: SgNode): string | null {
    let cur: SgNode | null = n;
    for (let i = 0; cur && i < 6; i++) {
      const k = cur.kind().toString();
      if (k === 'identifier') return cur.text();
      if (k === 'binary_expression') cur = cur.field('left');
      else if (k === 'pointer_expression' || k === 'cast_expression') cur = cur.field('argument') ?? cur.field('value');
      else if (k === 'subscript_expression') cur = cur.field('argument');
      else if (k === 'parenthesized_expression') cur = cur.children().find((c) => c.isNamed()) ?? null;
      else return null;
    }
    return null;
  }

  /** C: whether a buffer name is written with data in the function enclosing `at` (or at file scope). */
  isWritten(name: string, at: SgNode): boolean {
    const set = this.written.get(name);
    if (!set) return false;
    if (set.has(-1)) return true;
    const fn = this.enclosingFunction(at);
    return fn ? set.has(fn.range().start.index) : false;
  }

  private pendingCalls: SgNode[] = [];

  private visit(n: SgNode, k: string): void {
    if (this.lang === 'python') {
      if (k === 'call') this.pendingCalls.push(n);
      else if (k === 'import_statement') {
        for (const c of n.children()) {
          if (c.kind().toString() === 'aliased_import') this.alias(n, c.field('alias')?.text() ?? '', c.field('name')?.text() ?? '');
          else if (c.kind().toString() === 'dotted_name') this.alias(n, c.text().split('.')[0]!, c.text().split('.')[0]!);
        }
      } else if (k === 'import_from_statement') {
        const mod = n.field('module_name')?.text() ?? '';
        for (const c of n.children()) {
          if (c === n.field('module_name') || c.range().start.index === n.field('module_name')?.range().start.index) continue;
          if (c.kind().toString() === 'aliased_import') this.alias(n, c.field('alias')?.text() ?? '', `${mod}.${c.field('name')?.text() ?? ''}`);
          else if (c.kind().toString() === 'dotted_name') this.alias(n, c.text(), `${mod}.${c.text()}`);
        }
      } else if (k === 'assignment') {
        const left = n.field('left');
        const right = n.field('right');
        const dyn = right ? /^(?:__import__|importlib\.import_module)\(\s*(["'])([\w.]+)\1\s*\)$/.exec(right.text().replace(/\s+/g, '')) : null;
        if (left && dyn && left.kind().toString() === 'identifier') this.alias(n, left.text(), dyn[2]!);
        else if (left && right) this.assign(left.text(), right);
      } else if (k === 'augmented_assignment') {
        const left = n.field('left');
        const right = n.field('right');
        if (left && right && /\+=/.test(n.text())) this.assign(left.text(), n); // x += y: x is now built from y
      } else if (k === 'parameters' || k === 'lambda_parameters') {
        for (const c of n.children()) {
          const id = c.kind().toString() === 'identifier' ? c : c.find({ rule: { kind: 'identifier' } });
          if (id) this.params.add(id.text());
        }
      }
    } else if (this.lang === 'c') {
      if (k === 'call_expression') this.pendingCalls.push(n);
      else if (k === 'preproc_def') {
        // #define NAME "text" is a constant string; #define NAME other_function an alias
        const name = n.field('name')?.text();
        const value = n.field('value')?.text().trim();
        if (name && value) {
          // several definitions (#ifdef _WIN32 … #else …): the last in the source wins (usually the POSIX branch)
          const at = n.range().start.index;
          if ((this.macroPos.get(name) ?? -1) > at) return;
          this.macroPos.set(name, at);
          if (/^"(?:[^"\\]|\\.)*"$/.test(value)) {
            this.macros.set(name, value.slice(1, -1));
            this.aliases.delete(name);
          } else if (/^[A-Za-z_]\w*$/.test(value)) {
            this.macros.delete(name);
            this.alias(n, name, value);
          }
        }
      }
      else if (k === 'init_declarator') {
        const d = n.field('declarator');
        const v = n.field('value');
        const id = d?.kind().toString() === 'identifier' ? d : d?.find({ rule: { kind: 'identifier' } });
        if (id && v) this.assign(id.text(), v);
      } else if (k === 'assignment_expression') {
        const l = n.field('left');
        const r = n.field('right');
        if (l && r) this.assign(l.text(), r);
      } else if (k === 'parameter_declaration') {
        const id = n.field('declarator')?.find({ rule: { kind: 'identifier' } }) ?? (n.field('declarator')?.kind().toString() === 'identifier' ? n.field('declarator') : null);
        if (id) this.params.add(id.text());
      }
    } else {
      if (k === 'call_expression' || k === 'new_expression') this.pendingCalls.push(n);
      else if (k === 'import_statement') {
        const src = moduleName(n.field('source')?.text() ?? '');
        for (const d of n.findAll({ rule: { kind: 'import_specifier' } })) {
          const name = d.field('name')?.text() ?? '';
          this.alias(n, d.field('alias')?.text() ?? name, `${src}.${name}`);
        }
        const ns = n.find({ rule: { kind: 'namespace_import' } });
        if (ns) this.alias(n, ns.find({ rule: { kind: 'identifier' } })?.text() ?? '', src);
        const clause = n.find({ rule: { kind: 'import_clause' } });
        const def = clause?.children().find((c) => c.kind().toString() === 'identifier');
        if (def) this.alias(n, def.text(), src);
      } else if (k === 'variable_declarator') {
        const name = n.field('name');
        const value = n.field('value');
        if (!name || !value) return;
        const mod = requiredModule(value);
        const promisified = /^(?:util\.)?promisify\(([\w$.]+)\)$/.exec(value.text().replace(/\s+/g, ''));
        if (name.kind().toString() === 'identifier' && promisified) this.alias(n, name.text(), `@${promisified[1]!}`); // resolved when used (imports may be visited later)
        else if (name.kind().toString() === 'identifier') {
          if (mod !== null) this.alias(n, name.text(), mod);
          else this.assign(name.text(), value);
        } else if (name.kind().toString() === 'object_pattern' && mod !== null) {
          for (const c of name.children()) {
            if (c.kind().toString() === 'shorthand_property_identifier_pattern') this.alias(n, c.text(), `${mod}.${c.text()}`);
            else if (c.kind().toString() === 'pair_pattern') this.alias(n, c.field('value')?.text() ?? '', `${mod}.${c.field('key')?.text() ?? ''}`);
          }
        }
      } else if (k === 'assignment_expression' || k === 'augmented_assignment_expression') {
        const l = n.field('left');
        const r = n.field('right');
        if (l && r) this.assign(l.text(), k === 'augmented_assignment_expression' ? n : r);
      } else if (k === 'formal_parameters') {
        for (const c of n.children()) {
          const id = c.kind().toString() === 'identifier' ? c : c.find({ rule: { kind: 'identifier' } });
          if (id) this.params.add(id.text());
        }
      }
    }
  }

  /** Where each alias was bound (a later local assignment to the same name shadows it). */
  private aliasPos = new Map<string, number>();
  private alias(at: SgNode, local: string, qualified: string): void {
    if (!local) return;
    this.aliases.set(local, qualified);
    this.aliasPos.set(local, at.range().start.index);
  }

  private assign(name: string, value: SgNode): void {
    const list = this.assignments.get(name) ?? [];
    list.push(value);
    this.assignments.set(name, list);
  }

  /** A dotted name with its first segment (or the whole) resolved through the imports. */
  resolve(name: string, at?: SgNode, depth = 0): string {
    let n = name.replace(/\s+/g, '').replace(/require\((["'`])([^"'`]+)\1\)/g, (_m, _q, mod: string) => moduleName(mod));
    n = n.replace(/^(?:globalThis|window|global)\./, '');
    const whole = this.aliases.get(n);
    if (whole && !whole.startsWith('@')) return whole;
    const i = n.indexOf('.');
    const head = i < 0 ? n : n.slice(0, i);
    const a = this.aliases.get(head);
    if (a && at) {
      // a local re-binding between the import and the call (`var foo = /re/; foo.exec(s)`) wins
      const pos = at.range().start.index;
      const from = this.aliasPos.get(head) ?? -1;
      if ((this.assignmentsOf(head)?.pos ?? []).some((p) => p > from && p < pos)) return n;
    }
    if (a?.startsWith('@')) return a.slice(1) === head || depth > 4 ? a.slice(1) : this.resolve(a.slice(1) + (i < 0 ? '' : n.slice(i)), undefined, depth + 1);
    return a ? a + (i < 0 ? '' : n.slice(i)) : n;
  }

  private callSite(n: SgNode): CallSite {
    const isNew = n.kind().toString() === 'new_expression';
    const fn = isNew ? n.field('constructor') : n.field('function');
    const raw = (fn?.text() ?? '')
      .replace(/(?:__import__|importlib\.import_module)\(\s*(["'])([\w.]+)\1\s*\)/g, '$2')
      .replace(/^getattr\(\s*([\w.]+)\s*,\s*(["'])(\w+)\2\s*\)$/, '$1.$3');
    const simple = /^[\w$.\s]+$/.test(raw) || /^require\(["'`][^"'`]+["'`]\)(\.[\w$]+)*$/.test(raw.replace(/\s+/g, ''));
    const callee = simple ? this.resolve(raw, n) : '';
    const argList = n.field('arguments');
    const args: SgNode[] = [];
    const kw = new Map<string, SgNode>();
    for (const a of argList?.children() ?? []) {
      if (!a.isNamed() || COMMENT_KINDS.has(a.kind().toString())) continue;
      if (a.kind().toString() === 'keyword_argument') kw.set(a.field('name')?.text() ?? '', a.field('value')!);
      else if (a.kind().toString() === 'list_splat' || a.kind().toString() === 'dictionary_splat') continue;
      else args.push(a);
    }
    if (this.lang !== 'python' && this.lang !== 'c') {
      const last = args[args.length - 1];
      const obj = last ? this.valueOf(last) : null;
      if (obj?.kind().toString() === 'object') for (const p of obj.children()) if (p.kind().toString() === 'pair') kw.set(unquote(p.field('key')?.text() ?? ''), p.field('value')!);
    }
    return { callee, raw, node: n, args, kw, isNew };
  }

  /** Per name: assignment start positions (ascending) and values, built once (FFI calls are costly). */
  private sortedAssignments = new Map<string, { pos: number[]; vals: SgNode[] }>();
  private assignmentsOf(name: string): { pos: number[]; vals: SgNode[] } | null {
    const cached = this.sortedAssignments.get(name);
    if (cached) return cached;
    const vals = this.assignments.get(name);
    if (!vals?.length) return null;
    const pairs = vals.map((v) => ({ p: v.range().start.index, v })).sort((a, b) => a.p - b.p);
    const entry = { pos: pairs.map((x) => x.p), vals: pairs.map((x) => x.v) };
    this.sortedAssignments.set(name, entry);
    return entry;
  }

  /** An identifier's single-step value: the last assignment to it before `at` (or the node itself). */
  valueOf(node: SgNode, at?: SgNode): SgNode {
    if (node.kind().toString() !== 'identifier') return node;
    const a = this.assignmentsOf(node.text());
    if (!a) return node;
    const pos = (at ?? node).range().start.index;
    let lo = 0;
    let hi = a.pos.length; // first index with pos >= target
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a.pos[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? a.vals[lo - 1]! : node;
  }

  /** The literal string value of a node (following up to two assignments), or null when not a constant string. */
  stringValue(node: SgNode | undefined, depth = 2): string | null {
    if (!node) return null;
    const k = node.kind().toString();
    if (k === 'identifier' && this.macros.has(node.text())) return this.macros.get(node.text())!;
    if (k === 'identifier' && this.isWritten(node.text(), node)) return null;
    if (k === 'identifier' && this.lang === 'c' && depth > 0 && /^[A-Za-z_]\w*$/.test(this.aliases.get(node.text()) ?? '') && this.macroPos.has(node.text())) {
      // `#define COMMAND_ARG3 data`: the macro stands for that name at the point of use
      return this.stringValueOfName(this.aliases.get(node.text())!, node, depth);
    }
    if (k === 'identifier' && depth > 0) {
      const v = this.valueOf(node);
      return v === node ? null : this.stringValue(v, depth - 1);
    }
    if (k === 'parenthesized_expression') return this.stringValue(node.children().find((c) => c.isNamed()), depth);
    if (k === 'concatenated_string') {
      const parts = node.children().filter((c) => c.isNamed()).map((c) => this.stringValue(c, depth));
      return parts.every((p) => p !== null) ? parts.join('') : null;
    }
    if (k === 'string' || k === 'string_literal' || k === 'template_string' || k === 'raw_string_literal') {
      if (this.hasInterpolation(node)) return null;
      return node
        .children()
        .filter((c) => STRING_CONTENT_KINDS.has(c.kind().toString()))
        .map((c) => c.text())
        .join('');
    }
    if (k === 'binary_operator' || k === 'binary_expression') {
      const op = node.field('operator')?.text();
      if (op !== '+') return null;
      const l = this.stringValue(node.field('left') ?? undefined, depth);
      const r = this.stringValue(node.field('right') ?? undefined, depth);
      return l !== null && r !== null ? l + r : null;
    }
    return null;
  }

  /** The literal string value a name has at a node (C macros standing for a variable), or null. */
  private stringValueOfName(name: string, at: SgNode, depth: number): string | null {
    if (this.macros.has(name)) return this.macros.get(name)!;
    if (this.isWritten(name, at)) return null;
    const a = this.assignmentsOf(name);
    if (!a) return null;
    const pos = at.range().start.index;
    let v: SgNode | null = null;
    for (let i = 0; i < a.pos.length && a.pos[i]! < pos; i++) v = a.vals[i]!;
    return v ? this.stringValue(v, depth - 1) : null;
  }

  /** Literal text pieces a value is built from (strings, following identifiers), for "does this look like SQL". */
  literalParts(node: SgNode, depth = 2): string {
    const v = node.kind().toString() === 'identifier' && depth > 0 ? this.valueOf(node) : node;
    if (v !== node) return this.literalParts(v, depth - 1);
    const out: string[] = [];
    const stack = [v];
    while (stack.length) {
      const n = stack.pop()!;
      if (STRING_CONTENT_KINDS.has(n.kind().toString())) out.unshift(n.text());
      else if (n.kind().toString() === 'identifier' && depth > 0 && n !== v) {
        const w = this.valueOf(n);
        if (w !== n) out.unshift(this.literalParts(w, depth - 1));
      } else for (const c of n.children()) stack.push(c);
    }
    return out.join(' ');
  }

  /**
   * Whether a value is *built from data* at runtime: string concatenation, interpolation or
   * formatting with a non-constant part, directly or through up to two assignments.
   */
  isBuilt(node: SgNode | undefined, depth = 2): boolean {
    if (!node) return false;
    const k = node.kind().toString();
    if (k === 'identifier') {
      if (depth <= 0) return false;
      const v = this.valueOf(node);
      return v !== node && this.isBuilt(v, depth - 1);
    }
    if (k === 'parenthesized_expression') return node.children().some((c) => c.isNamed() && this.isBuilt(c, depth));
    if (k === 'string' || k === 'template_string') return this.hasDataInterpolation(node);
    if (k === 'binary_operator' || k === 'binary_expression') {
      const op = node.field('operator')?.text();
      if (op !== '+' && op !== '%') return false;
      const l = node.field('left') ?? undefined;
      const r = node.field('right') ?? undefined;
      if (op === '%') return this.stringValue(l) !== null || this.isBuilt(l, depth) ? this.stringValue(r) === null : false;
      const sl = this.stringValue(l);
      const sr = this.stringValue(r);
      if (sl !== null && sr !== null) return false;
      // string + data: at least one side is (or is built from) a string
      return sl !== null || sr !== null || this.isBuilt(l, depth) || this.isBuilt(r, depth) || this.looksStringy(l) || this.looksStringy(r);
    }
    if (k === 'augmented_assignment' || k === 'augmented_assignment_expression') return this.stringValue(node.field('right') ?? undefined) === null;
    if (k === 'call') {
      const f = node.field('function');
      if (f?.kind().toString() === 'attribute' && f.field('attribute')?.text() === 'format') return true;
      if (f?.kind().toString() === 'attribute' && f.field('attribute')?.text() === 'replace') return node.field('arguments')?.children().some((c) => c.isNamed() && this.isNonConstant(c)) ?? false;
      if (f?.kind().toString() === 'attribute' && f.field('attribute')?.text() === 'join') return node.field('arguments')?.children().some((c) => c.isNamed() && this.stringValue(c) === null) ?? false;
      return false;
    }
    if (k === 'call_expression' && this.lang !== 'c') {
      const f = node.field('function');
      if (f?.kind().toString() === 'member_expression' && /^(concat|replace|join)$/.test(f.field('property')?.text() ?? '')) return true;
      if (f && /^(util\.)?format$/.test(f.text())) return true;
    }
    return false;
  }

  /** A string with interpolated parts (f-string, template literal). */
  hasInterpolation(node: SgNode): boolean {
    if (this.lang === 'c') return false;
    return node.find({ rule: { kind: this.lang === 'python' ? 'interpolation' : 'template_substitution' } }) !== null;
  }

  /**
   * A string with an interpolated part that is data: not a constant (`table = 'users'; f"… {table} …"`)
   * nor an escaping or numeric-conversion call (`${conn.escape(x)}`, `{int(n)}`).
   */
  hasDataInterpolation(node: SgNode): boolean {
    if (this.lang === 'c') return false;
    const kind = this.lang === 'python' ? 'interpolation' : 'template_substitution';
    return node.findAll({ rule: { kind } }).some((i) => {
      const e = i.children().find((c) => c.isNamed() && !/^(?:format_specifier|type_conversion)$/.test(c.kind().toString()));
      if (!e) return false;
      if (!this.isNonConstant(e)) return false;
      if (/^(?:call|call_expression)$/.test(e.kind().toString()) && SANITISER.test(e.field('function')?.text() ?? '')) return false;
      return true;
    });
  }

  private looksStringy(n: SgNode | undefined): boolean {
    return !!n && /^(string|template_string|string_literal|concatenated_string)$/.test(n.kind().toString());
  }

  /** A value that is not a compile-time constant (a literal, or a name bound only to a literal). */
  isNonConstant(node: SgNode | undefined): boolean {
    if (!node) return false;
    if (this.stringValue(node) !== null) return false;
    const k = node.kind().toString();
    if (/^(integer|float|number|number_literal|true|false|none|null|undefined)$/.test(k)) return false;
    return true;
  }

  /** The function node enclosing `n` (or null). */
  enclosingFunction(n: SgNode): SgNode | null {
    const kinds = /^(function_definition|function_declaration|method_definition|arrow_function|function_expression|function)$/;
    for (let p = n.parent(); p; p = p.parent()) if (kinds.test(p.kind().toString())) return p;
    return null;
  }
}

/** Calls whose result is safe to place in SQL or a command line: escaping and numeric conversion. */
const SANITISER = /(?:^|\.)(?:escape|escapeId|escapeLiteral|escapeIdentifier|quote_ident|quote_literal|quote|int|float|parseInt|parseFloat|Number|shlex\.quote|shellescape|shell-quote\.quote)$/;

function blank(text: string, ranges: [number, number][]): string {
  if (!ranges.length) return text;
  const chars = text.split('');
  for (const [s, e] of ranges) for (let i = s; i < e && i < chars.length; i++) if (chars[i] !== '\n') chars[i] = ' ';
  return chars.join('');
}

export function unquote(s: string): string {
  return s.replace(/^["'`]|["'`]$/g, '');
}

/** Node's module names: "node:child_process" → "child_process". */
function moduleName(s: string): string {
  return unquote(s).replace(/^node:/, '');
}

function requiredModule(value: SgNode): string | null {
  const t = value.text().replace(/\s+/g, '');
  const m = /^(?:await)?(?:require|import)\((["'`])([^"'`]+)\1\)(\.[\w$.]+)?$/.exec(t);
  return m ? moduleName(m[2]!) + (m[3] ?? '') : null;
}
