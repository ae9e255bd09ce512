// parseListeners against `emqx ctl listeners` of 4.4: an identifier line per listener, then
// indented fields; shutdown_count is an Erlang list of {reason, count} (docs/emqx-4.4-observability.md §2.4).
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseListeners } from "../../../provider/emqx/parse-listeners";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "ctl", "listeners"];

test("reads the six listeners of a 4.4.16 node, with per-reason shutdown counts", () => {
  const listeners = parseListeners(fixture("4.4.16/listeners.txt"), ARGV);
  expect(listeners.map((l) => l.id)).toEqual([
    "mqtt:ssl:external",
    "mqtt:tcp:external",
    "mqtt:tcp:internal",
    "mqtt:ws:external",
    "http:management",
    "http:dashboard",
  ]);
  expect(listeners[1]).toEqual({
    id: "mqtt:tcp:external",
    listenOn: "0.0.0.0:1883",
    currentConn: 1170,
    maxConns: 1024000,
    shutdownCount: { closed: 12, keepalive_timeout: 3 },
  });
  expect(listeners[3].shutdownCount).toEqual({});
});

// Row: [case, stdout, what the error says]
const BAD_ROWS: [string, string, RegExp][] = [
  ["fails on empty output", "", /no listener/],
  ["fails on a field before any listener", "  current_conn    : 1\n", /neither a listener nor one of its fields/],
  [
    "fails on a listener without current_conn",
    "mqtt:tcp:external\n  shutdown_count  : []\n",
    /current_conn "missing" is not a number/,
  ],
  [
    "fails on an unreadable shutdown_count",
    "mqtt:tcp:external\n  current_conn    : 1\n  shutdown_count  : [{closed,\n",
    /shutdown_count is not an Erlang term/,
  ],
  [
    "fails on a shutdown_count of the wrong shape",
    "mqtt:tcp:external\n  current_conn    : 1\n  shutdown_count  : [closed]\n",
    /not a list of \{reason, count\}/,
  ],
  ["fails on a pathological line without hanging", `mqtt${":a".repeat(50_000)}\n`, /neither a listener/],
];
test.each(BAD_ROWS)("%s", (_c, stdout, what) => {
  let caught: unknown;
  try {
    parseListeners(stdout, ARGV);
  } catch (e) {
    caught = e;
  }
  expect(EmqxOutputParseError.isInstance(caught)).toBe(true);
  expect((caught as Error).message).toMatch(what);
});
