// The jest reporter that writes RELIABILITY.md (configured in jest.config.js through the
// reliability-reporter-shim.js, since jest loads reporters without its TypeScript transform).
//
// onRunStart gives the run a record directory (.reliability/<run id>/, gitignored) and exports it
// to the workers through EMQX_RELIABILITY_RUN_DIR; onRunComplete joins the rows the tests declared
// with jest's verdicts. After a full run (every test file of every project, no name filter) it
// rewrites RELIABILITY.md and compares it with the committed one (`git show HEAD:RELIABILITY.md`):
// a difference is the reporter's error, so jest exits non-zero, and the verdict file tells
// .ci/run to count one failed test. EMQX_RELIABILITY_UPDATE=1 accepts the new text instead.
// A partial run leaves RELIABILITY.md alone and says where its own report went.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  joinRows,
  parseRecords,
  renderReliabilityReport,
  ReliabilityRecord,
  RUN_DIR_ENV,
  TestOutcome,
  totalsOf,
  UPDATE_ENV,
  VERDICT_ENV,
} from "./reliability-report";

/** Options from jest.config.js. */
export interface ReliabilityReporterOptions {
  /** Repo-relative directories whose `*.test.ts` files make up the whole suite. */
  testRoots: string[];
}

/** What a run concluded, written as JSON to `<run dir>/verdict.json` (and to $EMQX_RELIABILITY_VERDICT). */
export interface ReliabilityVerdict {
  /** Every test file ran with no name filter: RELIABILITY.md was regenerated and compared. */
  complete: boolean;
  /** The regenerated text differs from the committed RELIABILITY.md. */
  stale: boolean;
  /** EMQX_RELIABILITY_UPDATE=1: a difference was accepted. */
  updated: boolean;
  /** Where this run's report was written. */
  report: string;
  casesTried: number;
  passed: number;
  /** Why the run was partial, or why RELIABILITY.md is stale; empty when neither. */
  detail: string;
}

const KEEP_RUN_DIRS_MS = 24 * 3600 * 1000;

interface JestResults {
  testResults: Array<{ testFilePath: string; testResults: Array<{ title: string; fullName: string; status: string }> }>;
}

/** Jest reporter: see the file comment. */
export class ReliabilityReporter {
  private readonly rootDir: string;
  private readonly testRoots: string[];
  private readonly testNamePattern: string | undefined;
  private runDir = "";
  private error: Error | undefined;

  constructor(globalConfig: { rootDir: string; testNamePattern?: string }, options: ReliabilityReporterOptions) {
    this.rootDir = globalConfig.rootDir;
    this.testRoots = options.testRoots;
    this.testNamePattern = globalConfig.testNamePattern || undefined;
  }

  onRunStart(): void {
    const base = path.join(this.rootDir, ".reliability");
    removeOldRuns(base);
    this.runDir = path.join(base, `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`);
    fs.mkdirSync(this.runDir, { recursive: true });
    process.env[RUN_DIR_ENV] = this.runDir;
  }

  onRunComplete(_contexts: unknown, results: JestResults): void {
    if (!this.runDir) return;
    try {
      this.report(results);
    } catch (e) {
      // A broken record or an unwritable file fails the run, with the reason, instead of crashing jest.
      this.error = new Error(
        `the reliability report could not be written: ${e instanceof Error ? e.message : String(e)}`,
      );
      say(`reliability: FAILED: ${this.error.message}`);
    }
  }

