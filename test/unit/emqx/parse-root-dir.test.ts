// parseRootDir against the `emqx root_dir` output shapes: nodetool prints the path with ~p.
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseRootDir } from "../../../provider/emqx/parse-root-dir";
import { realOutput, REAL_OUTPUT_ROOT } from "../../support/real-output";
import { expectNotSuperlinear } from "../../support/linear-time";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "root_dir"];

test("strips the double quotes nodetool prints", () => {
  expect(parseRootDir(fixture("4.4.16/root_dir.txt"), ARGV)).toBe("/usr/lib/emqx");
});

// Row: [case, stdout, expected root or an error fragment]
const ROWS: [string, string, string | RegExp][] = [
  [
    "ignores the ulimit warning",
    '!!!!\n!!!! WARNING: ulimit -n is 512; 1024 is the recommended minimum.\n!!!!\n"/opt/emqx"\n',
    "/opt/emqx",
  ],
  ["accepts an unquoted absolute path", "/opt/emqx\n", "/opt/emqx"],
  ["drops trailing slashes", '"/opt/emqx//"\n', "/opt/emqx"],
  ["keeps the root directory itself", '"/"\n', "/"],
  ["takes the last non-blank line", 'some banner\n"/srv/emqx"\n\n\n', "/srv/emqx"],
  ["fails for a relative path", '"emqx"\n', /absolute path/],
  ["fails for the node-down message", "Node is not running!\n", /absolute path/],
  ["fails for empty output", "", /absolute path/],
  ["fails for a path with an escaped quote", '"/opt/em\\"qx"\n', /absolute path/],
];
test.each(ROWS)("%s", (_name, stdout, expected) => {
  if (typeof expected === "string") {
    expect(parseRootDir(stdout, ARGV)).toBe(expected);
  } else {
    expect(() => parseRootDir(stdout, ARGV)).toThrow(
      expect.objectContaining({
        name: "EmqxOutputParseError",
        __emqxProviderError: true,
        message: expect.stringMatching(expected),
      }),
    );
  }
});

test("fails quickly on megabytes of output", () => {
  const start = Date.now();
  expect(() => parseRootDir('"/' + "a".repeat(3_000_000), ARGV)).toThrow(EmqxOutputParseError);
  expect(() => parseRootDir("/" + "/a".repeat(1_000_000) + '"', ARGV)).toThrow(EmqxOutputParseError);
  expectNotSuperlinear(start);
});

describe("what EMQX's real scripts printed (test/fixtures/real-4.4)", () => {
  test.each(["A02", "B02"])("%s: the quoted root", (id) => {
    expect(parseRootDir(realOutput(id).stdout, ARGV)).toBe(REAL_OUTPUT_ROOT);
  });
  test.each(["A101", "B101", "A110"])("%s (node down, never started: exit 1) is no root", (id) => {
    const c = realOutput(id);
    expect(c.exitCode).toBe(1);
    expect(() => parseRootDir(c.stdout, ARGV)).toThrow(EmqxOutputParseError);
  });
});
