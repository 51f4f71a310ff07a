import type { CodeLanguage } from './rules.js';

/** Language names as datasets write them → an analyser language; null when unsupported. C++ is read with the C rules. */
export function normaliseLanguage(name: string): { lang: CodeLanguage; note?: string } | null {
  const n = name.trim().toLowerCase();
  if (['python', 'py', 'python3'].includes(n)) return { lang: 'python' };
  if (['javascript', 'js', 'node', 'nodejs', 'jsx'].includes(n)) return { lang: 'javascript' };
  if (['typescript', 'ts', 'tsx'].includes(n)) return { lang: 'typescript' };
  if (['c', 'h'].includes(n)) return { lang: 'c' };
  if (['cpp', 'c++', 'cxx', 'cc', 'hpp'].includes(n)) return { lang: 'c', note: 'C++ analysed with the C rules' };
  return null;
}
