// provider/plan/plan-summary.ts on real `pulumi preview --json` documents, captured from
// examples/ci-rollout's preview-plan.sh on the real CLI (test/e2e/ci-rollout-example.test.ts): two
// hosts n1, n2 in cluster "a", a canary then one batch. `create`: nodes new to the stack;
// `update`: the next version after up recorded 4.4.16; `refused`: version 4.3.16, which the first
// node's check and the fleet's own check refuse.
import * as fs from "fs";
import * as path from "path";
import { PlanSummaryInputError, readPreview, renderPlanSummary } from "../../../provider/plan/plan-summary";

const FIXTURES = path.join(__dirname, "..", "..", "fixtures", "preview-json");
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));

describe("renderPlanSummary on real previews", () => {
  test("nodes new to the stack: host and address, cluster, batch from the gates, `?` until up reads them", () => {
    expect(renderPlanSummary(fixture("ci-rollout-create"))).toBe(
      [
        "### EMQX rollout plan",
        "",
        "| host | cluster | batch | from -> to | refusals |",
        "|---|---|---|---|---|",
        "| n1 (127.0.0.61:40761) | a | 1 | ? -> 4.4.16 |  |",
        "| n2 (127.0.0.62:43647) | a | 2 | ? -> 4.4.16 |  |",
        "",
        "`?`: a node new to the stack; `pulumi up` reads what it runs before upgrading it.",
        "",
        "Resources: 6 to create.",
        "",
      ].join("\n"),
    );
  });

  test("the next version: from is what the state recorded for each node", () => {
    const md = renderPlanSummary(fixture("ci-rollout-update"), "Plan for `prod`");
    expect(md.split("\n").slice(0, 6)).toEqual([
      "### Plan for `prod`",
      "",
      "| host | cluster | batch | from -> to | refusals |",
      "|---|---|---|---|---|",
      "| n1 (127.0.0.61:40761) | a | 1 | 4.4.16 -> 4.4.17 |  |",
      "| n2 (127.0.0.62:43647) | a | 2 | 4.4.16 -> 4.4.17 |  |",
    ]);
    expect(md).toContain("Resources: 4 to update, 2 unchanged.");
    expect(md).not.toContain("`?`");
  });

  test("a refused version: the checked node's row carries its refusals, the fleet's lines follow, no counts", () => {
    const md = renderPlanSummary(fixture("ci-rollout-refused"));
    expect(md).toContain(
      '| emqx-n1 |  |  | refused | EmqxRelease manages EMQX 4.4 only; 4.3.16 is not a 4.4 patch version; emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip is the package of EMQX 4.4.16, but version is "4.3.16": point packagePath at the 4.3.16 package or change version |',
    );
    expect(md).toContain("**Refused**: the preview failed (1 node refused); nothing was planned or changed.");
    expect(md).toContain(
      "- EmqxFleet emqx: version (all 2 hosts): EmqxRelease manages EMQX 4.4 only; 4.3.16 is not a 4.4 patch version",
    );
    expect(md).not.toContain("Resources:");
  });

  test("never prints a secret value: the key reads [secret] in the document and is not in the table", () => {
    const doc = fixture("ci-rollout-create");
    expect(JSON.stringify(doc)).toContain('"privateKey":"[secret]"');
    expect(renderPlanSummary(doc)).not.toContain("secret");
  });
});

describe("readPreview on edited copies", () => {
  const RELEASE = "urn:pulumi:prod::p::emqx:index:EmqxFleet$pulumi-nodejs:dynamic/emqx:EmqxRelease::emqx-n1";
  const step = (op: string, extra: Record<string, unknown>) => ({ op, urn: RELEASE, ...extra });

  // Row: [op, oldState outputs, newState inputs, the from -> to cell].
  const ops: Array<[string, Record<string, unknown> | undefined, Record<string, unknown> | undefined, string]> = [
    ["same", { currentVersion: "4.4.16" }, { version: "4.4.16", connection: { host: "h" } }, "4.4.16 (unchanged)"],
    ["delete", { currentVersion: "4.4.16" }, undefined, "4.4.16 (leaves the stack; the node keeps running it)"],
    [
      "replace",
      { currentVersion: "4.4.16" },
      { version: "4.4.16", connection: { host: "h2" } },
      "4.4.16 -> 4.4.16 (replace)",
    ],
    [
      "create",
      undefined,
      { version: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", connection: { host: "h" } },
      "? -> (known at up)",
    ],
  ];
  test.each(ops)("a %s step", (op, outputs, inputs, cell) => {
    const doc = {
      steps: [
        step(op, {
          oldState: outputs ? { outputs, inputs: { connection: { host: "h" } } } : undefined,
          newState: inputs ? { inputs } : undefined,
        }),
      ],
    };
    expect(renderPlanSummary(doc)).toContain(`| ${cell} |`);
  });

  test("port 22 is left out of the address; a | in a refusal is escaped so the row stays one row", () => {
    const doc = {
      steps: [
        step("create", { newState: { inputs: { version: "4.4.16", connection: { host: "10.0.0.7", port: 22 } } } }),
      ],
      diagnostics: [{ urn: RELEASE, severity: "error", message: "error: a | b\nc" }],
    };
    expect(renderPlanSummary(doc)).toContain("| emqx-n1 (10.0.0.7) |  |  | ? -> 4.4.16 | a \\| b c |");
  });

  test("warnings and info lines are not refusals", () => {
    const doc = {
      steps: [],
      diagnostics: [
        { severity: "warning", message: "w" },
        { severity: "info", message: "i" },
      ],
    };
    expect(readPreview(doc)).toEqual({ rows: [], otherErrors: [], changeSummary: {} });
    expect(renderPlanSummary(doc)).toContain("No EMQX node in this preview.");
  });

  test.each([[null], [[]], [{ resources: [] }], ["preview"]])("refuses %j: not a preview document", (doc) => {
    expect(() => renderPlanSummary(doc)).toThrow(PlanSummaryInputError);
    expect(() => renderPlanSummary(doc)).toThrow("the input is not the JSON document `pulumi preview --json` prints");
  });
});
