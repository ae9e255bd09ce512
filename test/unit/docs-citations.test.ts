// Citations of facts point into docs/ and resolve there. Comments and docs cite what the code relies on
// as `docs/<file>.md §N` (or `Appendix X`); this guard fails when a citation
//   - uses the old form `ref §N` / `reference §N` / `pulumi ref §N`, or a `§N` with no docs/ file before it,
//   - names a docs/ file that does not exist, or a section that file has no heading for
//     (`## 2.`, `### 2.5`, `## Appendix A`; a range `§2.4-2.6` needs both ends),
//   - points outside the repository: `../shared`, an absolute /work/ path, or a capture by its number
//     (`transcript A89`). Tools taken from ../shared at
//     build or test time are allowed by their exact path below, each with its reason.
// Inside docs/, a bare `§N` refers to the file itself.
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../sandbox/engine";

/** What is scanned: every text file under these paths. */
const SCANNED = ["provider", "sandbox", "test", "bench", "examples", "scripts", ".ci", "README.md", "docs"];

/** Paths not scanned, with the reason. */
const NOT_SCANNED: Record<string, string> = {
  "test/fixtures/": "verbatim captures of EMQX and engine output: data, not citations",
  "test/unit/docs-citations.test.ts": "this guard: its table holds bad citations on purpose",
};

/** The only paths outside the repository a file may name: tools taken at build or test time, never facts. */
const ALLOWED_OUTSIDE: Record<string, string> = {
  "../shared/tools/pulumi":
    "the prebuilt Node language host (pulumi-language-nodejs) scripts/ensure-pulumi.sh takes, pinned by sha256",
  "../shared/emqx-upstream":
    "EMQX's own 4.4 scripts that test/upstream builds packages from at test time, pinned by sha256, never committed",
};

/** Section ids of a docs page: `## 2. Title` -> "2", `### 2.5 Title` -> "2.5", `## Appendix A. ...` -> "Appendix A". */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  for (const line of markdown.split("\n")) {
    const m = /^#{2,4}\s+(?:(\d+(?:\.\d+)*)\.?(?:\s|$)|(Appendix [A-Z])\b)/.exec(line);
    if (m) ids.add(m[1] ?? m[2]);
  }
  return ids;
}

const DOC_PATH = /(?<![\w/.-])docs\/([\w.-]+\.md)/g;
const SECTION = /§(\d+(?:\.\d+)*)(?:\s*-\s*(\d+(?:\.\d+)*))?|\b(Appendix [A-Z])\b/g;
const OLD_FORM = /\b(?:pulumi )?(?:ref|reference) (?:§|Appendix [A-Z]\b)/g;
const CAPTURE = /\b(?:real )?(?:transcripts?|captures?) A\d{2,3}\b/g;
const OUTSIDE = /\.\.\/shared\b|(?<![\w.~-])\/work\//g;

