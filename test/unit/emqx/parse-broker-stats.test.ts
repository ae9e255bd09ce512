// parseBrokerStats against `emqx ctl broker stats` of 4.4: sorted "~-30s: ~w" lines
// (docs/emqx-4.4-observability.md §2.3).
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseBrokerStats } from "../../../provider/emqx/parse-broker-stats";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "ctl", "broker", "stats"];

test("reads every statistic of a 4.4.16 node with the rule engine, the .max partners too", () => {
  const stats = parseBrokerStats(fixture("4.4.16/broker-stats.txt"), ARGV);
  expect(Object.keys(stats)).toHaveLength(28);
  expect(stats).toMatchObject({
    "connections.count": 1204,
    "live_connections.count": 1187,
    "live_connections.count.max": 1302,
    "subscriptions.shared.count.max": 0,
    "rules.count": 2,
  });
});

// Row: [case, stdout, expected subset]
const OK_ROWS: [string, string, Record<string, number>][] = [
  [
    "a 4.3 node: no live_connections.count",
    "connections.count             : 3\nconnections.count.max         : 4\n",
    { "connections.count": 3 },
  ],
  [
    "CRLF, colours and the ulimit warning",
    "!!!!\n!!!! WARNING: ulimit -n is 1024\n!!!!\n\u001b[0mlive_connections.count        : 7\r\n",
    { "live_connections.count": 7 },
  ],
  ["a name that fills all 30 columns", "subscriptions.shared.count.max: 9\n", { "subscriptions.shared.count.max": 9 }],
];
test.each(OK_ROWS)("reads %s", (_c, stdout, expected) => {
  expect(parseBrokerStats(stdout, ARGV)).toMatchObject(expected);
});

// Row: [case, stdout, what the error says]
const BAD_ROWS: [string, string, RegExp][] = [
  ["fails on empty output", "", /no "<statistic>: <number>" line/],
  ["fails on the CLI's refusal", "Node 'emqx@127.0.0.1' not responding to pings.\n", /is not "<statistic>: <number>"/],
  ["fails on a negative number", "connections.count             : -1\n", /is not "<statistic>: <number>"/],
  ["fails on a pathological line without hanging", `${"a.".repeat(50_000)}: 1\n`, /is not "<statistic>: <number>"/],
];
test.each(BAD_ROWS)("%s", (_c, stdout, what) => {
  let caught: unknown;
  try {
    parseBrokerStats(stdout, ARGV);
  } catch (e) {
    caught = e;
  }
  expect(EmqxOutputParseError.isInstance(caught)).toBe(true);
  expect((caught as Error).message).toMatch(what);
});
