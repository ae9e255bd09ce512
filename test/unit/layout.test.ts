// The guard of STYLE rule 19: one test file per source file, at the same path.
//
// The mirror rule: `provider/<path>.ts` is tested by `test/unit/<path>.test.ts` (pure and fast) or
// `test/integration/<path>.test.ts` (real sshd and the EMQX emulator), and may have more test
// files for one aspect each, `<path>.<aspect>.test.ts` (e.g. `pulumi/release-provider.serialization.test.ts`).
// Every test file under test/unit and test/integration must belong to a source that way. test/e2e
// is not mirrored: it deploys the examples/ through the real engine.
// The exceptions are listed below with their reason; the guard checks that each still holds.
// To add a test for a new source, put it at the mirrored path; a failure here names that path.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { REPO_ROOT } from "../../sandbox/engine";

/** Sources without a test file of their own. `kind` is checked against the file's content. */
const UNTESTED_SOURCES: Record<string, { kind: "re-exports only" | "types only"; reason: string }> = {
  "provider/index.ts": {
    kind: "re-exports only",
    reason: "the one public entry point; what it re-exports is tested where it is defined",
  },
  "provider/runner.ts": {
    kind: "types only",
    reason: "the Runner seam: an interface, implemented by SshSession and by the tests' fakes",
  },
  "provider/ssh/types.ts": {
    kind: "types only",
    reason: "the SSH transport's input shapes, filled in by plan/inputs.ts (tested there)",
  },
};

/** Test files that belong to no single source. */
const UNMIRRORED_TESTS: Record<string, string> = {
  "test/unit/layout.test.ts": "this guard: it tests the layout of the tree",
  "test/unit/layers.test.ts": "the layer map of provider/: which directory may import what",
  "test/unit/docs-citations.test.ts": "citations across the tree (code, tests, scripts, README) resolve into docs/",
  "test/integration/emulator.test.ts":
    "tests the EMQX 4.4 CLI emulator in sandbox/emulator, which the other integration tests rely on",
  "test/integration/test-packages.test.ts":
    "tests that the packages the tests build (sandbox/package-zip.ts) hold files as EMQX's build writes them, against a real erl",
  "test/unit/ci-summary.test.ts":
    "tests .ci/summarize.js, the verdict of bash .ci/run (skips, test floor, RELIABILITY.md)",
  "test/integration/ssh.test.ts":
    "the SSH transport end to end (connect, session, upload on one real sshd); each of those files also has its mirrored unit test",
  "test/integration/upstream-build.test.ts":
    "tests test/upstream/build.sh, which builds the packages whose CLI is EMQX's own (the pins, the packaging)",
};

/** Directories of test files that belong to no single source by design: the rows of
 * RELIABILITY.md (test/support/reliability.ts), which drive the provider across layers (check, the
 * parsers, create on a real host) and test the report's generator. */
const UNMIRRORED_DIRS: Record<string, string> = {
  "test/unit/reliability/": "RELIABILITY.md rows and its generator",
  "test/integration/reliability/": "RELIABILITY.md rows on real sshd hosts",
  "test/unit/tooling/":
    "the repo's own tooling outside provider/: scripts/check-npm-name.js, the engine output options of sandbox/",
};

/** Test files of one source that sit outside the mirror, and where they belong. Accepted until
 * moved; once moved, the guard asks for the entry to go. */
const MISPLACED_TESTS: Record<string, string> = {};

const TEST_ROOTS = ["test/unit", "test/integration"];

/** Repo-relative paths of the files under `dir` whose names end with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  const abs = path.join(REPO_ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return filesUnder(rel, suffix);
    return e.isFile() && e.name.endsWith(suffix) ? [rel] : [];
  });
}

const sources = filesUnder("provider", ".ts").filter((f) => !f.endsWith(".d.ts"));
const tests = TEST_ROOTS.flatMap((root) => filesUnder(root, ".test.ts"));

/** The source a test file mirrors (`<path>.test.ts` or `<path>.<aspect>.test.ts`), if any. */
function sourceOf(testFile: string): string | undefined {
  const root = TEST_ROOTS.find((r) => testFile.startsWith(`${r}/`)) as string;
  const stem = testFile.slice(root.length + 1, -".test.ts".length);
  const candidates = [stem, stem.replace(/\.[^./]+$/, "")];
  return candidates.map((c) => `provider/${c}.ts`).find((s) => sources.includes(s));
}

