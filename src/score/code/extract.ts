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
