// The verdict of a CI run, from jest's --json results and the reliability reporter's verdict file.
// `.ci/run` calls it after `npm test`; test/unit/ci-summary.test.ts tests `summarize` directly.
//
// It prints one line per check, one `FAILED: <file> › <test>` line per failed test (the first 20),
// then the totals line `N passed, M failed`, where N and M count the
// tests of every suite and M also counts each CI check that failed:
// - a suite that failed outside its tests (it crashed, did not compile, a hook threw) counts as one
//   failure itself, since it has no failed test to count;
// - skipped and todo tests: each one not in .ci/allowed-skips (with a reason) is a failure, and so is
//   an entry there that no longer names a skipped or todo test (the list must not outlive its reason);
// - the number of tests that ran (passed + failed) must not fall below the floor in .ci/test-floor:
//   a test file that stops being collected, or tests deleted without replacement, fail the run;
// - RELIABILITY.md (test/support/reliability-reporter.ts): up to date after a complete run, or
//   rewritten under EMQX_RELIABILITY_UPDATE=1. Printed on its own line, never counted as passed.
// - checks .ci/run ran besides jest (the release-readiness checks): `<exit code>\t<command>` per line;
//   each is printed on its own line, never counted as passed, and a non-zero exit code is a failure.
"use strict";

const fs = require("fs");
const path = require("path");

const ALLOW_LIST = ".ci/allowed-skips";
const FLOOR_FILE = ".ci/test-floor";

/** Entries of the allow-list text: `<file> › <full test name>\t<reason>` per line; `#` comments and
 * blank lines are ignored. A line without a reason is an error (returned, not thrown). */
function parseAllowList(text) {
  const entries = [];
  const errors = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const [test, reason] = line.split("\t");
    if (!reason || reason.trim() === "")
      errors.push(`${ALLOW_LIST}:${i + 1}: no reason after a tab: ${line.slice(0, 120)}`);
    else entries.push({ test: test.trim(), reason: reason.trim() });
  });
  return { entries, errors };
}

/** The floor: the first line of the file that is a whole number (others are comments). */
function parseFloor(text) {
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => /^[0-9]+$/.test(l));
  return line === undefined ? undefined : Number(line);
}

const SKIPPED = ["pending", "skipped", "disabled"];
/** How many failed tests the summary names before the totals line. */
const MAX_NAMED_FAILURES = 20;

/** The run's verdict. `results` is jest's JSON (or undefined when jest wrote none), `verdict` the
 * reliability reporter's (or undefined), `allowList` and `floorText` the files' text, `root` the
 * repository (test files are named relative to it). Returns the lines to print (the totals last),
 * the counts, and the reasons for failure (for stderr). */
