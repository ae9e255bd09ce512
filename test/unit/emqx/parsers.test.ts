// The parsers against the exact output shapes of the reference, kept as fixture files per version.
import * as fs from "fs";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { cleanLines } from "../../../provider/emqx/clean-output";
import { parseCtlStatus } from "../../../provider/emqx/parse-ctl-status";
import { parseEmqxVars } from "../../../provider/emqx/parse-emqx-vars";
import { parseRootDir } from "../../../provider/emqx/parse-root-dir";
import { parseVersions } from "../../../provider/emqx/parse-versions";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "versions"];

describe("parseVersions", () => {
  test("reads the 4.4.16 output: header, tab-separated lines, trailing blank line", () => {
    expect(parseVersions(fixture("4.4.16/versions.txt"), ARGV)).toEqual([
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ]);
  });
  test("ignores the ulimit warning block bin/emqx prints to stdout", () => {
    expect(parseVersions(fixture("4.4.0/versions-ulimit.txt"), ARGV)).toEqual([{ version: "4.4.0", status: "permanent" }]);
  });
  // Row: [case, stdout, expected versions or an error fragment]
  const ROWS: [string, string, string[] | string][] = [
    ["CRLF line ends", "Installed versions:\r\n* 4.4.16\tcurrent\r\n* 4.4.0\tpermanent\r\n\r\n", ["4.4.16 current", "4.4.0 permanent"]],
    ["ANSI colours", "\u001b[32mInstalled versions:\u001b[0m\n* 4.4.16\tunpacked\n* 4.4.0\tpermanent\n", ["4.4.16 unpacked", "4.4.0 permanent"]],
    ["the docs' space separator", "Installed versions:\n* 4.4.16 permanent\n\n", ["4.4.16 permanent"]],
    ["fails without the header", "Node is not running!\n", "no \"Installed versions:\" line"],
    ["fails for an unknown status", "Installed versions:\n* 4.4.16\tbroken\n", "unexpected line"],
    ["fails for an empty list", "Installed versions:\n\n", "no installed release"],
    ["fails for truncated output", "Installed versions:\n* 4.4.1", "unexpected line"],
    ["fails for random bytes", "\u0000\u00ff\u0013garbage", "no \"Installed versions:\" line"],
  ];
  test.each(ROWS)("%s", (_name, stdout, expected) => {
    if (typeof expected === "string") {
      expect(() => parseVersions(stdout, ARGV)).toThrow(expected);
      try {
        parseVersions(stdout, ARGV);
      } catch (e) {
        expect(EmqxOutputParseError.isInstance(e)).toBe(true);
      }
    } else {
      expect(parseVersions(stdout, ARGV).map((r) => `${r.version} ${r.status}`)).toEqual(expected);
    }
  });
  test("fails quickly on megabytes of output", () => {
    const start = Date.now();
    expect(() => parseVersions("* 4.4.16\t" + "x".repeat(4_000_000), ARGV)).toThrow(EmqxOutputParseError);
    expect(() => parseVersions("Installed versions:\n" + "* 4.4.16\tpermanent\n".repeat(10) + "*".repeat(2_000_000), ARGV)).toThrow(EmqxOutputParseError);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe("parseRootDir", () => {
  test("strips the double quotes nodetool prints", () => expect(parseRootDir(fixture("4.4.16/root_dir.txt"), ["emqx", "root_dir"])).toBe("/usr/lib/emqx"));
  test("ignores the ulimit warning", () => expect(parseRootDir("!!!!\n!!!! WARNING: ulimit -n is 512; 1024 is the recommended minimum.\n!!!!\n\"/opt/emqx\"\n", [])).toBe("/opt/emqx"));
  test("fails for a relative path", () => expect(() => parseRootDir('"emqx"\n', [])).toThrow(EmqxOutputParseError));
  test("fails for the node-down message", () => expect(() => parseRootDir("Node is not running!\n", [])).toThrow("absolute path"));
});

describe("parseCtlStatus", () => {
  test("reads the 4.4 one-line form", () => expect(parseCtlStatus(fixture("4.4.16/ctl-status.txt"), [])).toEqual({ node: "emqx@127.0.0.1", version: "4.4.16", status: "started" }));
  test("fails for the old two-line docs sample", () => expect(() => parseCtlStatus("Node 'emqx@127.0.0.1' is started\nemqx v4.0.0 is running\n", [])).toThrow(EmqxOutputParseError));
});

describe("parseEmqxVars", () => {
  test("the last assignment wins and the REL_VSN history is kept", () => {
    const r = parseEmqxVars(fixture("4.4.16/emqx_vars-after-downgrade.txt"));
    expect(r.vars.REL_VSN).toBe("4.4.0");
    expect(r.vars.ERTS_VSN).toBe("12.1.5");
    expect(r.relVsnHistory).toEqual(["4.4.16", "4.4.0"]);
  });
  test("reads quoted, single-quoted and bare values and skips other lines", () => {
    expect(parseEmqxVars("RUNNER_USER=emqx\nEMQX_DESCRIPTION='EMQX Enterprise'\nif [ x ]; then\nREL_VSN=\"4.4.1\" # note\n").vars).toEqual({ RUNNER_USER: "emqx", EMQX_DESCRIPTION: "EMQX Enterprise", REL_VSN: "4.4.1" });
  });
});

test("cleanLines removes CR, colours and the ulimit block", () => {
  expect(cleanLines("!!!!\n\u001b[1mok\u001b[0m\r\n")).toEqual(["ok", ""]);
});
