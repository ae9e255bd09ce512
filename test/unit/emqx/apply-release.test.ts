// applyRelease and verifyNode on a fake node: a Runner that answers the EMQX CLI, the probe and the
// lock scripts from a small in-memory model, and records every argv. Each test states what ran
// on the node and what did not.
import {
  EmqxProviderError,
  HostLockedError,
  HostStateError,
  NodeChangedError,
  RemoteCommandError,
  UnsupportedUpgradeError,
} from "../../../provider/errors";
import {
  applyRelease,
  ApplyContext,
  LocalPackage,
  readNodeState,
  verifyNode,
} from "../../../provider/emqx/apply-release";
import { EmqxCli, RECORD_PGID_SCRIPT } from "../../../provider/emqx/cli";
import type { CommandResult, Runner } from "../../../provider/runner";
import { ReleaseInputs, resolveInputs } from "../../../provider/plan/inputs";
import { PackageName, parsePackageName } from "../../../provider/plan/package-name";
import type { InstalledRelease } from "../../../provider/plan/upgrade-plan";
import { frameProbeOutput, probeMarkerOf } from "../../support/probe-output";

const EMQX = "/opt/emqx/bin/emqx";
const ROOT = "/opt/emqx";
const FILE16 = "emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip";
type Status = InstalledRelease["status"];

/** A node in memory: what `emqx versions`, the probe, `ctl status` and the lock scripts see. */
class FakeNode implements Runner {
  readonly host = "10.0.0.7";
  readonly calls: string[][] = [];
  installed: InstalledRelease[] = [{ version: "4.4.0", status: "permanent" }];
  /** REL_VSN assignments of releases/emqx_vars, oldest first. */
  relVsn = ["4.4.0"];
  releaseFiles = ["4.4.0", "RELEASES", "emqx_vars", "start_erl.data"];
  arch = "x86_64";
  /** What `ctl status` reports; undefined: the running release. */
  ctlVersion: string | undefined;
  /** The lock owner JSON when someone else holds the lock. */
  heldBy: string | undefined;
  /** Answer of a release command instead of performing it. */
  fail: Partial<Record<string, Partial<CommandResult>>> = {};
  /** Set: the release command performs the change but leaves emqx_vars alone (half permafy). */
  skipPermafy = false;
  /** Exit code of the health check command /usr/local/bin/check-mqtt. */
  checkExit = 0;
  /** Version of the bin scripts in bin/ (what permafy copied last). */
  binScripts = "4.4.0";
  /** Set: permafy appends to emqx_vars but does not copy bin/emqx-<V> over bin/emqx. */
  skipBinCopy = false;
  /** ERTS of each release (start_erl.data names the permanent one's). */
  erts: Record<string, string> = {};
  /** `*.beam` files in data/patches, free KB of the root's and /tmp's filesystem (one each). */
  patches: string[] = [];
  freeKb = { root: 40_000_000, tmp: 2_000_000 };
  /** RUNNER_USER of emqx_vars ("" for a zip install, "emqx" for deb/rpm). */
  runnerUser = "";
  description = "EMQX Broker";
  /** Who the commands run as on the node. */
  sshUser = "root";
  /** /tmp/emqx_untar_* directories; the unpack adds one, the cleanup script removes new ones. */
  untarDirs: string[] = [];
  cleanups: string[][] = [];

