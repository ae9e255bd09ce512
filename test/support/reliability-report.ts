// RELIABILITY.md from the records of one test run: pure (no I/O), so the jest reporter
// (reliability-reporter.ts) and its unit test share it. It imports nothing: the reporter loads it
// outside jest's transform (see reliability-reporter-shim.js).

/** Which table of RELIABILITY.md a row belongs to. */
export type ReliabilityArea = "fault" | "input" | "credentials" | "host-identity";

/** One row as a test declares it: what is done to the provider and what must happen. */
export interface ReliabilityRow {
  area: ReliabilityArea;
  /** The fault or input, e.g. `version "4.4.16;reboot"`. Also the jest test's name. */
  case: string;
  /** The expected outcome, e.g. `check: InvalidInputError on version, "not an EMQX version"; no command ran`. */
  expected: string;
}

/** Environment variable holding the directory where this run's records go (set by the reporter
 * before any worker starts; workers inherit it). */
export const RUN_DIR_ENV = "EMQX_RELIABILITY_RUN_DIR";
/** `1`: a full run rewrites RELIABILITY.md without counting a difference as a failure (like `jest -u`). */
export const UPDATE_ENV = "EMQX_RELIABILITY_UPDATE";
/** When set, the reporter also writes its verdict (JSON) to this file; `.ci/run` reads it. */
export const VERDICT_ENV = "EMQX_RELIABILITY_VERDICT";

/** Records of one run, one JSON object per line in `<run dir>/<pid>.jsonl`. */
export type ReliabilityRecord =
  /** Written when the test file declares the row (collection), so a row whose test never ran still shows. */
  | ({ kind: "row"; file: string; index: number } & ReliabilityRow)
  /** Written when the row's test ends, if it measured anything through its probe: how many files it
   * found corrupted and which install files it checked; how many secrets it found and which of the
   * credentials it carries it searched for. */
  | ({ kind: "probe"; file: string; case: string } & Measured);

/** What a row measured. A count without what was checked or searched is not a measurement. */
export interface Measured {
  corruptedFiles?: number;
  filesChecked?: string[];
  secretsLeaked?: number;
  secretsSearched?: string[];
}

/** The install files a row must check for "files corrupted" to count as measured (what each
 * means: sandbox/install-check.ts). */
export const INSTALL_CHECKS: readonly string[] = [
  "releases/emqx-*<V>*.zip",
  "releases/RELEASES",
  "releases/start_erl.data",
  "releases/emqx_vars",
  "bin/",
];

/** Whether the row checked every install file (INSTALL_CHECKS). */
export function corruptionMeasured(r: Measured): boolean {
  return r.corruptedFiles !== undefined && INSTALL_CHECKS.every((c) => r.filesChecked?.includes(c));
}

/** Whether the row searched for at least one credential it carries. */
export function secretsMeasured(r: Measured): boolean {
  return r.secretsLeaked !== undefined && (r.secretsSearched?.length ?? 0) > 0;
}

/** What jest says about one test: its file (repo-relative), title, full name and status. */
export interface TestOutcome {
  file: string;
  title: string;
  fullName: string;
  status: string;
}

/** One row of the report. `result` is jest's verdict on the row's test. */
export interface ReportRow extends ReliabilityRow, Measured {
  file: string;
  fullName: string;
  result: "passed" | "failed" | "not run";
}

/** The areas in report order, with their section titles and first-column headers. */
export const AREAS: ReadonlyArray<{ area: ReliabilityArea; title: string; column: string }> = [
  { area: "fault", title: "Faults", column: "fault" },
  { area: "input", title: "Hostile and malformed input", column: "input" },
  { area: "credentials", title: "Credentials", column: "case" },
  { area: "host-identity", title: "Host identity", column: "case" },
];

