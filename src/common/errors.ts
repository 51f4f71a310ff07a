/** Where a problem was found: as much as is known, so a message can point at it. */
export interface Location {
  file?: string;
  line?: number;
  row?: number;
  field?: string;
}

/**
 * An error a user can act on: a stable code plus the place it concerns.
 * The message always starts with the location (file:line, row, field) when one is known.
 */
export class AssayError extends Error {
  readonly code: string;
  readonly location: Location;
  /** The message without its location prefix, for callers that report the location themselves. */
  readonly problem: string;
  constructor(code: string, problem: string, location: Location = {}) {
    super(formatLocated(problem, location));
    this.name = 'AssayError';
    this.code = code;
    this.location = location;
    this.problem = problem;
  }
}

/** An error's message without the location prefix when it is an AssayError. */
export const problemOf = (err: unknown): string => (err instanceof AssayError ? err.problem : (err as Error).message);

export function formatLocated(problem: string, loc: Location): string {
  const parts: string[] = [];
  if (loc.file) parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file);
  if (loc.row !== undefined) parts.push(`row ${loc.row}`);
  if (loc.field) parts.push(`field "${loc.field}"`);
  return parts.length ? `${parts.join(', ')}: ${problem}` : problem;
}