  async run(wrapped: string[]): Promise<CommandResult> {
    // A release command records its process group first (cli.ts), then runs as itself.
    const argv = wrapped[0] === "sh" && wrapped[2] === RECORD_PGID_SCRIPT ? wrapped.slice(5) : wrapped;
    this.calls.push(argv);
    const ok = (stdout: string): CommandResult => ({ exitCode: 0, signal: null, stdout, stderr: "", timedOut: false });
    if (argv[0] === "sh") {
      const script = argv[2];
      if (script.includes("ACQUIRED")) return ok(this.heldBy ? `HELD\n${this.heldBy}\n` : "ACQUIRED\n");
      if (script.includes("rmdir")) return ok("");
      if (script.includes("section os-release")) return ok(this.probe(argv[5], probeMarkerOf(argv)));
      if (script.includes("emqx_untar_")) {
        this.cleanups.push(argv.slice(4));
        const fresh = this.untarDirs.filter((d) => !argv.slice(5).includes(d));
        this.untarDirs = this.untarDirs.filter((d) => !fresh.includes(d));
        return ok(fresh.map((d) => `REMOVED ${d}\n`).join(""));
      }
    }
    if (argv[0] === "/usr/local/bin/check-mqtt") return { ...ok(""), exitCode: this.checkExit };
    // bin scripts before 4.4.4: no `emqx ctl`, the standalone bin/emqx_ctl (docs/emqx-4.4-hot-upgrade.md §1.2).
    if (argv[0] === `${ROOT}/bin/emqx_ctl` && argv[1] === "status")
      return ok(`Node 'emqx@127.0.0.1' ${this.ctlVersion ?? this.running()} is started\n`);
    if (argv[0] !== EMQX)
      return { exitCode: 127, signal: null, stdout: "", stderr: `sh: ${argv[0]}: not found\n`, timedOut: false };
    const [cmd, ...rest] = argv.slice(1);
    if (cmd === "root_dir") return ok(`"${ROOT}"\n`);
    if (cmd === "versions")
      return ok(`Installed versions:\n${this.installed.map((r) => `* ${r.version}\t${r.status}`).join("\n")}\n\n`);
    if (cmd === "ctl") return ok(`Node 'emqx@127.0.0.1' ${this.ctlVersion ?? this.running()} is started\n`);
    // A restart boots the permanent release; release_handler lists a trial release as unpacked.
    if (cmd === "stop") return ok("ok\n");
    if (cmd === "start") {
      this.installed = this.installed.map((r) => (r.status === "current" ? { ...r, status: "unpacked" } : r));
      return ok(`EMQ X Broker ${this.running()} is started successfully!\n`);
    }
    const failure = this.fail[cmd];
    if (failure) return { exitCode: 1, signal: null, stdout: "", stderr: "", timedOut: false, ...failure };
    const version = rest[rest.length - 1];
    const permanent = !rest.includes("--no-permanent");
    if (cmd === "uninstall") this.installed = this.installed.filter((r) => r.version !== version);
    else {
      if (!this.installed.some((r) => r.version === version && r.status !== "unpacked"))
        this.untarDirs.push(`/tmp/emqx_untar_${this.untarDirs.length + 1}`);
      this.switchTo(version, permanent);
    }
    return ok("");
  }

  running(): string {
    return (this.installed.find((r) => r.status === "current") ?? this.installed.find((r) => r.status === "permanent"))!
      .version;
  }

  private switchTo(version: string, permanent: boolean): void {
    const demote = (s: Status): Status => (s === "permanent" && permanent ? "old" : s === "current" ? "old" : s);
    const others = this.installed.filter((r) => r.version !== version).map((r) => ({ ...r, status: demote(r.status) }));
    this.installed = [{ version, status: permanent ? "permanent" : "current" }, ...others];
    if (permanent && !this.skipPermafy) this.relVsn.push(version);
    if (permanent && !this.skipPermafy && !this.skipBinCopy) this.binScripts = version;
  }

