import {
  binScriptsAtLeast,
  checkVersionFamily,
  compareVersions,
  hasCtlCommand,
  parseEmqxVersion,
  EmqxVersion,
} from "../../../provider/plan/version";

// Row: [input, expected "ok" or a fragment of the refusal]
const PARSE_ROWS: [unknown, string][] = [
  ["4.4.16", "ok"],
  ["4.4.0", "ok"],
  ["4.4.17-rc.1", "ok"],
  ["5.8.0", "ok"],
  ["4.4", "not an EMQX version"],
  ["v4.4.16", "not an EMQX version"],
  ["4.4.16 ", "not an EMQX version"],
  [" 4.4.16", "not an EMQX version"],
  ["4.4.16;reboot", "not an EMQX version"],
  ["$(id)", "not an EMQX version"],
  ["4.4.١٦", "not an EMQX version"],
  ["04.4.16", "not an EMQX version"],
  ["4.4.16\n", "not an EMQX version"],
  ["4.4.0-a6d2367f", "untagged build"],
  ["x".repeat(10_000), "characters long"],
  [4.4, "must be a string"],
  [undefined, "must be a string"],
];

describe("parseEmqxVersion", () => {
  test.each(PARSE_ROWS)("%j -> %s", (input, expected) => {
    const r = parseEmqxVersion(input);
    if (expected === "ok") expect(typeof r).toBe("object");
    else expect(r).toEqual(expect.stringContaining(expected));
  });

  test("fails fast on pathological input for the version regex", () => {
    const start = Date.now();
    for (const s of ["4.4." + "1".repeat(39), "4.4.1-" + "a.".repeat(17), "9".repeat(40)]) parseEmqxVersion(s);
    expect(Date.now() - start).toBeLessThan(500);
  });
});

const v = (s: string) => parseEmqxVersion(s) as EmqxVersion;

// Row: [from, to, undefined when allowed or a fragment of the reason]
const FAMILY_ROWS: [string, string, string | undefined][] = [
  ["4.4.0", "4.4.16", undefined],
  ["4.4.16", "4.4.0", undefined],
  ["4.3.5", "4.4.16", "only hot-upgrades between patch versions"],
  ["4.4.16", "4.3.5", "4.4 only"],
  ["4.4.16", "5.0.0", "rolling upgrades"],
  ["4.4.16", "4.5.0", "4.4 only"],
];

describe("checkVersionFamily", () => {
  test.each(FAMILY_ROWS)("%s -> %s", (from, to, fragment) => {
    const r = checkVersionFamily(v(from), v(to));
    if (fragment === undefined) expect(r).toBeUndefined();
    else expect(r).toContain(fragment);
  });
});

test("compareVersions orders patch numbers numerically and pre-releases first", () => {
  expect(compareVersions("4.4.9", "4.4.16")).toBeLessThan(0);
  expect(compareVersions("4.4.17-rc.1", "4.4.17")).toBeLessThan(0);
  expect(compareVersions("4.4.16", "4.4.16")).toBe(0);
});

// Row: [bin scripts version, min, at least min]
const SCRIPTS_AT_LEAST: [string, string, boolean][] = [
  ["4.4.1", "4.4.2", false],
  ["4.4.2", "4.4.2", true],
  ["4.4.14", "4.4.15", false],
  ["4.4.16", "4.4.15", true],
  ["4.4.15-rc.1", "4.4.15", false],
  ["", "4.4.2", true],
  ["garbage", "4.4.2", true],
];
test.each(SCRIPTS_AT_LEAST)("binScriptsAtLeast(%j, %j) is %s (unparseable counts as new)", (v, min, want) => {
  expect(binScriptsAtLeast(v, min)).toBe(want);
});

test("hasCtlCommand: `emqx ctl` from bin scripts 4.4.4 on, bin/emqx_ctl before", () => {
  expect(["4.4.0", "4.4.3", "4.4.4", "4.4.16"].map(hasCtlCommand)).toEqual([false, false, true, true]);
});