/** The mirrored test paths of a source. */
function mirrorsOf(source: string): string[] {
  const stem = source.slice("provider/".length, -".ts".length);
  return TEST_ROOTS.map((root) => `${root}/${stem}.test.ts`);
}

/** Whether the file's top-level statements are all of one kind. */
function holds(source: string, kind: "re-exports only" | "types only"): boolean {
  const text = fs.readFileSync(path.join(REPO_ROOT, source), "utf8");
  const file = ts.createSourceFile(source, text, ts.ScriptTarget.ES2020, true);
  return file.statements.every((s) =>
    kind === "re-exports only"
      ? ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined
      : ts.isInterfaceDeclaration(s) ||
        ts.isTypeAliasDeclaration(s) ||
        (ts.isImportDeclaration(s) && s.importClause?.isTypeOnly === true),
  );
}

test("finds the sources and the tests it guards", () => {
  expect(sources).toContain("provider/pulumi/release-provider.ts");
  expect(tests).toContain("test/unit/layout.test.ts");
});

test("every source file has a test file at its mirrored path", () => {
  const covered = new Set([...tests.map(sourceOf), ...Object.values(MISPLACED_TESTS).map(sourceOf)]);
  const missing = sources
    .filter((s) => !covered.has(s) && !(s in UNTESTED_SOURCES))
    .map((s) => `${s}: no ${mirrorsOf(s).join(" or ")}`);
  expect(missing).toEqual([]);
});

test("every test file belongs to a source that exists", () => {
  const orphans = tests
    .filter(
      (t) =>
        sourceOf(t) === undefined &&
        !(t in UNMIRRORED_TESTS) &&
        !(t in MISPLACED_TESTS) &&
        !Object.keys(UNMIRRORED_DIRS).some((d) => t.startsWith(d)),
    )
    .map(
      (t) =>
        `${t}: no provider/${t.replace(/^test\/(unit|integration)\//, "").replace(/(\.[^./]+)?\.test\.ts$/, ".ts")} (source gone or renamed?)`,
    );
  expect(orphans).toEqual([]);
});

test("every exception still holds: the file exists, is what its reason says, and still needs the exception", () => {
  const stale: string[] = [];
  for (const [source, { kind }] of Object.entries(UNTESTED_SOURCES)) {
    if (!sources.includes(source)) stale.push(`${source}: listed as untested but does not exist`);
    else if (!holds(source, kind))
      stale.push(`${source}: listed as ${kind} but declares more: give it ${mirrorsOf(source)[0]}`);
    else if (tests.some((t) => sourceOf(t) === source))
      stale.push(`${source}: has a test now; drop it from UNTESTED_SOURCES`);
  }
  for (const t of Object.keys(UNMIRRORED_TESTS)) {
    if (!tests.includes(t)) stale.push(`${t}: listed as unmirrored but does not exist`);
    else if (sourceOf(t) !== undefined) stale.push(`${t}: mirrors ${sourceOf(t)}; drop it from UNMIRRORED_TESTS`);
  }
  for (const d of Object.keys(UNMIRRORED_DIRS)) {
    if (!tests.some((t) => t.startsWith(d)))
      stale.push(`${d}: listed as an unmirrored directory but holds no test file: drop it from UNMIRRORED_DIRS`);
  }
  for (const [t, target] of Object.entries(MISPLACED_TESTS)) {
    if (!tests.includes(t))
      stale.push(`${t}: listed as misplaced but does not exist (moved to ${target}?): drop it from MISPLACED_TESTS`);
    else if (sourceOf(target) === undefined) stale.push(`${t}: its mirrored path ${target} names no source`);
  }
  expect(stale).toEqual([]);
});
