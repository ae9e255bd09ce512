// parseVersions against the exact `emqx versions` output shapes (docs/emqx-4.4-hot-upgrade.md §2.4), kept as
// fixture files per EMQX version.
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseVersions } from "../../../provider/emqx/parse-versions";
import { realOutput } from "../../support/real-output";
import { expectNotSuperlinear } from "../../support/linear-time";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "versions"];

test("reads the 4.4.16 output: header, tab-separated lines, trailing blank line", () => {
  expect(parseVersions(fixture("4.4.16/versions.txt"), ARGV)).toEqual([
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.0", status: "old" },
  ]);
});

test("ignores the ulimit warning block bin/emqx prints to stdout", () => {
  expect(parseVersions(fixture("4.4.0/versions-ulimit.txt"), ARGV)).toEqual([
    { version: "4.4.0", status: "permanent" },
  ]);
});

// Row: [case, stdout, expected "<version> <status>" lines or an error fragment]
const ROWS: [string, string, string[] | string][] = [
  [
    "CRLF line ends",
    "Installed versions:\r\n* 4.4.16\tcurrent\r\n* 4.4.0\tpermanent\r\n\r\n",
    ["4.4.16 current", "4.4.0 permanent"],
  ],
  [
    "ANSI colours",
    "\u001b[32mInstalled versions:\u001b[0m\n* 4.4.16\tunpacked\n* 4.4.0\tpermanent\n",
    ["4.4.16 unpacked", "4.4.0 permanent"],
  ],
  ["the docs' space separator", "Installed versions:\n* 4.4.16 permanent\n\n", ["4.4.16 permanent"]],
  [
    "stops at the blank line after the list",
    "Installed versions:\n* 4.4.16\tpermanent\n\nsomething else\n",
    ["4.4.16 permanent"],
  ],
  ["fails without the header", "Node is not running!\n", 'no "Installed versions:" line'],
  ["fails for an unknown status", "Installed versions:\n* 4.4.16\tbroken\n", "unexpected line"],
  ["fails for an empty list", "Installed versions:\n\n", "no installed release"],
  ["fails for truncated output", "Installed versions:\n* 4.4.1", "unexpected line"],
  ["fails for random bytes", "\u0000\u00ff\u0013garbage", 'no "Installed versions:" line'],
];
test.each(ROWS)("%s", (_name, stdout, expected) => {
  if (typeof expected === "string") {
    expect(() => parseVersions(stdout, ARGV)).toThrow(
      expect.objectContaining({
        name: "EmqxOutputParseError",
        __emqxProviderError: true,
        message: expect.stringContaining(expected),
      }),
    );
  } else {
    expect(parseVersions(stdout, ARGV).map((r) => `${r.version} ${r.status}`)).toEqual(expected);
  }
});

test("fails quickly on megabytes of output", () => {
  const start = Date.now();
  expect(() => parseVersions("* 4.4.16\t" + "x".repeat(4_000_000), ARGV)).toThrow(EmqxOutputParseError);
  expect(() =>
    parseVersions("Installed versions:\n" + "* 4.4.16\tpermanent\n".repeat(10) + "*".repeat(2_000_000), ARGV),
  ).toThrow(EmqxOutputParseError);
  expect(() =>
    parseVersions("Installed versions:\n* " + "4.".repeat(1_000_000) + "\t".repeat(1_000_000), ARGV),
  ).toThrow(EmqxOutputParseError);
  expectNotSuperlinear(start);
});

describe("what EMQX's real scripts printed (test/fixtures/real-4.4)", () => {
  // Row: [capture, "<vsn> <status>" lines]
  const REAL: [string, string[]][] = [
    ["A01", ["4.4.16 permanent"]],
    ["A17", ["4.4.16 permanent"]], // after bin/emqx's ulimit warning block, on stdout
    ["A20", ["4.4.17 permanent", "4.4.16 old"]],
    ["A34", ["4.4.17 current", "4.4.16 permanent"]],
    ["A45", ["4.4.17 unpacked", "4.4.16 permanent"]],
    ["B01", ["4.4.0 permanent"]],
    ["B17", ["4.4.0 permanent"]],
    ["B20", ["4.4.1 permanent", "4.4.0 old"]],
    ["B34", ["4.4.1 current", "4.4.0 permanent"]],
    ["B45", ["4.4.1 unpacked", "4.4.0 permanent"]],
    ["B11", ["4.4.0 permanent"]], // the escript's own list after `Unpack failed` (exit 2)
  ];
  test.each(REAL)("%s", (id, expected) => {
    const c = realOutput(id);
    expect(parseVersions(c.stdout, ARGV).map((r) => `${r.version} ${r.status}`)).toEqual(expected);
  });

  test.each(["A100", "B100", "A109"])("%s (node down, never started: exit 1) is no version list", (id) => {
    const c = realOutput(id);
    expect(c.exitCode).toBe(1);
    expect(() => parseVersions(c.stdout, ARGV)).toThrow(EmqxOutputParseError);
  });
});
