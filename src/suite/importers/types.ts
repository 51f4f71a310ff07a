/** A dataset importer: reads a user-supplied file in a published format and writes a runnable suite folder. */
export interface ImportOptions {
  /** Folder to write (created; must be empty or absent unless `force`). */
  out: string;
  force?: boolean;
  /** Importer-specific options from `--set key=value` (each importer names the ones it reads). */
  params: Record<string, string>;
}

export interface ImportResult {
  suiteFile: string;
  dataFile: string;
  rows: number;
  /** Lines worth telling the user (skipped rows, unsupported languages, licence reminders). */
  notes: string[];
}

export interface Importer {
  description: string;
  /** Params this importer reads (for help and for rejecting typos). */
  params: Record<string, string>;
  run(file: string, opts: ImportOptions): Promise<ImportResult>;
}