/** Parses the JSONL text of record files; a line that is not a record is an error naming it. */
export function parseRecords(text: string, source: string): ReliabilityRecord[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line, i) => {
      const r = JSON.parse(line) as ReliabilityRecord;
      if (r.kind !== "row" && r.kind !== "probe")
        throw new Error(`${source}:${i + 1}: not a reliability record: ${line.slice(0, 120)}`);
      return r;
    });
}

/** Joins declared rows with jest's outcomes and the probes' counts, sorted by file, then by
 * declaration order. A declared row without a passed or failed test is "not run". */
export function joinRows(records: ReliabilityRecord[], outcomes: TestOutcome[]): ReportRow[] {
  const key = (file: string, title: string) => `${file}\u0000${title}`;
  const outcome = new Map(outcomes.map((o) => [key(o.file, o.title), o]));
  const probes = new Map<string, Measured>();
  const union = (a: string[] | undefined, b: string[] | undefined) =>
    a || b ? [...new Set([...(a ?? []), ...(b ?? [])])] : undefined;
  for (const r of records) {
    if (r.kind !== "probe") continue;
    const p = probes.get(key(r.file, r.case)) ?? {};
    if (r.corruptedFiles !== undefined) p.corruptedFiles = (p.corruptedFiles ?? 0) + r.corruptedFiles;
    if (r.secretsLeaked !== undefined) p.secretsLeaked = (p.secretsLeaked ?? 0) + r.secretsLeaked;
    const checked = union(p.filesChecked, r.filesChecked);
    const searched = union(p.secretsSearched, r.secretsSearched);
    if (checked)
      p.filesChecked = INSTALL_CHECKS.filter((c) => checked.includes(c)).concat(
        checked.filter((c) => !INSTALL_CHECKS.includes(c)).sort(),
      );
    if (searched) p.secretsSearched = searched.sort();
    probes.set(key(r.file, r.case), p);
  }
  const declared = new Map<string, Extract<ReliabilityRecord, { kind: "row" }>>();
  for (const r of records) if (r.kind === "row") declared.set(key(r.file, r.case), r);
  return [...declared.values()]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.index - b.index))
    .map((r) => {
      const o = outcome.get(key(r.file, r.case));
      const result = o?.status === "passed" ? "passed" : o?.status === "failed" ? "failed" : "not run";
      return {
        area: r.area,
        case: r.case,
        expected: r.expected,
        file: r.file,
        fullName: o?.fullName ?? r.case,
        result,
        ...probes.get(key(r.file, r.case)),
      };
    });
}

/** The totals line items: every row counts as a case tried; a failed or unrun row is not passed. */
export function totalsOf(rows: ReportRow[]) {
  // Only measurements count: a row that found 0 without checking the install or searching for a
  // credential it carries adds nothing to either figure.
  const corruption = rows.filter(corruptionMeasured);
  const secrets = rows.filter(secretsMeasured);
  const faults = rows.filter((r) => r.area === "fault");
  return {
    casesTried: rows.length,
    passed: rows.filter((r) => r.result === "passed").length,
    failed: rows.filter((r) => r.result === "failed").length,
    notRun: rows.filter((r) => r.result === "not run").length,
    faults: faults.length,
    faultsSurvived: faults.filter((r) => r.result === "passed").length,
    filesCorrupted: corruption.reduce((n, r) => n + (r.corruptedFiles ?? 0), 0),
    filesCorruptedMeasuredIn: corruption.length,
    secretsLeaked: secrets.reduce((n, r) => n + (r.secretsLeaked ?? 0), 0),
    secretsLeakedMeasuredIn: secrets.length,
  };
}

/** A table cell: one line, pipes escaped, characters that Markdown or HTML would eat made visible. */
export function cell(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, " ")
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