  private probe(running: string, marker: string): string {
    const permanent = this.installed.find((r) => r.status === "permanent")?.version ?? "";
    const sha = (v: string) => Buffer.from(v.padEnd(32, "-")).toString("hex").slice(0, 64);
    const body = (...lines: string[]) => lines.map((l) => `${l}\n`).join("");
    return frameProbeOutput(marker, [
      ["os-release", body("ID=ubuntu", 'VERSION_ID="20.04"')],
      ["uname", body(this.arch)],
      ["start_erl", `${this.erts[permanent] ?? "12.3.2.2"} ${permanent}`],
      [
        "emqx_vars",
        body(
          ...this.relVsn.map((v) => `REL_VSN="${v}"`),
          `EMQX_DESCRIPTION='${this.description}'`,
          `RUNNER_USER="${this.runnerUser}"`,
        ),
      ],
      ["releases", body(...this.releaseFiles)],
      ["relup", running === "4.4.16" ? '{"4.4.16",[{"4.4.0",[],[]}],[{"4.4.0",[],[]}]}.' : ""],
      ["data_dir", body(`${ROOT}/data`)],
      ["patches", body(...this.patches)],
      [
        "df",
        body(
          "Filesystem 1024-blocks Used Available Capacity Mounted on",
          `/dev/sda1 50000000 1000 ${this.freeKb.root} 1% /`,
          `tmpfs 4000000 1000 ${this.freeKb.tmp} 1% /tmp`,
        ),
      ],
      ["untar", body(...this.untarDirs)],
      ["bin_sha256", body(`${sha(this.binScripts)}  ${ROOT}/bin/emqx`, `${sha(running)}  ${ROOT}/bin/emqx-${running}`)],
      ["target_dir", ""],
      ["whoami", body(this.sshUser)],
      ["end", ""],
    ]);
  }

  /** The commands run, as "emqx <args>", "lock"/"unlock"/"probe", or the argv itself. */
  commands(): string[] {
    return this.calls.map((a) => {
      if (a[0] === "sh")
        return a[2].includes("ACQUIRED")
          ? "lock"
          : a[2].includes("rmdir")
            ? "unlock"
            : a[2].includes("section os-release")
              ? "probe"
              : "cleanup";
      return a[0] === EMQX ? ["emqx", ...a.slice(1)].join(" ") : a.join(" ");
    });
  }
}

const want = (over: Partial<ReleaseInputs> = {}) =>
  resolveInputs({
    connection: { host: "10.0.0.7" },
    version: "4.4.16",
    packagePath: `/pkgs/${FILE16}`,
    emqxPath: EMQX,
    ...over,
  });

function localPackage(fileName = FILE16, relupUpFrom: string[] | null = ["4.4.0"]): LocalPackage {
  return {
    path: `/pkgs/${fileName}`,
    sha256: "ab".repeat(32),
    name: parsePackageName(fileName) as PackageName,
    relupUpFrom,
  };
}

let node: FakeNode;
let uploads: { remoteDir: string; finalName: string; runAs?: string }[];
let log: string[];
function context(): ApplyContext {
  const cli = new EmqxCli(node, { emqxPath: EMQX, commandTimeoutMs: 1000, upgradeTimeoutMs: 400_000 });
  return {
    cli,
    who: "ci@runner-1",
    log: (line) => log.push(line),
    upload: async (f) => {
      uploads.push(f);
      node.releaseFiles.push(f.finalName);
      return { skipped: false, bytesSent: 1234 };
    },
  };
}
const MUTATING = /^emqx (upgrade|downgrade|install|uninstall)/;

beforeEach(() => {
  node = new FakeNode();
  uploads = [];
  log = [];
});

test("upgrades: lock, read, upload into releases/, `emqx upgrade`, verify, unlock", async () => {
  const out = await applyRelease(context(), want(), localPackage());
  expect(node.commands()).toEqual([
    "emqx root_dir",
    "lock",
    "emqx versions",
    "probe",
    "emqx upgrade 4.4.16",
    "cleanup",
    "emqx versions",
    "probe",
    "emqx ctl status",
    "unlock",
  ]);
  expect(uploads).toEqual([{ remoteDir: `${ROOT}/releases`, finalName: FILE16, runAs: undefined, downloaders: [] }]);
  expect(out).toMatchObject({
    action: "upgrade",
    previousVersion: "4.4.0",
    bytesSent: 1234,
    rootDir: ROOT,
    currentVersion: "4.4.16",
    permanentVersion: "4.4.16",
    installedVersions: [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ],
    hostFacts: {
      osId: "ubuntu20.04",
      arch: "amd64",
      otpMajor: 24,
      edition: "ce",
      binScriptsVersion: "4.4.16",
      relupDownTo: ["4.4.0"],
    },
  });
  expect(log).toEqual([
    "read node",
    "pre-flight",
    "upload",
    "upgrade 4.4.16",
    "cleanup: removed /tmp/emqx_untar_1 (left by EMQX's unpack)",
    "verify",
  ]);
});

