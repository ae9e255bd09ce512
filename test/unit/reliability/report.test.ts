// The RELIABILITY.md generator (test/support/reliability-report.ts): rows and jest verdicts in,
// deterministic Markdown out.
import {
  cell,
  corruptionMeasured,
  INSTALL_CHECKS,
  joinRows,
  parseRecords,
  ReliabilityRecord,
  renderReliabilityReport,
  ReportRow,
  secretsMeasured,
  TestOutcome,
  totalsOf,
} from "../../support/reliability-report";

const row = (
  file: string,
  index: number,
  area: ReportRow["area"],
  c: string,
  expected = `${c}: refused`,
): ReliabilityRecord => ({ kind: "row", file, index, area, case: c, expected });
const outcome = (file: string, title: string, status: string, fullName = `table ${title}`): TestOutcome => ({
  file,
  title,
  fullName,
  status,
});

describe("joinRows", () => {
  const records: ReliabilityRecord[] = [
    row("test/b.test.ts", 1, "input", "version 4.4"),
    row("test/a.test.ts", 2, "fault", "disk full"),
    row("test/a.test.ts", 1, "fault", "link drops"),
    {
      kind: "probe",
      file: "test/a.test.ts",
      case: "link drops",
      corruptedFiles: 0,
      filesChecked: ["releases/RELEASES", "bin/"],
    },
    {
      kind: "probe",
      file: "test/a.test.ts",
      case: "link drops",
      corruptedFiles: 2,
      filesChecked: [...INSTALL_CHECKS].reverse(),
      secretsLeaked: 0,
      secretsSearched: ["sudo password", "private key"],
    },
    // Counts without what was checked or searched: shown, never counted as measured.
    {
      kind: "probe",
      file: "test/b.test.ts",
      case: "version 4.4",
      corruptedFiles: 0,
      filesChecked: ["releases/emqx-*<V>*.zip"],
      secretsLeaked: 0,
      secretsSearched: [],
    },
    row("test/b.test.ts", 2, "credentials", "password in a message"),
  ];
  const outcomes = [
    outcome("test/a.test.ts", "link drops", "passed"),
    outcome("test/a.test.ts", "disk full", "failed"),
    outcome("test/b.test.ts", "version 4.4", "passed"),
    outcome("test/c.test.ts", "not a row", "passed"),
  ];

  test("sorts by file then declaration order, takes jest's verdict, sums each probe, and marks a row without a verdict not run", () => {
    expect(
      joinRows(records, outcomes).map((r) => [r.file, r.case, r.result, r.corruptedFiles, r.secretsLeaked]),
    ).toEqual([
      ["test/a.test.ts", "link drops", "passed", 2, 0],
      ["test/a.test.ts", "disk full", "failed", undefined, undefined],
      ["test/b.test.ts", "version 4.4", "passed", 0, 0],
      ["test/b.test.ts", "password in a message", "not run", undefined, undefined],
    ]);
  });

  test("joins what each probe checked and searched, in a fixed order", () => {
    const [linkDrops] = joinRows(records, outcomes);
    expect(linkDrops.filesChecked).toEqual([...INSTALL_CHECKS]);
    expect(linkDrops.secretsSearched).toEqual(["private key", "sudo password"]);
  });

  test("counts a row as measured only when it checked the whole install, or searched for a credential it carries", () => {
    const [linkDrops, , version] = joinRows(records, outcomes);
    expect([corruptionMeasured(linkDrops), secretsMeasured(linkDrops)]).toEqual([true, true]);
    expect([corruptionMeasured(version), secretsMeasured(version)]).toEqual([false, false]);
    // The first probe alone (RELEASES and bin/ only) is not a measurement of corruption either.
    expect(corruptionMeasured({ corruptedFiles: 0, filesChecked: ["releases/RELEASES", "bin/"] })).toBe(false);
  });

  test("gives the same report whatever order the record files were read in", () => {
    const a = renderReliabilityReport(joinRows(records, outcomes));
    const b = renderReliabilityReport(joinRows([...records].reverse(), [...outcomes].reverse()));
    expect(b).toBe(a);
  });

  test("counts failed and unrun rows against the totals, and faults survived only when passed", () => {
    expect(totalsOf(joinRows(records, outcomes))).toEqual({
      casesTried: 4,
      passed: 2,
      failed: 1,
      notRun: 1,
      faults: 2,
      faultsSurvived: 1,
      filesCorrupted: 2,
      filesCorruptedMeasuredIn: 1,
      secretsLeaked: 0,
      secretsLeakedMeasuredIn: 1,
    });
  });

  test("leaves a found leak or corruption out of the totals when the row did not measure it", () => {
    const unmeasured: ReliabilityRecord[] = [
      row("t.ts", 1, "fault", "f"),
      { kind: "probe", file: "t.ts", case: "f", corruptedFiles: 3, filesChecked: ["bin/"], secretsLeaked: 1 },
    ];
    expect(totalsOf(joinRows(unmeasured, [outcome("t.ts", "f", "passed")]))).toMatchObject({
      filesCorrupted: 0,
      filesCorruptedMeasuredIn: 0,
      secretsLeaked: 0,
      secretsLeakedMeasuredIn: 0,
    });
  });
});

