import { readFileSync } from 'node:fs';
import { AssayError } from '../common/errors.js';

/** A file named on the command line, read whole; a failure is an IO error (exit 2) saying what the file was for. */
export function readInput(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AssayError('IO', `cannot read ${what}: ${(err as Error).message}`, { file });
  }
}

/** readInput as UTF-8 text. */
export const readInputText = (file: string, what: string): string => readInput(file, what).toString('utf8');