function summarize({ results, verdict, allowList, floorText, root, checks = "" }) {
  const problems = [];
  const lines = [];
  if (!results) {
    problems.push("jest wrote no results (the build or jest itself failed before running tests)");
    lines.push("0 passed, 1 failed");
    return { lines, passed: 0, failed: 1, problems };
  }
  const rel = (p) => path.relative(root, p).split(path.sep).join("/");
  const crashed = results.testResults.filter(
    (s) => s.status === "failed" && !s.assertionResults.some((a) => a.status === "failed"),
  );
  for (const s of crashed) {
    const message = (s.message || "")
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")
      .slice(0, 20)
      .join("\n");
    problems.push(`suite failed outside its tests: ${rel(s.name)}\n${message}`);
  }
  const failedSuites = Math.max(crashed.length, results.numRuntimeErrorTestSuites || 0);
  let failedChecks = 0;

  // Skipped and todo tests, against the allow-list.
  const allow = parseAllowList(allowList);
  problems.push(...allow.errors);
  failedChecks += allow.errors.length;
  const notRun = results.testResults.flatMap((s) =>
    s.assertionResults
      .filter((a) => SKIPPED.includes(a.status) || a.status === "todo")
      .map((a) => ({ test: `${rel(s.name)} › ${a.fullName}`, todo: a.status === "todo" })),
  );
  const allowed = new Set(allow.entries.map((e) => e.test));
  const unexplained = notRun.filter((t) => !allowed.has(t.test));
  const stale = allow.entries.filter((e) => !notRun.some((t) => t.test === e.test));
  for (const t of unexplained)
    problems.push(
      `${t.todo ? "todo" : "skipped"} test not in ${ALLOW_LIST}: ${t.test} (make it run, or list it there with the reason)`,
    );
  for (const e of stale)
    problems.push(`${ALLOW_LIST} lists ${e.test}, which is not a skipped or todo test of this run: remove the entry`);
  failedChecks += unexplained.length + stale.length;
  const skipped = notRun.filter((t) => !t.todo).length;
  const todo = notRun.length - skipped;
  lines.push(
    `skipped: ${skipped}, todo: ${todo} (${notRun.length - unexplained.length} allowed by ${ALLOW_LIST}, ${unexplained.length} not)` +
      (stale.length ? `; ${stale.length} stale entr${stale.length === 1 ? "y" : "ies"} in ${ALLOW_LIST}` : ""),
  );

  // The floor on the number of tests that ran.
  const ran = results.numPassedTests + results.numFailedTests;
  const floor = parseFloor(floorText);
  if (floor === undefined) {
    problems.push(`${FLOOR_FILE} holds no whole number: put the number of tests a full run runs there`);
    failedChecks += 1;
    lines.push(`tests run: ${ran}; no floor (${FLOOR_FILE} has none)`);
  } else {
    if (ran < floor) {
      problems.push(
        `only ${ran} tests ran, below the floor of ${floor} in ${FLOOR_FILE}: a test file was not collected or tests were removed; if that was meant, lower the floor in the same commit and say why`,
      );
      failedChecks += 1;
    }
    lines.push(`tests run: ${ran} (floor ${floor} in ${FLOOR_FILE}: ${ran < floor ? "BELOW" : "ok"})`);
  }

  // RELIABILITY.md, its own line.
  const reportOk = Boolean(verdict && verdict.complete && (!verdict.stale || verdict.updated));
  if (reportOk) {
    lines.push(`RELIABILITY.md: ${verdict.stale ? "rewritten (EMQX_RELIABILITY_UPDATE=1): commit it" : "up to date"}`);
  } else {
    const why = !verdict
      ? "the reliability reporter wrote no verdict"
      : !verdict.complete
        ? `partial run (${verdict.detail})`
        : verdict.detail;
    problems.push(`RELIABILITY.md check failed: ${why}`);
    failedChecks += 1;
    lines.push(`RELIABILITY.md: FAILED (${why.split("\n")[0]})`);
  }

  // Checks run besides jest, one line each.
  for (const line of checks.split("\n").filter((l) => l.trim() !== "")) {
    const [code, command] = line.split("\t");
    if (code === "0") {
      lines.push(`${command}: ok`);
    } else {
      problems.push(`${command} failed (exit code ${code}); its output is above`);
      failedChecks += 1;
      lines.push(`${command}: FAILED (exit code ${code})`);
    }
  }

  // The failed tests by name, just above the totals: CI often shows only the tail of the log.
  const failedTests = results.testResults.flatMap((s) =>
    s.assertionResults.filter((a) => a.status === "failed").map((a) => `${rel(s.name)} › ${a.fullName}`),
  );
  const shown = [...crashed.map((s) => `${rel(s.name)} (the suite itself)`), ...failedTests];
  for (const name of shown.slice(0, MAX_NAMED_FAILURES)) lines.push(`FAILED: ${name}`);
  if (shown.length > MAX_NAMED_FAILURES)
    lines.push(`FAILED: … and ${shown.length - MAX_NAMED_FAILURES} more (jest's output above names them)`);

  const passed = results.numPassedTests;
  const failed = results.numFailedTests + failedSuites + failedChecks;
  lines.push(`${passed} passed, ${failed} failed`);
  return { lines, passed, failed, problems, skipped, todo };
}

function readIfExists(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

if (require.main === module) {
  const [resultsFile, verdictFile, checksFile] = process.argv.slice(2);
  const root = path.resolve(__dirname, "..");
  const resultsText = readIfExists(resultsFile);
  const verdictText = verdictFile ? readIfExists(verdictFile) : undefined;
  const r = summarize({
    results: resultsText === undefined ? undefined : JSON.parse(resultsText),
    verdict: verdictText === undefined ? undefined : JSON.parse(verdictText),
    allowList: readIfExists(path.join(root, ALLOW_LIST)) ?? "",
    floorText: readIfExists(path.join(root, FLOOR_FILE)) ?? "",
    root,
    checks: (checksFile && readIfExists(checksFile)) || "",
  });
  for (const p of r.problems) console.error(p);
  for (const l of r.lines) console.log(l);
  process.exitCode = r.failed === 0 ? 0 : 1;
}

module.exports = { summarize, parseAllowList, parseFloor, ALLOW_LIST, FLOOR_FILE };
