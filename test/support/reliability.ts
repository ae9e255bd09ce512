// Tests that are also rows of RELIABILITY.md. A row is declared when its test file is collected and
// measured when its test ends; both are appended to this run's record files (jest workers are
// separate processes), and the jest reporter (reliability-reporter.ts) turns the records and jest's
// verdicts into RELIABILITY.md.
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../sandbox/engine";
import { AREAS, Measured, ReliabilityRecord, ReliabilityRow, RUN_DIR_ENV } from "./reliability-report";

export type { ReliabilityArea, ReliabilityRow } from "./reliability-report";

/** What a row measured. Each call adds to the row's count and to what it checked or searched; a
 * row that never calls one shows no measurement for it, and one that checked or searched nothing
 * is not counted as measured (reliability-report.ts). Record what you measured, then assert on it:
 * a non-zero count is kept in the report even when the assertion fails the test. */
export interface RowProbe {
  /** Install files found corrupted (fault-run.ts `installCorruption`) and which checks ran. */
  corruptedFiles(check: { checked: readonly string[]; corrupted: readonly string[] }): void;
  /** Findings of the row's own credentials (fault-run.ts `leaksIn`) and which were searched for. */
  secretsLeaked(scan: { searched: readonly string[]; found: readonly string[] }): void;
}

/** Cases declared per test file in this process, to refuse a duplicate (the row's key is its name). */
const declared = new Map<string, Set<string>>();

/** Directory of this run's records: the reporter's, or `.reliability/unattached` when jest runs
 * without it (the records are then not read by anyone, and the tests run as usual). */
function runDir(): string {
  return process.env[RUN_DIR_ENV] || path.join(REPO_ROOT, ".reliability", "unattached");
}

function append(record: ReliabilityRecord): void {
  const dir = runDir();
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, `${process.pid}.jsonl`), `${JSON.stringify(record)}\n`);
}

/** The test file being collected, relative to the repository. */
function currentFile(): string {
  const testPath = expect.getState().testPath;
  if (!testPath)
    throw new Error(
      "reliabilityTest must be called while jest collects a test file (at the top level or in describe), not inside a test",
    );
  return path.relative(REPO_ROOT, testPath).split(path.sep).join("/");
}

function declare(row: ReliabilityRow): string {
  if (!AREAS.some((a) => a.area === row.area))
    throw new Error(
      `reliability row ${JSON.stringify(row.case)}: area must be one of ${AREAS.map((a) => a.area).join(", ")}, got ${JSON.stringify(row.area)}`,
    );
  if (!row.case || !row.expected)
    throw new Error(`reliability row ${JSON.stringify(row.case)}: case and expected must both be non-empty`);
  const file = currentFile();
  const cases = declared.get(file) ?? new Set<string>();
  if (cases.has(row.case))
    throw new Error(
      `reliability row ${JSON.stringify(row.case)} is declared twice in ${file}: each case names one row and one test, make it unique`,
    );
  cases.add(row.case);
  declared.set(file, cases);
  append({ kind: "row", file, index: cases.size, area: row.area, case: row.case, expected: row.expected });
  return file;
}

/** Declares a jest test (named after the row) that is also a row of RELIABILITY.md; its outcome
 * and probe counts are recorded. */
export function reliabilityTest(
  row: ReliabilityRow,
  fn: (probe: RowProbe) => Promise<void> | void,
  timeoutMs?: number,
): void {
  const file = declare(row);
  test(
    row.case,
    async () => {
      const m: Measured = {};
      const union = (a: readonly string[] | undefined, b: readonly string[]) => [...new Set([...(a ?? []), ...b])];
      const probe: RowProbe = {
        corruptedFiles: ({ checked, corrupted }) => {
          m.corruptedFiles = (m.corruptedFiles ?? 0) + corrupted.length;
          m.filesChecked = union(m.filesChecked, checked);
        },
        secretsLeaked: ({ searched, found }) => {
          m.secretsLeaked = (m.secretsLeaked ?? 0) + found.length;
          m.secretsSearched = union(m.secretsSearched, searched);
        },
      };
      try {
        await fn(probe);
      } finally {
        if (m.corruptedFiles !== undefined || m.secretsLeaked !== undefined)
          append({ kind: "probe", file, case: row.case, ...m });
      }
    },
    timeoutMs,
  );
}

/** Table form: one test per row. */
export function reliabilityEach<T extends ReliabilityRow>(
  rows: T[],
  fn: (row: T, probe: RowProbe) => Promise<void> | void,
  timeoutMs?: number,
): void {
  for (const row of rows) reliabilityTest(row, (probe) => fn(row, probe), timeoutMs);
}
