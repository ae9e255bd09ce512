// parseCtlStatus against the 4.4 `emqx ctl status` output: `Node '<name>' <version> is <status>`.
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseCtlStatus } from "../../../provider/emqx/parse-ctl-status";
import { realOutput } from "../../support/real-output";
import { expectNotSuperlinear } from "../../support/linear-time";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "ctl", "status"];

test("reads the 4.4 one-line form", () => {
  expect(parseCtlStatus(fixture("4.4.16/ctl-status.txt"), ARGV)).toEqual({
    node: "emqx@127.0.0.1",
    version: "4.4.16",
    status: "started",
  });
});

// Row: [case, stdout, expected {node, version, status} or an error fragment]
const ROWS: [string, string, object | string][] = [
  [
    "a node that is still starting, after the ulimit block",
    "!!!!\n!!!! WARNING\n!!!!\nNode 'emqx@10.0.0.7' 4.4.3 is starting\n",
    { node: "emqx@10.0.0.7", version: "4.4.3", status: "starting" },
  ],
  [
    "CRLF and colours",
    "\u001b[1mNode 'emqx@h' 4.4.16 is stopping\u001b[0m\r\n",
    { node: "emqx@h", version: "4.4.16", status: "stopping" },
  ],
  [
    "fails for the old two-line docs sample",
    "Node 'emqx@127.0.0.1' is started\nemqx v4.0.0 is running\n",
    "no \"Node '<name>' <version> is <status>\" line",
  ],
  ["fails for an unknown status", "Node 'emqx@h' 4.4.16 is sleeping\n", "is <status>"],
  ["fails for the node-down message", "Node 'emqx@127.0.0.1' not responding to pings.\n", "is <status>"],
];
test.each(ROWS)("%s", (_name, stdout, expected) => {
  if (typeof expected === "string") {
    expect(() => parseCtlStatus(stdout, ARGV)).toThrow(
      expect.objectContaining({
        name: "EmqxOutputParseError",
        __emqxProviderError: true,
        message: expect.stringContaining(expected),
      }),
    );
  } else {
    expect(parseCtlStatus(stdout, ARGV)).toEqual(expected);
  }
});

test("fails quickly on megabytes of output", () => {
  const start = Date.now();
  expect(() => parseCtlStatus("Node '" + "a".repeat(3_000_000), ARGV)).toThrow(EmqxOutputParseError);
  expect(() => parseCtlStatus("Node 'x' " + "4.".repeat(1_000_000) + " is", ARGV)).toThrow(EmqxOutputParseError);
  expectNotSuperlinear(start);
});

describe("what EMQX's real scripts printed (test/fixtures/real-4.4)", () => {
  test.each([
    ["A04", "4.4.16"],
    ["A21", "4.4.17"],
    ["B05", "4.4.0"], // bin/emqx_ctl status of 4.4.0
  ])("%s: version %s", (id, version) => {
    const c = realOutput(id);
    expect(c.exitCode).toBe(0);
    expect(parseCtlStatus(c.stdout, ARGV)).toEqual({ node: "emqx@127.0.0.1", version, status: "started" });
  });

  test("4.4.0's bin/emqx has no `ctl` (B04): its usage line is no status", () => {
    const c = realOutput("B04");
    expect(c.exitCode).toBe(1);
    expect(c.stdout).toMatch(/^Usage: emqx \{start\|/);
    expect(() => parseCtlStatus(c.stdout, ARGV)).toThrow(EmqxOutputParseError);
  });

  test("node down (A102): nothing on stdout, the reason on stderr", () => {
    const c = realOutput("A102");
    expect({ exitCode: c.exitCode, stdout: c.stdout }).toEqual({ exitCode: 1, stdout: "" });
    expect(c.stderr).toBe("Node 'emqx@127.0.0.1' not responding to pings.\nERROR: node_is_not_running!\n");
    expect(() => parseCtlStatus(c.stdout, ARGV)).toThrow(EmqxOutputParseError);
  });
});
