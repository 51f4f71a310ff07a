import { InvalidArgumentError } from 'commander';

/** commander argument parsers that reject bad values with a message naming the option. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
  return n;
};
export const num = (min: number, max = Infinity) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
  return n;
};
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
export const price = (v: string): { input: number; output: number } => {
  const m = /^\s*([0-9.]+)\s*,\s*([0-9.]+)\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected "<input>,<output>" USD per million tokens, e.g. 3,15');
  return { input: Number(m[1]), output: Number(m[2]) };
};