describe("renderReliabilityReport", () => {
  const rows = joinRows(
    [
      row("test/x.test.ts", 1, "host-identity", "pinned hostKey mismatch", "SshConnectError stage host-key"),
      row("test/x.test.ts", 2, "input", "version `4.4.16|reboot`"),
      row("test/x.test.ts", 3, "input", "connection a string"),
      {
        kind: "probe",
        file: "test/x.test.ts",
        case: "pinned hostKey mismatch",
        secretsLeaked: 0,
        secretsSearched: ["private key", "key passphrase"],
      },
      {
        kind: "probe",
        file: "test/x.test.ts",
        case: "connection a string",
        secretsLeaked: 0,
        secretsSearched: [],
        corruptedFiles: 0,
        filesChecked: ["releases/RELEASES"],
      },
    ],
    [
      outcome("test/x.test.ts", "pinned hostKey mismatch", "passed", "host key pinned hostKey mismatch"),
      outcome("test/x.test.ts", "version `4.4.16|reboot`", "passed"),
      outcome("test/x.test.ts", "connection a string", "passed"),
    ],
  );
  const text = renderReliabilityReport(rows);

  test("has the totals, one section per area in a fixed order, and a table row per case with file, full name and result", () => {
    expect(text).toContain(
      "| cases tried | 3 |\n| passed | 3 |\n| failed | 0 |\n| faults survived | 0 of 0 |\n" +
        "| files corrupted | 0 (measured in 0 rows, each checking the whole install) |\n" +
        "| secrets leaked | 0 (measured in 1 rows, each searching for the credentials it carries) |",
    );
    const sections = text.split("\n").filter((l) => l.startsWith("## "));
    expect(sections).toEqual([
      "## Totals",
      "## Faults (0 rows, 0 passed)",
      "## Hostile and malformed input (2 rows, 2 passed)",
      "## Credentials (0 rows, 0 passed)",
      "## Host identity (1 rows, 1 passed)",
    ]);
    expect(text).toContain(
      "| pinned hostKey mismatch | SshConnectError stage host-key | test/x.test.ts › host key pinned hostKey mismatch | passed (0 secrets leaked, searched: key passphrase, private key) |",
    );
    expect(text).toContain(
      "| connection a string | connection a string: refused | test/x.test.ts › table connection a string | passed (corruption not measured: checked only releases/RELEASES; leaks not measured: carries no secret) |",
    );
    expect(text).toContain("| version `4.4.16\\|reboot` | version `4.4.16\\|reboot`: refused |");
  });

  test("says how to regenerate it and contains no timing or run id", () => {
    expect(text).toContain("Regenerate: `EMQX_RELIABILITY_UPDATE=1 npm test`, then commit `RELIABILITY.md`.");
    expect(text).not.toMatch(/\d+ ?ms\b|\d{4}-\d{2}-\d{2}T/);
  });
});

describe("cell", () => {
  test.each([
    ["a|b", "a\\|b"],
    ["line\r\nnext\nlast", "line next last"],
    ["<script>", "&lt;script&gt;"],
    ["esc \u001b[31m", "esc \\x1b[31m"],
    ["back\\slash", "back\\\\slash"],
  ])("keeps %j on one table cell as %j", (input, expected) => {
    expect(cell(input)).toBe(expected);
  });
});

describe("parseRecords", () => {
  test("reads JSON lines and skips blank ones", () => {
    expect(parseRecords(`${JSON.stringify(row("f", 1, "input", "c"))}\n\n`, "x.jsonl")).toHaveLength(1);
  });
  test("fails naming the file and line for a line that is not a record", () => {
    expect(() => parseRecords(`${JSON.stringify(row("f", 1, "input", "c"))}\n{"kind":"other"}\n`, "x.jsonl")).toThrow(
      /^x\.jsonl:2: not a reliability record/,
    );
  });
});