test("--no-permanent upgrades with `emqx upgrade --no-permanent` and accepts a current release", async () => {
  const out = await applyRelease(context(), want({ permanent: false }), localPackage());
  expect(node.commands()).toContain("emqx upgrade --no-permanent 4.4.16");
  expect(out).toMatchObject({ currentVersion: "4.4.16", permanentVersion: "4.4.0", action: "upgrade" });
});

test("adopts a node already running the target: no upload, no release command", async () => {
  node.installed = [
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.0", status: "old" },
  ];
  node.relVsn.push("4.4.16");
  node.binScripts = "4.4.16";
  const out = await applyRelease(context(), want(), localPackage());
  expect(out).toMatchObject({ action: "adopt", bytesSent: 0, currentVersion: "4.4.16" });
  expect(out.previousVersion).toBeUndefined();
  expect(uploads).toEqual([]);
  expect(node.commands().filter((c) => MUTATING.test(c))).toEqual([]);
  expect(node.commands()[node.commands().length - 1]).toBe("unlock");
});

test("makes a current release permanent with `emqx install`, without uploading it again", async () => {
  node.installed = [
    { version: "4.4.16", status: "current" },
    { version: "4.4.0", status: "permanent" },
  ];
  const out = await applyRelease(context(), want(), localPackage());
  expect(node.commands().filter((c) => MUTATING.test(c))).toEqual(["emqx install 4.4.16"]);
  expect(uploads).toEqual([]);
  expect(out).toMatchObject({ action: "make-permanent", permanentVersion: "4.4.16" });
});

test("uploads again when the target is only unpacked, and not when it is an old release", async () => {
  node.installed = [
    { version: "4.4.16", status: "unpacked" },
    { version: "4.4.0", status: "permanent" },
  ];
  await applyRelease(context(), want(), localPackage());
  expect(uploads).toHaveLength(1);

  node = new FakeNode();
  uploads = [];
  node.installed = [
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.0", status: "old" },
  ];
  node.relVsn = ["4.4.0", "4.4.16"];
  node.binScripts = "4.4.16";
  const file0 = "emqx-4.4.0-otp24.3.4.2-1-ubuntu20.04-amd64.zip";
  const out = await applyRelease(
    context(),
    want({ version: "4.4.0", packagePath: `/pkgs/${file0}`, allowDowngrade: true }),
    localPackage(file0, null),
  );
  expect(uploads).toEqual([]);
  expect(out).toMatchObject({ action: "downgrade", currentVersion: "4.4.0", previousVersion: "4.4.16" });
});

test("reverts a --no-permanent trial by restarting into the permanent release: no upload, no relup", async () => {
  node.installed = [
    { version: "4.4.16", status: "current" },
    { version: "4.4.0", status: "permanent" },
  ];
  const file0 = "emqx-4.4.0-otp24.3.4.2-1-ubuntu20.04-amd64.zip";
  const out = await applyRelease(
    context(),
    want({ version: "4.4.0", packagePath: `/pkgs/${file0}` }),
    localPackage(file0, null),
  );
  expect(node.commands().filter((c) => /^emqx (stop|start|upgrade|downgrade|install|uninstall)/.test(c))).toEqual([
    "emqx stop",
    "emqx start",
  ]);
  expect(uploads).toEqual([]);
  expect(out).toMatchObject({
    action: "revert",
    previousVersion: "4.4.16",
    currentVersion: "4.4.0",
    permanentVersion: "4.4.0",
    bytesSent: 0,
  });
  expect(out.installedVersions).toEqual([
    { version: "4.4.16", status: "unpacked" },
    { version: "4.4.0", status: "permanent" },
  ]);
});

