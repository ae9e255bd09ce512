// The verdict of `bash .ci/run` (.ci/summarize.js): a skipped or todo test outside the allow-list,
// a stale allow-list entry, a run below the test floor and a stale RELIABILITY.md each fail the run;
// RELIABILITY.md gets its own line and is never counted as a passed test.
import * as path from "path";
import { REPO_ROOT } from "../../sandbox/engine";

interface Summary {
  lines: string[];
  passed: number;
  failed: number;
  problems: string[];
}
interface SummarizeInput {
  results?: unknown;
  verdict?: unknown;
  allowList: string;
  floorText: string;
  root: string;
  checks?: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ci = require(path.join(REPO_ROOT, ".ci", "summarize.js")) as { summarize(i: SummarizeInput): Summary };

const ROOT = "/repo";
const GOOD_VERDICT = { complete: true, stale: false, updated: false, detail: "" };

/** jest --json results: one suite per entry, `[file, [[fullName, status], ...]]`. */
function results(suites: Array<[string, Array<[string, string]>]>, extra: Record<string, unknown> = {}) {
  const all = suites.flatMap(([, tests]) => tests);
  return {
    numPassedTests: all.filter(([, s]) => s === "passed").length,
    numFailedTests: all.filter(([, s]) => s === "failed").length,
    numRuntimeErrorTestSuites: 0,
    testResults: suites.map(([file, tests]) => ({
      name: `${ROOT}/${file}`,
      status: tests.some(([, s]) => s === "failed") ? "failed" : "passed",
      message: "",
      assertionResults: tests.map(([fullName, status]) => ({ fullName, status })),
    })),
    ...extra,
  };
}

const run = (over: Partial<SummarizeInput>) =>
  ci.summarize({
    results: results([
      [
        "t/a.test.ts",
        [
          ["a works", "passed"],
          ["b works", "passed"],
        ],
      ],
    ]),
    verdict: GOOD_VERDICT,
    allowList: "",
    floorText: "2\n",
    root: ROOT,
    ...over,
  });

test("a clean run: each check on its own line, the totals last, RELIABILITY.md not counted as passed", () => {
  const r = run({});
  expect(r.lines).toEqual([
    "skipped: 0, todo: 0 (0 allowed by .ci/allowed-skips, 0 not)",
    "tests run: 2 (floor 2 in .ci/test-floor: ok)",
    "RELIABILITY.md: up to date",
    "2 passed, 0 failed",
  ]);
  expect(r.problems).toEqual([]);
});

test("fails on a skipped test and on a todo test that the allow-list does not name", () => {
  const r = run({
    results: results([
      [
        "t/a.test.ts",
        [
          ["a works", "passed"],
          ["b works", "passed"],
          ["c works", "pending"],
          ["d later", "todo"],
        ],
      ],
    ]),
  });
  expect(r.failed).toBe(2);
  expect(r.lines[0]).toBe("skipped: 1, todo: 1 (0 allowed by .ci/allowed-skips, 2 not)");
  expect(r.problems).toEqual([
    "skipped test not in .ci/allowed-skips: t/a.test.ts › c works (make it run, or list it there with the reason)",
    "todo test not in .ci/allowed-skips: t/a.test.ts › d later (make it run, or list it there with the reason)",
  ]);
  expect(r.lines[r.lines.length - 1]).toBe("2 passed, 2 failed");
});

test("accepts a skip the allow-list names with a reason", () => {
  const r = run({
    results: results([
      [
        "t/a.test.ts",
        [
          ["a works", "passed"],
          ["b works", "passed"],
          ["c works", "skipped"],
        ],
      ],
    ]),
    allowList: "# comment\n\nt/a.test.ts › c works\tneeds a second host, see issue 9\n",
  });
  expect(r.failed).toBe(0);
  expect(r.lines[0]).toBe("skipped: 1, todo: 0 (1 allowed by .ci/allowed-skips, 0 not)");
});

test("fails on an allow-list entry without a reason, and on one that names no skipped test", () => {
  const r = run({ allowList: "t/a.test.ts › c works\nt/a.test.ts › gone\tused to need a host\n" });
  expect(r.failed).toBe(2);
  expect(r.problems[0]).toMatch(/^\.ci\/allowed-skips:1: no reason after a tab/);
  expect(r.problems[1]).toBe(
    ".ci/allowed-skips lists t/a.test.ts › gone, which is not a skipped or todo test of this run: remove the entry",
  );
});

test("fails when fewer tests ran than the floor, and when the floor file has no number", () => {
  const below = run({ floorText: "# comment\n3\n" });
  expect(below.failed).toBe(1);
  expect(below.lines[1]).toBe("tests run: 2 (floor 3 in .ci/test-floor: BELOW)");
  expect(below.problems[0]).toMatch(/^only 2 tests ran, below the floor of 3/);
  expect(run({ floorText: "many\n" }).failed).toBe(1);
});

test("a stale or partial RELIABILITY.md fails the run on its own line, counted as a failure only", () => {
  const stale = run({
    verdict: { complete: true, stale: true, updated: false, detail: "RELIABILITY.md differs from the committed file" },
  });
  expect(stale.lines.slice(-2)).toEqual([
    "RELIABILITY.md: FAILED (RELIABILITY.md differs from the committed file)",
    "2 passed, 1 failed",
  ]);
  expect(run({ verdict: undefined }).problems).toEqual([
    "RELIABILITY.md check failed: the reliability reporter wrote no verdict",
  ]);
  expect(run({ verdict: { ...GOOD_VERDICT, stale: true, updated: true } }).lines).toContain(
    "RELIABILITY.md: rewritten (EMQX_RELIABILITY_UPDATE=1): commit it",
  );
});

test("a suite that failed outside its tests counts as one failure; no results at all is one failure", () => {
  const crashed = results([
    [
      "t/a.test.ts",
      [
        ["a works", "passed"],
        ["b works", "passed"],
      ],
    ],
  ]);
  crashed.testResults.push({
    name: `${ROOT}/t/b.test.ts`,
    status: "failed",
    message: "\x1b[31mCannot find module\x1b[0m",
    assertionResults: [],
  });
  const r = run({ results: crashed });
  expect(r.failed).toBe(1);
  expect(r.problems[0]).toBe("suite failed outside its tests: t/b.test.ts\nCannot find module");
  expect(r.lines.slice(-2)).toEqual(["FAILED: t/b.test.ts (the suite itself)", "2 passed, 1 failed"]);
  expect(run({ results: undefined })).toMatchObject({ failed: 1, lines: ["0 passed, 1 failed"] });
});

test("checks run besides jest (release readiness) get a line each; a failed one fails the run and is never counted as passed", () => {
  const ok = run({ checks: "0\tnode scripts/check-npm-name.js\n0\tnpm publish --dry-run\n" });
  expect(ok.lines.slice(-3)).toEqual([
    "node scripts/check-npm-name.js: ok",
    "npm publish --dry-run: ok",
    "2 passed, 0 failed",
  ]);
  expect(ok.problems).toEqual([]);
  const bad = run({ checks: "0\tnode scripts/check-npm-name.js\n1\tnpm publish --dry-run\n" });
  expect(bad.lines.slice(-2)).toEqual(["npm publish --dry-run: FAILED (exit code 1)", "2 passed, 1 failed"]);
  expect(bad.problems).toEqual(["npm publish --dry-run failed (exit code 1); its output is above"]);
});

test("each failed test is named on a line of its own just above the totals, the first 20 of them", () => {
  const two = run({
    results: results([
      [
        "t/a.test.ts",
        [
          ["a works", "passed"],
          ["b breaks", "failed"],
        ],
      ],
      ["t/c.test.ts", [["c breaks", "failed"]]],
    ]),
  });
  expect(two.lines.slice(-3)).toEqual([
    "FAILED: t/a.test.ts › b breaks",
    "FAILED: t/c.test.ts › c breaks",
    "1 passed, 2 failed",
  ]);
  const many = run({
    results: results([["t/a.test.ts", Array.from({ length: 25 }, (_, i): [string, string] => [`t${i}`, "failed"])]]),
    floorText: "0\n",
  });
  const named = many.lines.filter((l) => l.startsWith("FAILED: "));
  expect([named.length, named[0], named[19], named[20]]).toEqual([
    21,
    "FAILED: t/a.test.ts › t0",
    "FAILED: t/a.test.ts › t19",
    "FAILED: … and 5 more (jest's output above names them)",
  ]);
  expect(many.lines[many.lines.length - 1]).toBe("0 passed, 25 failed");
});
