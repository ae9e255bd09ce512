// parseClusterStatus against the 4.4 `emqx ctl cluster status` output: `Cluster status: #{...}`
// printed with ~p, so it may wrap over lines (docs/emqx-4.4-hot-upgrade.md §1.3).
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseClusterStatus } from "../../../provider/emqx/parse-cluster-status";
import { realOutput } from "../../support/real-output";
import { expectNotSuperlinear } from "../../support/linear-time";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "ctl", "cluster", "status"];

function parseError(stdout: string): EmqxOutputParseError {
  let caught: unknown;
  try {
    parseClusterStatus(stdout, ARGV);
  } catch (e) {
    caught = e;
  }
  if (!EmqxOutputParseError.isInstance(caught))
    throw new Error(`expected an EmqxOutputParseError, got ${String(caught)}`);
  return caught;
}

// Row: [fixture file, expected {runningNodes, stoppedNodes}]
const FIXTURES: [string, object][] = [
  ["4.4.16/cluster-status.txt", { runningNodes: ["emqx@127.0.0.1"], stoppedNodes: [] }],
  ["4.4.16/cluster-status-wrapped.txt", { runningNodes: ["emqx@10.0.0.1", "emqx@10.0.0.2"], stoppedNodes: [] }],
  [
    "4.4.16/cluster-status-stopped.txt",
    {
      runningNodes: ["emqx@node1.example.internal", "emqx@node2.example.internal", "emqx@node3.example.internal"],
      stoppedNodes: ["emqx@node4.example.internal"],
    },
  ],
  ["4.4.0/cluster-status-ulimit.txt", { runningNodes: ["emqx@10.0.0.1"], stoppedNodes: ["emqx@10.0.0.2"] }],
];
test.each(FIXTURES)("reads %s", (file, expected) => {
  expect(parseClusterStatus(fixture(file), ARGV)).toEqual(expected);
});

// Row: [case, stdout, expected {runningNodes, stoppedNodes}]
const OK_ROWS: [string, string, object][] = [
  [
    "CRLF and colours",
    "\u001b[1mCluster status: #{running_nodes => ['emqx@a'],\r\n                  stopped_nodes => []}\u001b[0m\r\n",
    { runningNodes: ["emqx@a"], stoppedNodes: [] },
  ],
  [
    "keys in the other order, spaces after commas",
    "Cluster status: #{stopped_nodes => ['emqx@b'], running_nodes => ['emqx@a']}\n",
    { runningNodes: ["emqx@a"], stoppedNodes: ["emqx@b"] },
  ],
  [
    "a bare atom node name",
    "Cluster status: #{running_nodes => [nonode@nohost],stopped_nodes => []}\n",
    { runningNodes: ["nonode@nohost"], stoppedNodes: [] },
  ],
  [
    "a key we do not know is ignored",
    "Cluster status: #{running_nodes => ['emqx@a'],stopped_nodes => [],other => 1}\n",
    { runningNodes: ["emqx@a"], stoppedNodes: [] },
  ],
  [
    "a line of noise before it",
    "warning: something\nCluster status: #{running_nodes => ['emqx@a'],stopped_nodes => []}\n",
    { runningNodes: ["emqx@a"], stoppedNodes: [] },
  ],
];
test.each(OK_ROWS)("reads %s", (_name, stdout, expected) => {
  expect(parseClusterStatus(stdout, ARGV)).toEqual(expected);
});

// Row: [case, stdout, fragment of the message]
const FAIL_ROWS: [string, string, string][] = [
  ["fails for empty output", "", 'no "Cluster status: #{...}" line'],
  [
    "fails for the usage text",
    "Usage: emqx_ctl status                          # Show broker status\n",
    'no "Cluster status: #{...}" line',
  ],
  ["fails for garbage after the prefix", "Cluster status: running\nall good\n", "not an Erlang term"],
  ["fails for a truncated map", "Cluster status: #{running_nodes => ['emqx@10.0.0.1',\n", "not an Erlang term"],
  [
    "fails for an unterminated node name",
    "Cluster status: #{running_nodes => ['emqx@10.0.0.1],stopped_nodes => []}\n",
    "not an Erlang term",
  ],
  [
    "fails for text after the map",
    "Cluster status: #{running_nodes => [],stopped_nodes => []}\nok\n",
    "not an Erlang term",
  ],
  [
    "fails for a list instead of a map (the 4.3 shape)",
    "Cluster status: [{running_nodes,['emqx@a']},{stopped_nodes,[]}]\n",
    "a list, not a map",
  ],
  [
    "fails when stopped_nodes is missing",
    "Cluster status: #{running_nodes => ['emqx@a']}\n",
    "no list of node names under stopped_nodes",
  ],
  [
    "fails when a node is not an atom",
    'Cluster status: #{running_nodes => ["emqx@a"],stopped_nodes => []}\n',
    "no list of node names under running_nodes",
  ],
  ["fails for the node-down message", "Node 'emqx@127.0.0.1' not responding to pings.\n", "Cluster status"],
];
test.each(FAIL_ROWS)("%s", (_name, stdout, fragment) => {
  const err = parseError(stdout);
  expect(err.message).toContain(fragment);
  expect(err.argv).toEqual(ARGV);
});

test("fails with the line (counted from `Cluster status:`) and column of a syntax error, and an excerpt of the output", () => {
  const err = parseError(
    "!!!!\n!!!! WARNING: ulimit\n!!!!\nCluster status: #{running_nodes => ['emqx@a'],\n                  stopped_nodes => [}\n",
  );
  expect(err.message).toMatch(/line 2, column 37/);
  expect(err.excerpt).toContain("stopped_nodes => [}");
});

test("fails quickly on megabytes of output", () => {
  const start = Date.now();
  const long = "Cluster status: #{running_nodes => [" + "'emqx@a',".repeat(400_000);
  expect(parseError(long).excerpt.length).toBeLessThanOrEqual(2001);
  expect(() => parseClusterStatus("Cluster status: " + "#{a => ".repeat(300_000), ARGV)).toThrow(/nesting deeper/);
  expect(() => parseClusterStatus("Cluster status: " + "[".repeat(3_000_000), ARGV)).toThrow(EmqxOutputParseError);
  expect(() => parseClusterStatus("x".repeat(11 * 1024 * 1024), ARGV)).toThrow(EmqxOutputParseError);
  expect(() => parseClusterStatus("Cluster status: '" + "a".repeat(11 * 1024 * 1024), ARGV)).toThrow(
    /over the .* limit/,
  );
  expectNotSuperlinear(start);
});

describe("what EMQX's real scripts printed (test/fixtures/real-4.4)", () => {
  test("A06: one running node", () => {
    expect(parseClusterStatus(realOutput("A06").stdout, ARGV)).toEqual({
      runningNodes: ["emqx@127.0.0.1"],
      stoppedNodes: [],
    });
  });
  test("4.4.0's bin/emqx has no `ctl` (B06): usage, no map", () => {
    expect(realOutput("B06").exitCode).toBe(1);
    expect(() => parseClusterStatus(realOutput("B06").stdout, ARGV)).toThrow(EmqxOutputParseError);
  });
});