/** Problems in one file's text. `docs` maps a docs/ file name to its section ids. */
function citationProblems(file: string, text: string, docs: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const selfDoc = file.startsWith("docs/") ? path.basename(file) : undefined;
  let docAbove: string | undefined; // the last docs/ file named on the previous line
  text.split("\n").forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const oldForms = [...line.matchAll(OLD_FORM)];
    for (const m of oldForms) {
      const form = m[0].includes("§") ? "§N" : "Appendix X";
      problems.push(`${where}: "${m[0]}" names no file; cite docs/<file>.md ${form}`);
    }
    const docsOnLine = [...line.matchAll(DOC_PATH)].map((m) => ({ name: m[1], at: m.index }));
    for (const d of docsOnLine) {
      if (!docs.has(d.name))
        problems.push(`${where}: docs/${d.name} does not exist (docs/ has ${[...docs.keys()].join(", ")})`);
    }
    for (const s of line.matchAll(SECTION)) {
      if (oldForms.some((m) => m.index <= s.index && s.index < m.index + m[0].length)) continue; // reported above
      const doc =
        docsOnLine.filter((d) => d.at < s.index).pop()?.name ??
        (docsOnLine.length === 0 ? docAbove : undefined) ??
        selfDoc;
      if (doc === undefined) {
        problems.push(`${where}: "${s[0]}" cites no docs/ file; write docs/<file>.md ${s[0]}`);
        continue;
      }
      const ids = docs.get(doc);
      if (ids === undefined) continue; // the missing file is reported once, above
      const cited = s[3] !== undefined ? [s[3]] : [s[1], s[2]].filter((x): x is string => x !== undefined);
      for (const id of cited.filter((c) => !ids.has(c))) {
        problems.push(`${where}: docs/${doc} has no section ${id.startsWith("Appendix") ? id : `§${id}`}`);
      }
    }
    for (const m of line.matchAll(CAPTURE)) {
      problems.push(
        `${where}: "${m[0]}" names a capture outside the repository; cite docs/ or its copy under test/fixtures`,
      );
    }
    for (const m of line.matchAll(OUTSIDE)) {
      const rest = line.slice(m.index);
      if (Object.keys(ALLOWED_OUTSIDE).some((p) => rest.startsWith(p))) continue;
      problems.push(`${where}: "${rest.slice(0, 60)}" points outside the repository; cite docs/ (facts live there)`);
    }
    docAbove = docsOnLine.pop()?.name;
  });
  return problems;
}

/** Repo-relative paths of the text files under `rel` (a file or a directory). */
function textFiles(rel: string): string[] {
  const abs = path.join(REPO_ROOT, rel);
  if (!fs.existsSync(abs)) return [];
  if (Object.keys(NOT_SCANNED).some((p) => rel === p || rel.startsWith(p))) return [];
  const st = fs.statSync(abs);
  if (st.isDirectory()) {
    if (["node_modules", "dist", ".git"].includes(path.basename(rel))) return [];
    return fs.readdirSync(abs).flatMap((n) => textFiles(`${rel}/${n}`));
  }
  if (!st.isFile() || st.size > 2_000_000) return [];
  return fs.readFileSync(abs).includes(0) ? [] : [rel];
}

function docsSections(): Map<string, Set<string>> {
  const dir = path.join(REPO_ROOT, "docs");
  return new Map(
    fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".md"))
      .map((n) => [n, headingIds(fs.readFileSync(path.join(dir, n), "utf8"))]),
  );
}

const DOCS = new Map([
  ["emqx.md", new Set(["1", "1.1", "1.3", "2", "2.4", "2.5", "2.6", "5", "5.2", "Appendix A", "Appendix B"])],
  ["pulumi.md", new Set(["1.3", "6.3"])],
]);

