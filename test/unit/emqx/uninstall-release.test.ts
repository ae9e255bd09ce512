// uninstallRelease (delete) on a fake node: a Runner answering `emqx root_dir`, `emqx versions`,
// `emqx uninstall` and the host-lock scripts, recording every argv. Each row states which
// release is declared, what the node lists, and whether `emqx uninstall` ran.
import { HostLockedError } from "../../../provider/errors";
import { EmqxCli } from "../../../provider/emqx/cli";
import { uninstallRelease } from "../../../provider/emqx/uninstall-release";
import type { CommandResult, Runner } from "../../../provider/runner";
import type { InstalledRelease } from "../../../provider/plan/upgrade-plan";

const EMQX = "/opt/emqx/bin/emqx";

class FakeNode implements Runner {
  readonly host = "10.0.0.7";
  readonly calls: string[][] = [];
  /** The lock owner JSON when another operation holds the lock. */
  heldBy: string | undefined;
  locks: "none" | "held" | "released" = "none";
  constructor(public installed: InstalledRelease[]) {}

  async run(argv: string[]): Promise<CommandResult> {
    this.calls.push(argv);
    const ok = (stdout: string): CommandResult => ({ exitCode: 0, signal: null, stdout, stderr: "", timedOut: false });
    if (argv[0] === "sh" && argv[2].includes("ACQUIRED")) {
      if (this.heldBy) return ok(`HELD\n${this.heldBy}\n`);
      this.locks = "held";
      return ok("ACQUIRED\n");
    }
    if (argv[0] === "sh" && argv[2].includes("rmdir")) {
      this.locks = "released";
      return ok("");
    }
    const [cmd, version] = argv.slice(1);
    if (cmd === "root_dir") return ok(`"/opt/emqx"\n`);
    if (cmd === "versions")
      return ok(`Installed versions:\n${this.installed.map((r) => `* ${r.version}\t${r.status}`).join("\n")}\n\n`);
    if (cmd === "uninstall") {
      this.installed = this.installed.filter((r) => r.version !== version);
      return ok(`Release ${version} is uninstalled successfully\n`);
    }
    throw new Error(`unexpected command ${argv.join(" ")}`);
  }
}

async function uninstall(node: FakeNode, version: string): Promise<string[]> {
  const lines: string[] = [];
  const cli = new EmqxCli(node, { emqxPath: EMQX, commandTimeoutMs: 1000, upgradeTimeoutMs: 400_000 });
  await uninstallRelease(cli, { version, commandTimeoutMs: 1000 }, { who: "ci@runner", log: (l) => lines.push(l) });
  return lines;
}

// Row: [declared version, the node's releases, uninstall ran, the line logged]
const ROWS: [string, InstalledRelease[], boolean, string][] = [
  [
    "4.4.0",
    [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ],
    true,
    "uninstall 4.4.0 (old)",
  ],
  [
    "4.4.16",
    [
      { version: "4.4.0", status: "permanent" },
      { version: "4.4.16", status: "unpacked" },
    ],
    true,
    "uninstall 4.4.16 (unpacked)",
  ],
  [
    "4.4.16",
    [{ version: "4.4.16", status: "permanent" }],
    false,
    "4.4.16 is the permanent release: EMQX cannot uninstall the running release, so the broker is left as it is",
  ],
  [
    "4.4.16",
    [
      { version: "4.4.0", status: "permanent" },
      { version: "4.4.16", status: "current" },
    ],
    false,
    "4.4.16 is the current release: EMQX cannot uninstall the running release, so the broker is left as it is",
  ],
  ["4.4.16", [{ version: "4.4.0", status: "permanent" }], false, "4.4.16 is not installed: nothing to uninstall"],
];
test.each(ROWS)("delete of %p on a node listing %j: uninstall ran = %p", async (version, installed, ran, line) => {
  const node = new FakeNode(installed);
  expect(await uninstall(node, version)).toEqual([line]);
  const uninstalls = node.calls.filter((c) => c[1] === "uninstall");
  expect(uninstalls).toEqual(ran ? [[EMQX, "uninstall", version]] : []);
  expect(node.installed.some((r) => r.version === version)).toBe(!ran && installed.some((r) => r.version === version));
  expect(node.locks).toBe("released");
});

test("fails with HostLockedError and uninstalls nothing when another operation holds the host lock", async () => {
  const node = new FakeNode([
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.0", status: "old" },
  ]);
  node.heldBy = JSON.stringify({
    id: "lock-1",
    operation: "upgrade",
    version: "4.4.16",
    who: "ci@other",
    pid: 1,
    startedAt: new Date().toISOString(),
    staleAfter: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const err = await uninstall(node, "4.4.0").catch((e: unknown) => e);
  expect(HostLockedError.isInstance(err)).toBe(true);
  expect(node.calls.filter((c) => c[1] === "uninstall")).toEqual([]);
  expect(node.installed.map((r) => r.version)).toEqual(["4.4.16", "4.4.0"]);
});