test("runs the declared health gate after the upgrade and reports its outcome", async () => {
  const out = await applyRelease(
    context(),
    want({ healthGate: { command: ["/usr/local/bin/check-mqtt"], deadlineSeconds: 0 } }),
    localPackage(),
  );
  expect(out.gate).toMatchObject({
    passed: true,
    attempts: 1,
    detail: "node reports 4.4.16; command `/usr/local/bin/check-mqtt` exited 0",
  });
  expect(log).toContain("health gate");
  expect(node.commands().indexOf("/usr/local/bin/check-mqtt")).toBeGreaterThan(
    node.commands().indexOf("emqx upgrade 4.4.16"),
  );
});

test("reports a failed health gate as an outcome, not an error: the node was upgraded", async () => {
  node.checkExit = 1;
  const out = await applyRelease(
    context(),
    want({ healthGate: { command: ["/usr/local/bin/check-mqtt"], deadlineSeconds: 0 } }),
    localPackage(),
  );
  expect(out).toMatchObject({ action: "upgrade", currentVersion: "4.4.16", gate: { passed: false, attempts: 1 } });
  expect(out.gate?.detail).toContain("command `/usr/local/bin/check-mqtt` exited 1");
});

test("runs no health gate when none is declared", async () => {
  const out = await applyRelease(context(), want(), localPackage());
  expect(out.gate).toBeUndefined();
  expect(log).not.toContain("health gate");
});

test("uninstallPrevious removes every old release after the upgrade and reports what is left", async () => {
  node.installed = [
    { version: "4.4.0", status: "permanent" },
    { version: "4.4.1", status: "old" },
  ];
  const out = await applyRelease(context(), want({ uninstallPrevious: true }), localPackage());
  expect(node.commands().filter((c) => MUTATING.test(c))).toEqual([
    "emqx upgrade 4.4.16",
    "emqx uninstall 4.4.0",
    "emqx uninstall 4.4.1",
  ]);
  expect(out.installedVersions).toEqual([{ version: "4.4.16", status: "permanent" }]);
});

test("fails when the lock is held, before reading or changing anything else", async () => {
  node.heldBy = JSON.stringify({
    id: "0011223344556677",
    who: "ops@bastion",
    pid: 7,
    operation: "upgrade",
    version: "4.4.15",
    startedAt: "2024-01-01T00:00:00.000Z",
    staleAfter: "2999-01-01T00:00:00.000Z",
  });
  const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
  expect(HostLockedError.isInstance(err)).toBe(true);
  expect(err.message).toContain("ops@bastion");
  expect(node.commands()).toEqual(["emqx root_dir", "lock"]);
});

test("fails with every refusal and 'nothing was changed' when the package does not fit the node", async () => {
  node.arch = "aarch64";
  const err = await applyRelease(context(), want(), localPackage(FILE16, ["4.4.15"])).catch((e) => e);
  expect(UnsupportedUpgradeError.isInstance(err)).toBe(true);
  expect(err).toMatchObject({ from: "4.4.0", to: "4.4.16", property: "packagePath" });
  expect(err.message).toMatch(/^10\.0\.0\.7 is arm64 but .* cannot hot-upgrade from 4\.4\.0: .*; nothing was changed$/);
  expect(err.message).not.toContain("the node now lists");
  expect(uploads).toEqual([]);
  expect(node.commands().filter((c) => MUTATING.test(c))).toEqual([]);
  expect(node.commands()[node.commands().length - 1]).toBe("unlock");
});

test("fails before uploading when another file in releases/ matches EMQX's glob for the version", async () => {
  node.releaseFiles.push("emqx-4.4.16-otp24.3.4.2-1-ubuntu18.04-amd64.zip");
  const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
  expect(HostStateError.isInstance(err)).toBe(true);
  expect(err.message).toContain(`${ROOT}/releases holds emqx-4.4.16-otp24.3.4.2-1-ubuntu18.04-amd64.zip`);
  expect(err.message).toMatch(/nothing was changed$/);
  expect(uploads).toEqual([]);
});