// [name, file, text, fragments each expected problem contains (none: the text is fine)]
const ROWS: Array<[string, string, string, string[]]> = [
  ["accepts a cited section", "provider/a.ts", "// quoted (docs/emqx.md §1.3).", []],
  [
    "accepts a list and a range after one docs/ file",
    "provider/a.ts",
    "// (docs/emqx.md §2.4-2.6, §5.2; Appendix B 10)",
    [],
  ],
  ["accepts a section on the line after its docs/ file", "provider/a.ts", "// the (docs/emqx.md\n// §2.5) link", []],
  [
    "accepts a bare section inside docs/, against the page itself",
    "docs/emqx.md",
    "## 1. x\nsee §2.5 and Appendix A",
    [],
  ],
  [
    "accepts the allow-listed tool paths",
    "scripts/x.sh",
    'host="$repo/../shared/tools/pulumi"\nup=../shared/emqx-upstream',
    [],
  ],
  ["fails on the old form ref §", "provider/a.ts", "// quoted (ref §1.3).", ['"ref §" names no file']],
  ["fails on pulumi ref §", "provider/a.ts", "// never throws (pulumi ref §1.3).", ['"pulumi ref §" names no file']],
  ["fails on reference §", "test/otp/x.erl", "%% (reference §2.1).", ['"reference §" names no file']],
  ["fails on ref Appendix", "provider/a.ts", "// (ref Appendix B items 2, 4-6)", ['"ref Appendix B" names no file']],
  [
    "fails on a § naming another document",
    "provider/a.ts",
    "// Names follow (rollout-anchors §5).",
    ['"§5" cites no docs/ file'],
  ],
  [
    "fails on a docs/ file that does not exist",
    "provider/a.ts",
    "// (docs/emqx-4.3.md §1.3)",
    ["docs/emqx-4.3.md does not exist"],
  ],
  [
    "fails on a section the page lacks",
    "provider/a.ts",
    "// (docs/emqx.md §2.9)",
    ["docs/emqx.md has no section §2.9"],
  ],
  ["fails on a range whose end the page lacks", "provider/a.ts", "// (docs/emqx.md §2.4-2.7)", ["no section §2.7"]],
  [
    "fails on a section of the wrong page",
    "provider/a.ts",
    "// (docs/pulumi.md §2.5)",
    ["docs/pulumi.md has no section §2.5"],
  ],
  [
    "fails on an appendix the page lacks",
    "provider/a.ts",
    "// (docs/emqx.md Appendix C)",
    ["has no section Appendix C"],
  ],
  [
    "fails on a bare section inside docs/ the page lacks",
    "docs/emqx.md",
    "see §3.1",
    ["docs/emqx.md has no section §3.1"],
  ],
  [
    "fails on a section two lines after its docs/ file",
    "provider/a.ts",
    "// (docs/emqx.md\n\n// §2.5)",
    ['"§2.5" cites no docs/'],
  ],
  [
    "fails on ../shared/reference as a source",
    "sandbox/a.js",
    "// faithful to ../shared/reference/emqx.md",
    ["points outside the repository"],
  ],
  [
    "fails on an absolute /work/ path",
    "test/a.ts",
    "// (/work/shared/reference/emqx-4.4-hot-upgrade.md)",
    ["points outside"],
  ],
  [
    "fails on a capture cited by its number",
    "test/a.ts",
    "// what it left (transcripts A89, A93)",
    ["transcripts A89"],
  ],
  ["fails on a real capture cited by its number", "provider/a.ts", "// (real capture A13)", ["real capture A13"]],
  [
    "fails on ../shared/tools beyond the allowed tool",
    "README.md",
    "see ../shared/tools/go for it",
    ["points outside"],
  ],
];

describe("citationProblems", () => {
  test.each(ROWS)("%s", (_name, file, text, expected) => {
    const problems = citationProblems(file, text, DOCS);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((fragment, i) => expect(problems[i]).toContain(fragment));
  });
});

describe("headingIds", () => {
  test("reads numbered and appendix headings, not numbered list items or body text", () => {
    const md = "# T\n## Corrections\n1. one\n## 1. One\n### 1.1 Sub\n#### 5.10 Deep\n## Appendix A. Model\ntext ## 9.";
    expect([...headingIds(md)].sort()).toEqual(["1", "1.1", "5.10", "Appendix A"]);
  });
});

describe("the repository", () => {
  const docs = docsSections();

  test("the EMQX page keeps the section numbers the code cites", () => {
    const ids = docs.get("emqx-4.4-hot-upgrade.md");
    const wanted = ["1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "3", "3.1"];
    wanted.push("3.2", "3.3", "3.4", "4", "5", "5.1", "5.16", "6", "Appendix A", "Appendix B");
    expect(ids && wanted.filter((id) => !ids.has(id))).toEqual([]);
  });

  test("every citation in code, tests, scripts, README and docs resolves into docs/", () => {
    const files = SCANNED.flatMap(textFiles);
    expect(files.length).toBeGreaterThan(100);
    const problems = files.flatMap((f) => citationProblems(f, fs.readFileSync(path.join(REPO_ROOT, f), "utf8"), docs));
    expect(problems).toEqual([]);
  });
});