const HEADER = `# Reliability

<!-- Generated by the test run. Do not edit: run the command below and commit the result. -->

Every row below is a jest test that \`npm test\` (and so \`bash .ci/run\`) runs: a fault injected into an
upgrade, a hostile or malformed input, a credential that must stay secret, or a host-identity rule,
with the outcome the test asserts and the test's own verdict from the run that wrote this file.
Tests declare their rows with \`reliabilityTest\`/\`reliabilityEach\` (test/support/reliability.ts); a
jest reporter (test/support/reliability-reporter.ts) collects them and writes this file after a run
of the whole suite (all three projects, no path or name filter). A partial run writes its report
under \`.reliability/<run>/\` instead. The file is checked like a snapshot: when a full run produces
a different text than the committed \`RELIABILITY.md\`, the run fails (\`npm test\` exits non-zero and
\`.ci/run\` counts one failed test) until the new text is committed.

Regenerate: \`EMQX_RELIABILITY_UPDATE=1 npm test\`, then commit \`RELIABILITY.md\`.

"Files corrupted" and "secrets leaked" are what the rows measured (the count and how many rows
measured it), not assumed. A row measures corruption when it checks the whole install against what
EMQX itself leaves: every zip EMQX's glob \`releases/emqx-*<V>*.zip\` matches is the package;
\`releases/RELEASES\` parses and lists exactly what \`emqx versions\` lists; \`start_erl.data\` names
the permanent release; the last \`REL_VSN\` of \`emqx_vars\` is the permanent; each \`bin/<f>\` equals
\`bin/<f>-<permanent>\` (sandbox/install-check.ts). A row measures leaks when it searches its
error, logs and outputs for the credentials it really carries (slices of its private key's body, its
passwords and passphrases, named in its result); a row that carries none measures nothing.
`;

/** The whole of RELIABILITY.md for these rows: deterministic (no timings, no run ids). */
export function renderReliabilityReport(rows: ReportRow[]): string {
  const t = totalsOf(rows);
  const out: string[] = [HEADER, "## Totals", "", "| | |", "|---|---|"];
  out.push(`| cases tried | ${t.casesTried} |`);
  out.push(`| passed | ${t.passed} |`);
  out.push(`| failed | ${t.failed} |`);
  if (t.notRun > 0) out.push(`| not run | ${t.notRun} |`);
  out.push(`| faults survived | ${t.faultsSurvived} of ${t.faults} |`);
  out.push(
    `| files corrupted | ${t.filesCorrupted} (measured in ${t.filesCorruptedMeasuredIn} rows, each checking the whole install) |`,
  );
  out.push(
    `| secrets leaked | ${t.secretsLeaked} (measured in ${t.secretsLeakedMeasuredIn} rows, each searching for the credentials it carries) |`,
  );
  for (const { area, title, column } of AREAS) {
    const inArea = rows.filter((r) => r.area === area);
    const passed = inArea.filter((r) => r.result === "passed").length;
    out.push("", `## ${title} (${inArea.length} rows, ${passed} passed)`, "");
    if (inArea.length === 0) {
      out.push("No rows yet.");
      continue;
    }
    out.push(`| ${column} | expected outcome | test | result |`, "|---|---|---|---|");
    for (const r of inArea)
      out.push(`| ${cell(r.case)} | ${cell(r.expected)} | ${cell(`${r.file} › ${r.fullName}`)} | ${resultCell(r)} |`);
  }
  return `${out.join("\n")}\n`;
}

function resultCell(r: ReportRow): string {
  const measured: string[] = [];
  if (corruptionMeasured(r)) measured.push(`${r.corruptedFiles} files corrupted`);
  else if (r.corruptedFiles !== undefined)
    measured.push(`corruption not measured: checked only ${(r.filesChecked ?? []).join(", ") || "nothing"}`);
  if (secretsMeasured(r))
    measured.push(`${r.secretsLeaked} secrets leaked, searched: ${(r.secretsSearched ?? []).join(", ")}`);
  else if (r.secretsLeaked !== undefined) measured.push("leaks not measured: carries no secret");
  return measured.length ? `${r.result} (${measured.join("; ")})` : r.result;
}