test("fails when `emqx versions` lists neither a permanent nor a current release", async () => {
  node.installed = [{ version: "4.4.0", status: "old" }];
  const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
  expect(err.name).toBe("HostStateError");
  expect(err.message).toContain("lists no permanent or current release");
  expect(node.commands()[node.commands().length - 1]).toBe("unlock");
});

test("fails with EMQX's reason and what the node lists now when the upgrade command fails", async () => {
  node.fail.upgrade = { exitCode: 4, stdout: "ERROR: release_handler:install_release failed: bad\n" };
  const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
  expect(RemoteCommandError.isInstance(err)).toBe(true);
  expect(err.exitCode).toBe(4);
  expect(err.message).toMatch(
    /^10\.0\.0\.7: `\/opt\/emqx\/bin\/emqx upgrade 4\.4\.16` failed: the relup of 4\.4\.16 failed inside the node \(exit 4\)/,
  );
  expect(err.message).toMatch(/\nthe node now lists: 4\.4\.0 permanent$/);
  expect(err.nodeState).toEqual([{ version: "4.4.0", status: "permanent" }]);
  expect(node.commands()[node.commands().length - 1]).toBe("unlock");
});

test("fails with a hint to check by hand when the node cannot be read after a failure", async () => {
  node.fail.upgrade = { exitCode: 4 };
  const ctx = context();
  const realRun = node.run.bind(node);
  let upgraded = false;
  node.run = async (argv) => {
    if (upgraded && argv[1] === "versions")
      return { exitCode: 1, signal: null, stdout: "Node is not running!\n", stderr: "", timedOut: false };
    if (argv.includes("upgrade")) upgraded = true;
    return realRun(argv);
  };
  const err = await applyRelease(ctx, want(), localPackage()).catch((e) => e);
  expect(err.message).toMatch(/\nthe node's state could not be read afterwards: check `emqx versions` on the host$/);
  expect(err.nodeState).toBeNull();
});

describe("pre-flight: refused before anything is written, with the next step", () => {
  // Row: [case, how the node looks, error name, fragment]
  const ROWS: [string, (n: FakeNode) => void, string, string][] = [
    [
      "fails for hot patches in data/patches",
      (n) => (n.patches = ["emqx_mod.beam"]),
      "HostStateError",
      `hot patches in ${ROOT}/data/patches (emqx_mod.beam)`,
    ],
    [
      "fails when /tmp cannot hold the unpacked package",
      (n) => (n.freeKb.tmp = 100),
      "HostStateError",
      "/tmp (holding /tmp) has 0.1 MiB free, but unpacking",
    ],
    ["fails for an Edge node", (n) => (n.description = "EMQ X Edge"), "UnsupportedUpgradeError", "runs EMQX Edge"],
    [
      "fails after an earlier half-done permafy (emqx_vars behind RELEASES)",
      (n) => {
        n.installed = [
          { version: "4.4.1", status: "permanent" },
          { version: "4.4.0", status: "old" },
        ];
      },
      "HostStateError",
      "the permanent release is 4.4.1 but the last REL_VSN",
    ],
  ];
  test.each(ROWS)("%s", async (_name, setup, name, fragment) => {
    setup(node);
    const err = await applyRelease(context(), want(), {
      ...localPackage(FILE16, ["4.4.0", "4.4.1"]),
      sizeBytes: 1024 * 1024,
      uncompressedBytes: 3 * 1024 * 1024,
    }).catch((e) => e);
    expect(err.name).toBe(name);
    expect(err.message).toContain(fragment);
    expect(err.message).toMatch(/nothing was changed$/);
    expect(err.message.match(/10\.0\.0\.7/g)).toHaveLength(1);
    expect(err.message).not.toContain("the node now lists");
    expect(err.nodeState).toBeUndefined();
    expect(uploads).toEqual([]);
    expect(node.commands()).toEqual(["emqx root_dir", "lock", "emqx versions", "probe", "unlock"]);
  });

  test("adopting a node whose bin/emqx is not bin/emqx-<permanent> is refused (REL_VSN alone looks fine)", async () => {
    node.installed = [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ];
    node.relVsn.push("4.4.16");
    const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
    expect(err.message).toContain(`${ROOT}/bin/emqx differs from bin/emqx-4.4.16 although 4.4.16 is permanent`);
    expect(node.commands()).toEqual(["emqx root_dir", "lock", "emqx versions", "probe", "unlock"]);
  });

  test("adopting a node whose permafy stopped half-way is refused instead of hiding it", async () => {
    node.installed = [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ];
    const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
    expect(err.message).toContain(
      "the permanent release is 4.4.16 but the last REL_VSN in /opt/emqx/releases/emqx_vars is 4.4.0",
    );
  });

  test("uploads as RUNNER_USER when runAs is not set, so EMQX (re-run as that user) can read the package", async () => {
    node.runnerUser = "emqx";
    await applyRelease(context(), want(), localPackage());
    expect(uploads).toEqual([{ remoteDir: `${ROOT}/releases`, finalName: FILE16, runAs: "emqx", downloaders: [] }]);
  });

  test("logged in as RUNNER_USER itself: uploads as that login, no sudo", async () => {
    node.runnerUser = "emqx";
    node.sshUser = "emqx";
    await applyRelease(context(), want(), localPackage());
    expect(uploads[0].runAs).toBeUndefined();
  });

  test("an explicit runAs owns the upload", async () => {
    node.runnerUser = "emqx";
    await applyRelease(context(), want({ runAs: "deploy" }), localPackage());
    expect(uploads[0].runAs).toBe("deploy");
  });
});

describe("housekeeping", () => {
  test("removes only the /tmp/emqx_untar_* directory this upgrade's unpack left, even when the upgrade fails", async () => {
    node.untarDirs = ["/tmp/emqx_untar_old"];
    node.fail.upgrade = { exitCode: 2, stdout: "Unpack failed: release_package_not_found\n" };
    node.run = ((real) => async (argv: string[]) => {
      if (argv[1] === "upgrade") node.untarDirs.push("/tmp/emqx_untar_new");
      return real(argv);
    })(node.run.bind(node));
    await expect(applyRelease(context(), want(), localPackage())).rejects.toThrow(/exit 2/);
    expect(node.cleanups).toEqual([["ab".repeat(32), "/tmp/emqx_untar_old"]]);
    expect(node.untarDirs).toEqual(["/tmp/emqx_untar_old"]);
  });

  test("no cleanup when nothing was unpacked (make permanent)", async () => {
    node.installed = [
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ];
    await applyRelease(context(), want(), localPackage());
    expect(node.commands()).not.toContain("cleanup");
  });
});

test("uninstallPrevious is refused, with the reason, after an upgrade across an ERTS change", async () => {
  node.installed = [{ version: "4.4.10", status: "permanent" }];
  node.relVsn = ["4.4.10"];
  node.binScripts = "4.4.10";
  node.erts = { "4.4.10": "12.1.5", "4.4.16": "12.3.2.2" };
  const out = await applyRelease(context(), want({ uninstallPrevious: true }), localPackage(FILE16, ["4.4.10"]));
  expect(node.commands().filter((c) => MUTATING.test(c))).toEqual(["emqx upgrade 4.4.16"]);
  expect(out.installedVersions).toEqual([
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.10", status: "old" },
  ]);
  expect(log).toContainEqual(
    expect.stringContaining(
      "uninstallPrevious refused: the upgrade from 4.4.10 to 4.4.16 crossed an ERTS change (12.1.5 -> 12.3.2.2)",
    ),
  );
});

describe("verifyNode", () => {
  const cli = () => context().cli;

  test("passes when versions, ctl status and emqx_vars all show the target", async () => {
    node.installed = [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ];
    node.relVsn = ["4.4.0", "4.4.16"];
    node.binScripts = "4.4.16";
    const r = await verifyNode(cli(), ROOT, "4.4.16", true, { binScripts: true });
    expect(r.installed).toEqual(node.installed);
    expect(r.facts.binScriptsVersion).toBe("4.4.16");
  });

  test("fails when the target is not the running release after the command", async () => {
    const err = await verifyNode(cli(), ROOT, "4.4.16", true).catch((e) => e);
    expect(NodeChangedError.isInstance(err)).toBe(true);
    expect(err.message).toContain("after the upgrade `emqx versions` shows 4.4.0 permanent, not 4.4.16 permanent");
    expect(err.installedVersions).toEqual([{ version: "4.4.0", status: "permanent" }]);
  });

  test("fails when the target is only current but permanent was wanted", async () => {
    node.installed = [
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ];
    await expect(verifyNode(cli(), ROOT, "4.4.16", true)).rejects.toThrow("not 4.4.16 permanent");
    await expect(verifyNode(cli(), ROOT, "4.4.16", false)).resolves.toBeDefined();
  });

  test("fails when the node's own code reports another version (emqx_app not reloaded)", async () => {
    node.installed = [{ version: "4.4.16", status: "permanent" }];
    node.relVsn = ["4.4.0", "4.4.16"];
    node.ctlVersion = "4.4.0";
    await expect(verifyNode(cli(), ROOT, "4.4.16", true)).rejects.toThrow(
      "the node reports 4.4.0 (`emqx ctl status`) although release_handler lists 4.4.16",
    );
  });

  test("fails for a half-done permafy: permanent in RELEASES, emqx_vars still on the old REL_VSN", async () => {
    node.skipPermafy = true;
    const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
    expect(EmqxProviderError.isInstance(err)).toBe(true);
    expect(NodeChangedError.isInstance(err)).toBe(true);
    expect(err.message).toContain(
      '4.4.16 is permanent but the last REL_VSN in /opt/emqx/releases/emqx_vars is "4.4.0": a half-done permafy',
    );
    expect(err.message).toMatch(/\nthe node now lists: 4\.4\.16 permanent, 4\.4\.0 old$/);
  });
});

describe("verifyNode after a permanent change", () => {
  test("fails for a half-done permafy: emqx_vars appended but bin/emqx not copied from bin/emqx-<V>", async () => {
    node.skipBinCopy = true;
    const err = await applyRelease(context(), want(), localPackage()).catch((e) => e);
    expect(err.name).toBe("NodeChangedError");
    expect(err.nodeState).toEqual([
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ]);
    expect(err.message).toContain(
      `4.4.16 is permanent but ${ROOT}/bin/emqx differs from bin/emqx-4.4.16: a half-done permafy`,
    );
  });

  test("after --no-permanent, bin scripts are not expected to change", async () => {
    node.skipBinCopy = true;
    await expect(applyRelease(context(), want({ permanent: false }), localPackage())).resolves.toMatchObject({
      currentVersion: "4.4.16",
    });
  });

  test("asks the node itself with bin/emqx_ctl when the bin scripts predate `emqx ctl` (4.4.0-4.4.3)", async () => {
    node.ctlVersion = "4.4.0";
    const err = await applyRelease(context(), want({ permanent: false }), localPackage()).catch((e) => e);
    expect(err.message).toContain("the node reports 4.4.0 (`emqx_ctl status`) although release_handler lists 4.4.16");
  });
});

describe("readNodeState", () => {
  test("reports root, releases and facts without changing anything or taking the lock", async () => {
    const s = await readNodeState(context().cli);
    expect(s).toMatchObject({
      rootDir: ROOT,
      currentVersion: "4.4.0",
      permanentVersion: "4.4.0",
      installedVersions: [{ version: "4.4.0", status: "permanent" }],
    });
    expect(node.commands()).toEqual(["emqx root_dir", "emqx versions", "probe"]);
  });

  test("fails when no release is running", async () => {
    node.installed = [{ version: "4.4.16", status: "unpacked" }];
    await expect(readNodeState(context().cli)).rejects.toThrow("lists no permanent or current release");
  });
});
