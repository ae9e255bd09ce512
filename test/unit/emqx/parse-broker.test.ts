// parseBroker against `emqx ctl broker` of 4.4: sysdescr, version, uptime (EMQX's words for the
// VM's wall clock), datetime (docs/emqx-4.4-observability.md §2.2).
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseBroker, parseUptime } from "../../../provider/emqx/parse-broker";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "ctl", "broker"];

test("reads a 4.4.16 node up for 12 days", () => {
  expect(parseBroker(fixture("4.4.16/broker.txt"), ARGV)).toEqual({
    sysdescr: "EMQ X Broker",
    version: "4.4.16",
    uptimeSeconds: ((12 * 24 + 3) * 60 + 4) * 60 + 5,
    datetime: "2026-12-07 05:10:00",
  });
});

// Row: [uptime text, seconds or undefined]
const UPTIME_ROWS: [string, number | undefined][] = [
  ["0 seconds", 0],
  ["59 seconds", 59],
  ["1 minutes, 0 seconds", 60],
  ["2 hours, 0 minutes, 1 seconds", 7201],
  ["1 days,0 hours, 0 minutes, 0 seconds", 86400],
  ["1 days, 0 hours, 0 minutes, 0 seconds", 86400],
  ["", undefined],
  ["5 sec", undefined],
  ["1 hours, 5 seconds", undefined],
  [`${"9".repeat(100_000)} seconds`, undefined],
];
test.each(UPTIME_ROWS)("uptime %j is %p seconds", (text, seconds) => {
  expect(parseUptime(text)).toBe(seconds);
});

test("fails naming the missing line when the output is not broker's", () => {
  expect(() => parseBroker("version   : 4.4.16\n", ARGV)).toThrow(/no "sysdescr    : \.\.\." line/);
});

test("fails on an uptime EMQX would not print", () => {
  let caught: unknown;
  try {
    parseBroker(
      "sysdescr  : EMQ X Broker\nversion   : 4.4.16\nuptime    : forever\ndatetime  : 2026-12-07 05:10:00\n",
      ARGV,
    );
  } catch (e) {
    caught = e;
  }
  expect(EmqxOutputParseError.isInstance(caught)).toBe(true);
  expect((caught as Error).message).toMatch(/uptime "forever" is not/);
});
