// parseEmqxVars: releases/emqx_vars is appended to by every permafy, so the last assignment wins.
import * as fs from "fs";
import * as path from "path";
import { parseEmqxVars } from "../../../provider/emqx/parse-emqx-vars";
import { realOutput } from "../../support/real-output";
import { expectNotSuperlinear } from "../../support/linear-time";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");

test("the last assignment wins and the REL_VSN history is kept", () => {
  const r = parseEmqxVars(fixture("4.4.16/emqx_vars-after-downgrade.txt"));
  expect(r.vars.REL_VSN).toBe("4.4.0");
  expect(r.vars.ERTS_VSN).toBe("12.1.5");
  expect(r.relVsnHistory).toEqual(["4.4.16", "4.4.0"]);
});

test("reads emqx_vars as EMQX 4.4.16's template renders it after permafy appended three times (captured from EMQX's own scripts)", () => {
  const text = fixture("4.4.16/emqx_vars-real-upgrade-downgrade-install.txt");
  for (const file of [text, text.replace(/\n$/, "")]) {
    const r = parseEmqxVars(file);
    expect(r.relVsnHistory).toEqual(["4.4.16", "4.4.17", "4.4.16", "4.4.17"]);
    expect(r.vars).toMatchObject({
      REL_VSN: "4.4.17",
      ERTS_VSN: "13.1.5",
      RUNNER_USER: "",
      EMQX_DESCRIPTION: "EMQX Broker",
      RUNNER_DATA_DIR: "$RUNNER_ROOT_DIR/data",
    });
  }
});

test("reads quoted, single-quoted and bare values and skips other lines", () => {
  expect(
    parseEmqxVars("RUNNER_USER=emqx\nEMQX_DESCRIPTION='EMQX Enterprise'\nif [ x ]; then\nREL_VSN=\"4.4.1\" # note\n")
      .vars,
  ).toEqual({ RUNNER_USER: "emqx", EMQX_DESCRIPTION: "EMQX Enterprise", REL_VSN: "4.4.1" });
});

// Row: [case, text, expected vars]
const ROWS: [string, string, Record<string, string>][] = [
  [
    "CRLF line ends and indentation",
    '  REL_VSN="4.4.2"\r\nERTS_VSN="12.1.5"\r\n',
    { REL_VSN: "4.4.2", ERTS_VSN: "12.1.5" },
  ],
  ["an empty value", 'RUNNER_USER=""\n', { RUNNER_USER: "" }],
  ["skips lower-case names and command substitutions", 'rel_vsn="1"\nX=$(id -u)\n', {}],
  // bin/emqx sources the file, so an exported assignment is in force too (4.4.0-4.4.2's template, B41 below).
  ["reads an exported assignment", "export EMQX_DESCRIPTION='EMQ X Broker'\n", { EMQX_DESCRIPTION: "EMQ X Broker" }],
  ["skips an unterminated quote", 'REL_VSN="4.4.5\nERTS_VSN="12.3.2.2"\n', { ERTS_VSN: "12.3.2.2" }],
];
test.each(ROWS)("%s", (_name, text, expected) => {
  expect(parseEmqxVars(text).vars).toEqual(expected);
});

test("reads megabytes of text quickly", () => {
  const start = Date.now();
  parseEmqxVars("A".repeat(64) + "=" + '"'.repeat(2_000_000));
  parseEmqxVars('X="' + "a".repeat(3_000_000));
  parseEmqxVars("X=a" + " ".repeat(2_000_000) + "b");
  expectNotSuperlinear(start);
});

describe("what EMQX's real scripts printed (test/fixtures/real-4.4, `cat releases/emqx_vars`)", () => {
  test("A41 (4.4.16's template, then upgrade, downgrade, install): the last REL_VSN is in force", () => {
    const { vars, relVsnHistory } = parseEmqxVars(realOutput("A41").stdout);
    expect(relVsnHistory).toEqual(["4.4.16", "4.4.17", "4.4.16", "4.4.17"]);
    expect(vars).toMatchObject({
      REL_VSN: "4.4.17",
      ERTS_VSN: "13.1.5",
      EMQX_DESCRIPTION: "EMQX Broker",
      RUNNER_USER: "",
      RUNNER_DATA_DIR: "$RUNNER_ROOT_DIR/data",
    });
  });

  test("B41 (4.4.0's template: `export EMQX_DESCRIPTION='EMQ X Broker'`)", () => {
    const { vars, relVsnHistory } = parseEmqxVars(realOutput("B41").stdout);
    expect(relVsnHistory).toEqual(["4.4.0", "4.4.1", "4.4.0", "4.4.1"]);
    expect(vars).toMatchObject({
      REL_VSN: "4.4.1",
      EMQX_DESCRIPTION: "EMQ X Broker",
      RUNNER_LOG_DIR: "$RUNNER_ROOT_DIR/log",
    });
  });
});