  private report(results: JestResults): void {
    const rel = (p: string) => path.relative(this.rootDir, p).split(path.sep).join("/");
    const records: ReliabilityRecord[] = fs
      .readdirSync(this.runDir)
      .filter((f) => f.endsWith(".jsonl"))
      .sort()
      .flatMap((f) => parseRecords(fs.readFileSync(path.join(this.runDir, f), "utf8"), path.join(this.runDir, f)));
    const outcomes: TestOutcome[] = results.testResults.flatMap((s) =>
      s.testResults.map((a) => ({ file: rel(s.testFilePath), title: a.title, fullName: a.fullName, status: a.status })),
    );
    const rows = joinRows(records, outcomes);
    const text = renderReliabilityReport(rows);
    const totals = totalsOf(rows);

    const ran = new Set(results.testResults.map((s) => rel(s.testFilePath)));
    const missing = this.testRoots.flatMap((root) => testFilesUnder(this.rootDir, root)).filter((f) => !ran.has(f));
    const partialBecause = this.testNamePattern
      ? `a test name filter (-t ${this.testNamePattern})`
      : missing.length
        ? `${missing.length} test files did not run (e.g. ${missing[0]})`
        : "";
    const verdict: ReliabilityVerdict = {
      complete: partialBecause === "",
      stale: false,
      updated: false,
      report: "",
      casesTried: totals.casesTried,
      passed: totals.passed,
      detail: partialBecause,
    };

    if (!verdict.complete && rows.length === 0) {
      // Nothing to report (a run of files without rows): leave no directory behind.
      fs.rmSync(this.runDir, { recursive: true, force: true });
    } else if (!verdict.complete) {
      verdict.report = path.join(this.runDir, "RELIABILITY.md");
      fs.writeFileSync(verdict.report, text);
      say(
        `reliability: partial run (${partialBecause}): ${totals.passed} of ${totals.casesTried} rows passed; report in ${rel(verdict.report)}; RELIABILITY.md is only rewritten by a full run (npm test)`,
      );
    } else {
      verdict.report = path.join(this.rootDir, "RELIABILITY.md");
      fs.writeFileSync(verdict.report, text);
      const committed = committedReport(this.rootDir);
      verdict.stale = committed !== text;
      verdict.updated = verdict.stale && process.env[UPDATE_ENV] === "1";
      if (verdict.stale) {
        verdict.detail =
          committed === undefined
            ? "RELIABILITY.md is not committed (git show HEAD:RELIABILITY.md found nothing)"
            : `RELIABILITY.md differs from the committed one (${diffSummary(committed, text)})`;
      }
      if (verdict.stale && !verdict.updated) {
        this.error = new Error(
          `${verdict.detail}: the run rewrote it; review \`git diff RELIABILITY.md\` and commit it (or run \`${UPDATE_ENV}=1 npm test\` to accept it without failing)`,
        );
        say(`reliability: FAILED: ${this.error.message}`);
      } else {
        say(
          `reliability: RELIABILITY.md ${verdict.updated ? "updated (commit it)" : "up to date"}: ${totals.passed} of ${totals.casesTried} rows passed, ${totals.faultsSurvived} of ${totals.faults} faults survived, ${totals.filesCorrupted} files corrupted, ${totals.secretsLeaked} secrets leaked`,
        );
      }
    }
    const json = `${JSON.stringify(verdict, null, 2)}\n`;
    if (fs.existsSync(this.runDir)) fs.writeFileSync(path.join(this.runDir, "verdict.json"), json);
    if (process.env[VERDICT_ENV]) fs.writeFileSync(process.env[VERDICT_ENV] as string, json);
  }

  getLastError(): Error | undefined {
    return this.error;
  }
}

function say(line: string): void {
  process.stderr.write(`\n${line}\n`);
}

/** RELIABILITY.md as committed at HEAD, or undefined when git has none. */
function committedReport(rootDir: string): string | undefined {
  const r = spawnSync("git", ["show", "HEAD:RELIABILITY.md"], {
    cwd: rootDir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.status === 0 ? r.stdout : undefined;
}

/** The first differing line, for the message. */
function diffSummary(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  const i = x.findIndex((line, n) => line !== y[n]);
  const at = i < 0 ? Math.min(x.length, y.length) : i;
  return `first difference at line ${at + 1}: committed ${JSON.stringify((x[at] ?? "<end>").slice(0, 100))}, now ${JSON.stringify((y[at] ?? "<end>").slice(0, 100))}`;
}

/** Repo-relative `*.test.ts` files under `dir`. */
function testFilesUnder(rootDir: string, dir: string): string[] {
  const abs = path.join(rootDir, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return testFilesUnder(rootDir, rel);
    return e.isFile() && e.name.endsWith(".test.ts") ? [rel] : [];
  });
}

/** Removes run directories older than a day (each run makes one; concurrent runs keep theirs). */
function removeOldRuns(base: string): void {
  if (!fs.existsSync(base)) return;
  for (const name of fs.readdirSync(base)) {
    const dir = path.join(base, name);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > KEEP_RUN_DIRS_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed by a concurrent run
    }
  }
}
