import { parse } from 'csv-parse/sync';
import { AssayError } from '../../common/errors.js';

/**
 * A user-supplied CSV with a header row, as objects (every cell a string). Missing required
 * columns are an error at line 1 naming them; a syntax error names the line.
 */
export function readCsv(file: string, bytes: Buffer, required: readonly string[]): { rows: Record<string, string>[]; columns: string[] } {
  let rows: Record<string, string>[];
  try {
    rows = parse(bytes, { columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[];
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new AssayError('IMPORT_INVALID', `not valid CSV: ${err.message}`, { file, ...(err.lines ? { line: err.lines } : {}) });
  }
  const columns = rows.length ? Object.keys(rows[0]!) : (parse(bytes, { bom: true, to_line: 1 }) as string[][])[0] ?? [];
  const missing = required.filter((c) => !columns.includes(c));
  if (missing.length) throw new AssayError('IMPORT_INVALID', `missing column(s) ${missing.join(', ')} (found: ${columns.join(', ') || 'none'})`, { file, line: 1 });
  return { rows, columns };
}

/** A required non-empty cell, or an error naming the row (1-based data row) and column. */
export function cell(file: string, row: Record<string, string>, i: number, col: string): string {
  const v = row[col];
  if (v === undefined || v.trim() === '') throw new AssayError('IMPORT_INVALID', `empty "${col}"`, { file, row: i + 1, field: col });
  return v;
}
