// The jest reporter behind RELIABILITY.md (test/support/reliability-reporter.ts), run against a
// throwaway git repository: full vs partial runs, the staleness check against the committed file,
// the update mode and the verdict file .ci/run reads.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  INSTALL_CHECKS,
  ReliabilityRecord,
  RUN_DIR_ENV,
  UPDATE_ENV,
  VERDICT_ENV,
} from "../../support/reliability-report";
import { ReliabilityReporter, ReliabilityVerdict } from "../../support/reliability-reporter";

let repo: string;
const savedEnv = { ...process.env };

beforeEach(() => {
  // The run around this test may itself be an update run (EMQX_RELIABILITY_UPDATE=1 npm test).
  delete process.env[UPDATE_ENV];
  delete process.env[VERDICT_ENV];
  repo = fs.mkdtempSync(path.join(os.tmpdir(), "reliability-reporter-"));
  fs.mkdirSync(path.join(repo, "t"));
  for (const f of ["a.test.ts", "b.test.ts"]) fs.writeFileSync(path.join(repo, "t", f), "");
  git("init", "-q");
  git("add", "t");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tests");
  jest.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => {
  process.env = { ...savedEnv };
  jest.restoreAllMocks();
  fs.rmSync(repo, { recursive: true, force: true });
});

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8" });
}

const RECORDS: ReliabilityRecord[] = [
  {
    kind: "row",
    file: "t/a.test.ts",
    index: 1,
    area: "fault",
    case: "link drops mid-upload",
    expected: "HostStateError; node untouched",
  },
  {
    kind: "probe",
    file: "t/a.test.ts",
    case: "link drops mid-upload",
    corruptedFiles: 0,
    filesChecked: [...INSTALL_CHECKS],
  },
  { kind: "row", file: "t/b.test.ts", index: 1, area: "input", case: "version 4.4", expected: "check refuses version" },
];

/** One reporter run: declared records, jest's results for `files` (each row's test with `status`). */
function run(
  files: string[],
  status: Record<string, string> = {},
  config: { testNamePattern?: string } = {},
): { reporter: ReliabilityReporter; verdict: ReliabilityVerdict; runDir: string } {
  const reporter = new ReliabilityReporter({ rootDir: repo, ...config }, { testRoots: ["t"] });
  reporter.onRunStart();
  const runDir = process.env[RUN_DIR_ENV] as string;
  expect(runDir.startsWith(path.join(repo, ".reliability") + path.sep)).toBe(true);
  fs.writeFileSync(path.join(runDir, "123.jsonl"), RECORDS.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const testResults = files.map((f) => ({
    testFilePath: path.join(repo, f),
    testResults: RECORDS.filter((r) => r.kind === "row" && r.file === f).map((r) => ({
      title: r.case,
      fullName: `suite ${r.case}`,
      status: status[r.case] ?? "passed",
    })),
  }));
  process.env[VERDICT_ENV] = path.join(repo, "verdict.json");
  reporter.onRunComplete(undefined, { testResults });
  return { reporter, verdict: JSON.parse(fs.readFileSync(path.join(repo, "verdict.json"), "utf8")), runDir };
}

const report = () => fs.readFileSync(path.join(repo, "RELIABILITY.md"), "utf8");

test("GIVEN no committed RELIABILITY.md WHEN the whole suite runs THEN it writes one and fails as stale until it is committed", () => {
  const first = run(["t/a.test.ts", "t/b.test.ts"]);
  expect(first.verdict).toMatchObject({ complete: true, stale: true, updated: false, casesTried: 2, passed: 2 });
  expect(first.reporter.getLastError()?.message).toMatch(/^RELIABILITY\.md is not committed .*commit it/);
  expect(report()).toContain(
    "| link drops mid-upload | HostStateError; node untouched | t/a.test.ts › suite link drops mid-upload | passed (0 files corrupted) |",
  );

  git("add", "RELIABILITY.md");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "report");
  const second = run(["t/a.test.ts", "t/b.test.ts"]);
  expect([second.verdict.complete, second.verdict.stale, second.reporter.getLastError()]).toEqual([
    true,
    false,
    undefined,
  ]);
});

test("fails as stale when a row that passed in the committed report now fails, and counts it in the totals", () => {
  run(["t/a.test.ts", "t/b.test.ts"]);
  git("add", "RELIABILITY.md");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "report");
  const { verdict, reporter } = run(["t/a.test.ts", "t/b.test.ts"], { "version 4.4": "failed" });
  expect(verdict).toMatchObject({ complete: true, stale: true, passed: 1, casesTried: 2 });
  expect(reporter.getLastError()?.message).toMatch(
    /differs from the committed one \(first difference at line \d+: committed "\| passed \| 2 \|", now "\| passed \| 1 \|"\)/,
  );
  expect(report()).toContain("| failed | 1 |");
});

test("accepts a difference without failing under EMQX_RELIABILITY_UPDATE=1", () => {
  process.env[UPDATE_ENV] = "1";
  const { verdict, reporter } = run(["t/a.test.ts", "t/b.test.ts"]);
  expect([verdict.stale, verdict.updated, reporter.getLastError()]).toEqual([true, true, undefined]);
  expect(fs.existsSync(path.join(repo, "RELIABILITY.md"))).toBe(true);
});

test.each([
  ["a test file did not run", ["t/a.test.ts"], {}, /1 test files did not run \(e\.g\. t\/b\.test\.ts\)/],
  [
    "a test name filter was given",
    ["t/a.test.ts", "t/b.test.ts"],
    { testNamePattern: "link" },
    /a test name filter \(-t link\)/,
  ],
])("leaves RELIABILITY.md alone when %s, and writes the run's report in its run directory", (_, files, config, why) => {
  const { verdict, reporter, runDir } = run(files, {}, config);
  expect(verdict.complete).toBe(false);
  expect(verdict.detail).toMatch(why);
  expect(reporter.getLastError()).toBeUndefined();
  expect(fs.existsSync(path.join(repo, "RELIABILITY.md"))).toBe(false);
  expect(verdict.report).toBe(path.join(runDir, "RELIABILITY.md"));
  expect(fs.readFileSync(verdict.report, "utf8")).toContain("| cases tried | 2 |");
});

test("fails the run, naming the file and line, when a record file is corrupt", () => {
  const reporter = new ReliabilityReporter({ rootDir: repo }, { testRoots: ["t"] });
  reporter.onRunStart();
  const file = path.join(process.env[RUN_DIR_ENV] as string, "9.jsonl");
  fs.writeFileSync(file, '{"kind":"nonsense"}\n');
  reporter.onRunComplete(undefined, { testResults: [] });
  expect(reporter.getLastError()?.message).toBe(
    `the reliability report could not be written: ${file}:1: not a reliability record: {"kind":"nonsense"}`,
  );
});

test("the shim jest.config.js names loads the TypeScript reporter class", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Shim = require("../../support/reliability-reporter-shim.js");
  expect(Object.getOwnPropertyNames(Shim.prototype)).toEqual(
    expect.arrayContaining(["onRunStart", "onRunComplete", "getLastError"]),
  );
});
