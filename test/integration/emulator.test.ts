// The EMQX 4.4 CLI emulator (sandbox/emulator/emqx.js) run as a subprocess through its
// bin/ launchers, against the reference (docs/emqx-4.4-hot-upgrade.md, "the reference" below):
// every row of docs/emqx-4.4-hot-upgrade.md §2.4 plus §2.3, §1.1-1.3, with the bin scripts of 4.4.0 and of 4.4.16.
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  createEmulatedInstall,
  EmulatedInstallSpec,
  EmulatorFaults,
  emulatorVersions,
  readCallLog,
  setFaults,
  treeHash,
} from "../../sandbox/emulator/install";
import { launcherScript } from "../../sandbox/emulator/launcher";
import { buildPackageZip, packageEntries, packageFileName, PackageSpec } from "../../sandbox/package-zip";
import { ensureTestUser } from "../../sandbox/sshd";
import { writeZip } from "../../sandbox/zip-writer";
import { realOutput, REAL_OUTPUT_ROOT } from "../support/real-output";

jest.setTimeout(120_000);

const BASE = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "emqx-emulator-test-")));
fs.chmodSync(BASE, 0o755);
afterAll(() => fs.rmSync(BASE, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let hostCount = 0;
/** Lays out an install under BASE; emqx_untar_<n> dirs go to a sibling tmp/ instead of /tmp. */
function newInstall(spec: Partial<EmulatedInstallSpec> = {}, faults: EmulatorFaults = {}): string {
  const dir = path.join(BASE, `host${++hostCount}`);
  fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
  fs.chmodSync(path.join(dir, "tmp"), 0o1777);
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, "emqx");
  createEmulatedInstall({ root, version: "4.4.10", ...spec });
  setFaults(root, { untarDir: path.join(dir, "tmp"), ...faults });
  return root;
}
/** Replaces the fault switches, keeping the test's untar dir. */
function faults(root: string, f: EmulatorFaults): void {
  setFaults(root, { untarDir: path.join(path.dirname(root), "tmp"), ...f });
}
function run(root: string, args: string[], opts: { bin?: string; uid?: number; gid?: number } = {}): Result {
  const r = spawnSync(path.join(root, "bin", opts.bin ?? "emqx"), args, {
    encoding: "utf8",
    uid: opts.uid,
    gid: opts.gid,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function start(root: string, args: string[]): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(path.join(root, "bin", "emqx"), args);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}
const zip = (root: string, spec: PackageSpec): Promise<string> => buildPackageZip(path.join(root, "releases"), spec);
const read = (root: string, rel: string): string => fs.readFileSync(path.join(root, rel), "utf8");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The `Installed versions:` block: header, `* <vsn>\t<status>` lines, an empty line. */
const block = (...rows: [string, string][]): string =>
  `Installed versions:\n${rows.map(([v, s]) => `* ${v}\t${s}\n`).join("")}\n`;
const unzipLine = (...specs: PackageSpec[]): string =>
  `unzip [${specs.map((s) => `"releases/${packageFileName(s)}"`).join(",")}]\n`;

const PING_FAILED = "Node 'emqx@127.0.0.1' not responding to pings.";
const Z16: PackageSpec = { version: "4.4.16" };
const UNPACKED_16 = `${unzipLine(Z16)}Release 4.4.16 not found, attempting to unpack releases/emqx-4.4.16.tar.gz\n`;
const BASE_BLOCK = block(["4.4.12", "unpacked"], ["4.4.10", "permanent"], ["4.4.5", "old"]);
const REFUSED_435 = "Cannot upgrade/downgrade to 4.3.5 from 4.4.10\nWe only support relup between patch versions\n";

type Scripts = "4.4.0" | "4.4.16";
type PerScripts<T> = T | { "4.4.0": T; "4.4.16": T };
const pick = <T>(v: PerScripts<T>, s: Scripts): T =>
  typeof v === "object" && v !== null && !(v instanceof RegExp) && "4.4.0" in (v as object)
    ? (v as Record<Scripts, T>)[s]
    : (v as T);

// One row of the table. The install runs 4.4.10 (erts 12.1.5) with 4.4.12 `unpacked` and 4.4.5
// `old`, and bin scripts of the variant; row shape:
// { name, zips: packages put in releases/, setup: emqx commands run first (each must exit 0),
//   faults, running, prepare(root), bin: script to run (default emqx), args,
//   stdout: exact text or RegExp (per variant allowed), stderr: fragment ("" = empty), exit }
interface Row {
  name: string;
  only?: Scripts;
  zips?: PackageSpec[];
  setup?: string[][];
  faults?: EmulatorFaults;
  running?: boolean;
  prepare?: (root: string) => void;
  bin?: string;
  args: string[];
  stdout: PerScripts<string | RegExp | ((root: string) => string)>;
  stderr?: PerScripts<string>;
  exit: PerScripts<number>;
}

const ROWS: Row[] = [
  // docs/emqx-4.4-hot-upgrade.md §2.4 `unpack <V>`
  {
    name: "unpack of an unknown version repacks its zip and unpacks it",
    zips: [Z16],
    args: ["unpack", "4.4.16"],
    stdout: `${UNPACKED_16}Unpacked successfully: "4.4.16"\n`,
    stderr: "",
    exit: 0,
  },
  {
    name: "unpack of an old release says it is marked old",
    args: ["unpack", "4.4.5"],
    stdout: "Release 4.4.5 is marked old.\n",
    exit: 0,
  },
  {
    name: "unpack of an unpacked release says it is already unpacked",
    args: ["unpack", "4.4.12"],
    stdout: "Release 4.4.12 is already unpacked.\n",
    exit: 0,
  },
  {
    name: "unpack of the current release says it is installed and current",
    setup: [["upgrade", "--no-permanent", "4.4.12"]],
    args: ["unpack", "4.4.12"],
    stdout: "Release 4.4.12 is already installed and current.\n",
    exit: 0,
  },
  {
    name: "unpack of the permanent release says it is set permanent",
    args: ["unpack", "4.4.10"],
    stdout: "Release 4.4.10 is already installed and set permanent.\n",
    exit: 0,
  },
  {
    name: "fails to unpack without a package: release_package_not_found with a period and the versions block",
    args: ["unpack", "4.4.17"],
    stdout: `unzip []\nUnpack failed: release_package_not_found.\n${BASE_BLOCK}`,
    exit: 2,
  },
  {
    name: "fails to unpack another minor version (validated by the escript only from 4.4.12)",
    args: ["unpack", "4.3.5"],
    stdout: { "4.4.0": `unzip []\nUnpack failed: release_package_not_found.\n${BASE_BLOCK}`, "4.4.16": REFUSED_435 },
    stderr: { "4.4.0": "", "4.4.16": "escript: exception error: {relup_not_allowed,unsupported_target_version}" },
    exit: { "4.4.0": 2, "4.4.16": 127 },
  },

  // docs/emqx-4.4-hot-upgrade.md §2.4 `install <V>` / `upgrade <V>` / `downgrade <V>`
  {
    name: "upgrade to an unknown version unpacks, installs and makes it permanent",
    zips: [Z16],
    args: ["upgrade", "4.4.16"],
    stdout: `${UNPACKED_16}Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\nMade release permanent: "4.4.16"\n`,
    stderr: "",
    exit: 0,
  },
  {
    name: "downgrade to an old release switches to it",
    args: ["downgrade", "4.4.5"],
    stdout:
      'Release 4.4.5 is marked old, switching to it.\nInstalled Release: 4.4.5.\nMade release permanent: "4.4.5"\n',
    exit: 0,
  },
  {
    name: "install of an unpacked release installs it",
    args: ["install", "4.4.12"],
    stdout:
      'Release 4.4.12 is already unpacked, now installing.\nInstalled Release: 4.4.12.\nMade release permanent: "4.4.12"\n',
    exit: 0,
  },
  {
    name: "install of the current release makes it permanent",
    setup: [["upgrade", "--no-permanent", "4.4.12"]],
    args: ["install", "4.4.12"],
    stdout: 'Release 4.4.12 is already installed and current, making permanent.\nMade release permanent: "4.4.12"\n',
    exit: 0,
  },
  {
    name: "install --no-permanent of the current release does nothing",
    setup: [["upgrade", "--no-permanent", "4.4.12"]],
    args: ["install", "--no-permanent", "4.4.12"],
    stdout: "Release 4.4.12 is already installed and current.\n",
    exit: 0,
  },
  {
    name: "upgrade to the permanent running release does nothing",
    args: ["upgrade", "4.4.10"],
    stdout: "Release 4.4.10 is already installed, running and set permanent.\n",
    exit: 0,
  },
  {
    name: "install of the permanent release while another is current names the current one, then installs",
    setup: [["upgrade", "--no-permanent", "4.4.12"]],
    args: ["install", "4.4.10"],
    stdout:
      'Release 4.4.12 is the currently running version.\nInstalled Release: 4.4.10.\nMade release permanent: "4.4.10"\n',
    exit: 0,
  },
  {
    name: "fails to upgrade without a package: release_package_not_found without a period",
    args: ["upgrade", "4.4.17"],
    stdout: `unzip []\nUnpack failed: release_package_not_found\n${BASE_BLOCK}`,
    exit: 2,
  },
  {
    name: "fails to install a target whose relup does not cover the running version (exit 3)",
    zips: [{ version: "4.4.16", relupFrom: ["4.4.15"] }],
    args: ["upgrade", "4.4.16"],
    stdout: `${UNPACKED_16}Unpacked successfully: "4.4.16".\nERROR: release_handler:check_install_release failed: {no_matching_relup,\n${" ".repeat(54)}"4.4.16","4.4.10"}.\n`,
    exit: 3,
  },
  {
    name: "fails to install a target shipped without a relup file (exit 4)",
    zips: [{ version: "4.4.16", relupFrom: [] }],
    args: ["upgrade", "4.4.16"],
    stdout: `${UNPACKED_16}Unpacked successfully: "4.4.16".\nERROR: release_handler:install_release failed: {no_matching_relup,"4.4.16",\n${" ".repeat(48)}"4.4.10"}\n`,
    exit: 4,
  },
  {
    name: "fails after the unpack when release_handler refuses the install (rhFail: old processes, exit 3)",
    zips: [{ version: "4.4.16" }],
    faults: { rhFail: { install_release: "{old_processes,emqx_relup}" } },
    args: ["upgrade", "4.4.16"],
    stdout: `${UNPACKED_16}Unpacked successfully: "4.4.16".\nERROR: unable to install '4.4.16' - old processes still running code from module emqx_relup\n`,
    exit: 3,
  },
  {
    name: "fails with old processes still running (forced exit 3)",
    faults: { exit: { upgrade: 3 } },
    args: ["upgrade", "4.4.16"],
    stdout: "ERROR: unable to install '4.4.16' - old processes still running code from module emqx_relup\n",
    exit: 3,
  },
  {
    name: "fails to upgrade to another minor version (refused by the escript only from 4.4.4)",
    args: ["upgrade", "4.3.5"],
    stdout: { "4.4.0": `unzip []\nUnpack failed: release_package_not_found\n${BASE_BLOCK}`, "4.4.16": REFUSED_435 },
    stderr: { "4.4.0": "", "4.4.16": "escript: exception error: {relup_not_allowed,unsupported_target_version}" },
    exit: { "4.4.0": 2, "4.4.16": 127 },
  },
  {
    name: "upgrade to 4.5 passes the version check (allowed from 4.4.8)",
    args: ["upgrade", "4.5.0"],
    stdout: `unzip []\nUnpack failed: release_package_not_found\n${BASE_BLOCK}`,
    exit: 2,
  },
  {
    name: "fails to upgrade to a version that is not SemVer",
    args: ["upgrade", "v4.4.16"],
    stdout: { "4.4.0": `unzip []\nUnpack failed: release_package_not_found\n${BASE_BLOCK}`, "4.4.16": "" },
    stderr: { "4.4.0": "", "4.4.16": 'escript: exception error: {invalid_semver,"v4.4.16"}' },
    exit: { "4.4.0": 2, "4.4.16": 127 },
  },
  {
    name: "fails without a version argument",
    args: ["upgrade"],
    stdout: "Missing version argument\nUsage: emqx upgrade {version}\n",
    stderr: "",
    exit: 1,
  },
  {
    name: "fails when only --no-permanent is given: the escript crashes",
    args: ["upgrade", "--no-permanent"],
    stdout: "",
    stderr: "escript: exception error: bad argument",
    exit: 127,
  },
  {
    name: "fails to upgrade on a stopped node",
    running: false,
    zips: [Z16],
    args: ["upgrade", "4.4.16"],
    stdout: "Node is not running!\n",
    stderr: PING_FAILED,
    exit: 1,
  },

  // docs/emqx-4.4-hot-upgrade.md §2.4 `uninstall <V>`
  {
    name: "uninstall of an unknown version is a silent success",
    args: ["uninstall", "4.4.3"],
    stdout: "Release 4.4.3 is already uninstalled.\n",
    exit: 0,
  },
  {
    name: "uninstall of an old release removes it",
    args: ["uninstall", "4.4.5"],
    stdout: "Release 4.4.5 is marked old, uninstalling it.\nUninstalled Release: 4.4.5\n",
    exit: 0,
  },
  {
    name: "uninstall of an unpacked release removes it",
    args: ["uninstall", "4.4.12"],
    stdout: "Release 4.4.12 is marked unpacked, uninstalling it\nUninstalled Release: 4.4.12\n",
    exit: 0,
  },
  {
    name: "fails to uninstall the current release",
    setup: [["upgrade", "--no-permanent", "4.4.12"]],
    args: ["uninstall", "4.4.12"],
    stdout: "Uninstall failed: Release 4.4.12 is marked current.\n",
    exit: 2,
  },
  {
    name: "fails to uninstall the permanent release",
    args: ["uninstall", "4.4.10"],
    stdout: "Uninstall failed: Release 4.4.10 is running.\n",
    exit: 2,
  },
  {
    name: "fails to remove a release when release_handler cannot (forced exit 3)",
    faults: { exit: { uninstall: 3 } },
    args: ["uninstall", "4.4.5"],
    stdout: "Release 4.4.5 is marked old, uninstalling it.\nERROR: release_handler:remove_release failed: eacces\n",
    exit: 3,
  },

  // docs/emqx-4.4-hot-upgrade.md §2.4 `versions`, §1.1-1.3
  {
    name: "versions prints a header, tab-separated lines in release_handler order and an empty line",
    args: ["versions"],
    stdout: BASE_BLOCK,
    stderr: "",
    exit: 0,
  },
  {
    name: "fails to list versions on a stopped node",
    running: false,
    args: ["versions"],
    stdout: "Node is not running!\n",
    stderr: PING_FAILED,
    exit: 1,
  },
  {
    name: "fails to list versions with an extra argument",
    args: ["versions", "4.4.10"],
    stdout: "",
    stderr: "escript: exception error: no function clause matching",
    exit: 127,
  },
  {
    name: "root_dir prints the root with double quotes",
    args: ["root_dir"],
    stdout: (root) => `"${root}"\n`,
    stderr: "",
    exit: 0,
  },
  {
    name: "fails to print root_dir on a stopped node",
    running: false,
    args: ["root_dir"],
    stdout: { "4.4.0": "Node is not running!\n", "4.4.16": "" },
    stderr: { "4.4.0": PING_FAILED, "4.4.16": "ERROR: node_is_not_running!" },
    exit: 1,
  },
  {
    name: "prints the ulimit warning on stdout before root_dir",
    faults: { ulimitWarning: true },
    args: ["root_dir"],
    stdout: (root) => `!!!!\n!!!! WARNING: ulimit -n is 256; 1024 is the recommended minimum.\n!!!!\n"${root}"\n`,
    exit: 0,
  },
  {
    name: "ctl status prints the running version (emqx ctl exists only from 4.4.4)",
    args: ["ctl", "status"],
    stdout: {
      "4.4.0": /^Usage: emqx \{start\|.*\|root_dir\}\n$/,
      "4.4.16": "Node 'emqx@127.0.0.1' 4.4.10 is started\n",
    },
    exit: { "4.4.0": 1, "4.4.16": 0 },
  },
  {
    name: "bin/emqx_ctl status prints the running version",
    bin: "emqx_ctl",
    args: ["status"],
    stdout: "Node 'emqx@127.0.0.1' 4.4.10 is started\n",
    exit: 0,
  },
  {
    name: "fails ctl status on a stopped node",
    running: false,
    bin: "emqx_ctl",
    args: ["status"],
    stdout: "",
    stderr: { "4.4.0": PING_FAILED, "4.4.16": "ERROR: node_is_not_running!" },
    exit: 1,
  },
  {
    name: "ctl cluster status prints the Erlang map of nodes",
    only: "4.4.16",
    faults: { clusterNodes: { running: ["emqx@127.0.0.1", "emqx@10.0.0.2"], stopped: ["emqx@10.0.0.3"] } },
    args: ["ctl", "cluster", "status"],
    stdout:
      "Cluster status: #{running_nodes => ['emqx@127.0.0.1','emqx@10.0.0.2'],\n                  stopped_nodes => ['emqx@10.0.0.3']}\n",
    exit: 0,
  },
  {
    name: "ctl cluster status of a single node fits on one line",
    only: "4.4.16",
    args: ["ctl", "cluster", "status"],
    stdout: "Cluster status: #{running_nodes => ['emqx@127.0.0.1'],stopped_nodes => []}\n",
    exit: 0,
  },
  { name: "ping prints pong", args: ["ping"], stdout: "pong\n", stderr: "", exit: 0 },
  { name: "fails ping on a stopped node", running: false, args: ["ping"], stdout: "", stderr: PING_FAILED, exit: 1 },
  // relx's one line (4.4.0-4.4.2), the "COMMAND [help]" block (4.4.16+): real captures B08, A08.
  {
    name: "fails without a command: usage",
    args: [],
    stdout: { "4.4.0": /^Usage: emqx \{start\|/, "4.4.16": /^Usage: emqx COMMAND \[help\]\n/ },
    exit: 1,
  },
  {
    name: "help prints the usage",
    args: ["help"],
    stdout: { "4.4.0": /^Usage: emqx \{start\|/, "4.4.16": /^Usage: emqx COMMAND \[help\]\n/ },
    exit: 0,
  },
  {
    name: "a command's help prints its usage",
    args: ["upgrade", "help"],
    stdout: /^Usage: emqx upgrade \[VERSION\]\n/,
    exit: 0,
  },
  {
    name: "fails when the node was never started (no vm.*.args)",
    prepare: (root) => fs.rmSync(path.join(root, "data", "configs"), { recursive: true }),
    args: ["versions"],
    stdout: "",
    stderr: "There is no vm.*.args config file found in",
    exit: 1,
  },
];

describe.each(["4.4.0", "4.4.16"] as Scripts[])("emqx CLI with bin scripts of %s", (scripts) => {
  test.each(ROWS.filter((r) => !r.only || r.only === scripts).map((r) => [r.name, r] as [string, Row]))(
    "%s",
    async (_name, row) => {
      // GIVEN an install running 4.4.10 with 4.4.12 unpacked and 4.4.5 old, and the row's packages
      const root = newInstall(
        {
          scriptVersion: scripts,
          running: row.running,
          extraReleases: [
            { version: "4.4.12", status: "unpacked" },
            { version: "4.4.5", status: "old" },
          ],
        },
        row.faults,
      );
      for (const spec of row.zips ?? []) await zip(root, spec);
      row.prepare?.(root);
      for (const args of row.setup ?? []) expect(run(root, args)).toMatchObject({ code: 0 });
      // WHEN the command runs
      const r = run(root, row.args, { bin: row.bin });
      // THEN stdout, stderr and the exit code are the reference's
      const want = pick(row.stdout, scripts);
      if (want instanceof RegExp) expect(r.stdout).toMatch(want);
      else expect(r.stdout).toBe(typeof want === "function" ? want(root) : want);
      const wantErr = row.stderr === undefined ? undefined : pick(row.stderr, scripts);
      if (wantErr === "") expect(r.stderr).toBe("");
      else if (wantErr !== undefined) expect(r.stderr).toContain(wantErr);
      expect(r.code).toBe(pick(row.exit, scripts));
    },
  );
});

describe("emulated install state", () => {
  test("a successful upgrade permafies in the reference's order: RELEASES, start_erl.data, bin scripts, emqx_vars", async () => {
    const root = newInstall({ version: "4.4.0" });
    await zip(root, Z16);
    expect(run(root, ["upgrade", "4.4.16"]).code).toBe(0);
    expect(emulatorVersions(root)).toEqual([
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ]);
    expect(read(root, "releases/RELEASES")).toMatch(
      /"4\.4\.16","12\.3\.2\.2",[\s\S]*permanent\},\n \{release,"emqx","4\.4\.0"[\s\S]*old\}\]\.\n$/,
    );
    expect(read(root, "releases/start_erl.data")).toBe("12.3.2.2 4.4.16");
    for (const f of ["emqx", "emqx_ctl", "cuttlefish", "nodetool", "install_upgrade.escript"]) {
      expect(read(root, `bin/${f}`)).toBe(launcherScript(f, "4.4.16"));
    }
    expect(
      read(root, "releases/emqx_vars").endsWith('## overwritten vars here\nREL_VSN="4.4.16"\nERTS_VSN="12.3.2.2"\n'),
    ).toBe(true);
    // the 4.4.0 escript does not copy no_dot_erlang.boot (added in 4.4.7)
    expect(read(root, "bin/no_dot_erlang.boot")).toContain("of 4.4.0");
    expect(fs.statSync(path.join(root, "bin", "emqx")).mode & 0o111).toBe(0o111);
    // the new bin scripts apply at once: `emqx ctl` exists from 4.4.4
    expect(run(root, ["ctl", "status"]).stdout).toBe("Node 'emqx@127.0.0.1' 4.4.16 is started\n");
  });

  test("the 4.4.16 escript also copies no_dot_erlang.boot, and the new ERTS bin dir becomes executable", async () => {
    const root = newInstall({ version: "4.4.10", scriptVersion: "4.4.16" });
    await zip(root, Z16);
    expect(run(root, ["upgrade", "4.4.16"]).code).toBe(0);
    expect(read(root, "bin/no_dot_erlang.boot")).toContain("of 4.4.16");
    // files repacked from the zip lost their modes; bin/emqx (4.4.7+) chmods erts-$ERTS_VSN/bin
    expect(fs.statSync(path.join(root, "bin", "emqx-4.4.16")).mode & 0o111).toBe(0);
    expect(run(root, ["versions"]).code).toBe(0);
    expect(fs.statSync(path.join(root, "erts-12.3.2.2", "bin", "erl")).mode & 0o111).toBe(0o111);
  });

  test("unpack writes a real tar.gz of the zip's emqx/ folder and extracts it without overwriting existing files", async () => {
    const root = newInstall();
    const zipFile = await zip(root, Z16);
    const varsBefore = read(root, "releases/emqx_vars");
    const emqxBefore = read(root, "bin/emqx");
    expect(run(root, ["unpack", "4.4.16"]).code).toBe(0);
    // What unpack_zipballs leaves in /tmp (docs/emqx-4.4-hot-upgrade.md §2.5): emqx_untar_<system_time>/
    // with the zip's copy (emqx.zip, same bytes: the provider's cleanup recognises its own package by it)
    // and the unzipped emqx/.
    const [untar] = fs.readdirSync(path.join(path.dirname(root), "tmp")).filter((n) => n.startsWith("emqx_untar_"));
    expect(untar).toMatch(/^emqx_untar_\d{19}$/);
    const untarDir = path.join(path.dirname(root), "tmp", untar);
    expect(fs.readdirSync(untarDir).sort()).toEqual(["emqx", "emqx.zip"]);
    expect(fs.readFileSync(path.join(untarDir, "emqx.zip")).equals(fs.readFileSync(zipFile))).toBe(true);
    const listing = spawnSync("tar", ["tzf", path.join(root, "releases", "emqx-4.4.16.tar.gz")], {
      encoding: "utf8",
    }).stdout;
    expect(listing.split("\n")).toEqual(
      expect.arrayContaining(["releases/4.4.16/emqx.rel", "bin/emqx-4.4.16", "lib/emqx-4.4.16/ebin/emqx.app"]),
    );
    expect(fs.existsSync(path.join(root, "releases", "4.4.16", "relup"))).toBe(true);
    expect(fs.existsSync(path.join(root, "lib", "emqx-4.4.16"))).toBe(true);
    expect(fs.existsSync(path.join(root, "erts-12.3.2.2", "bin", "erl"))).toBe(true);
    expect(fs.existsSync(path.join(root, "releases", "4.4.16", "emqx.tar.gz"))).toBe(false);
    expect(read(root, "releases/emqx_vars")).toBe(varsBefore);
    expect(read(root, "bin/emqx")).toBe(emqxBefore);
    expect(
      fs.readdirSync(path.join(path.dirname(root), "tmp")).filter((n) => n.startsWith("emqx_untar_")),
    ).toHaveLength(1);
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.16", "unpacked"], ["4.4.10", "permanent"]));
  });

  test("fails with exit 127 when a second zip matches: the escript crashes on it after repacking the first", async () => {
    // GIVEN a 4.4.0 node with the 4.4.1 and the 4.4.16 zips in releases/ ("4.4.1" matches both names)
    // (docs/emqx-4.4-hot-upgrade.md, correction 1 at the top, and §5)
    const root = newInstall({ version: "4.4.0" });
    const z1: PackageSpec = { version: "4.4.1" };
    await zip(root, z1);
    await zip(root, Z16);
    // WHEN upgrading to 4.4.1
    const r = run(root, ["upgrade", "4.4.1"]);
    // THEN stdout is only the unzip list (wrapped as ~p does), the escript crashes on the second zip
    expect(r.stdout).toBe(`unzip ["releases/${packageFileName(z1)}",\n       "releases/${packageFileName(Z16)}"]\n`);
    expect(r.stderr).toContain("escript: exception error: no match of right hand side value {error,enoent}");
    expect(r.code).toBe(127);
    // AND it leaves the tar.gz of the FIRST zip, two untar dirs (the second empty), nothing unpacked
    const listing = spawnSync("tar", ["tzf", path.join(root, "releases", "emqx-4.4.1.tar.gz")], {
      encoding: "utf8",
    }).stdout;
    expect(listing).toContain("releases/4.4.1/emqx.rel");
    expect(listing).not.toContain("releases/4.4.16/");
    expect(fs.existsSync(path.join(root, "releases", "4.4.1"))).toBe(false);
    const untar = fs.readdirSync(path.join(path.dirname(root), "tmp")).sort();
    expect(untar).toHaveLength(2);
    expect(fs.readdirSync(path.join(path.dirname(root), "tmp", untar[1]))).toEqual([]);
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.0", "permanent"]));
    // AND once the extra zip is gone, a retry upgrades
    fs.unlinkSync(path.join(root, "releases", packageFileName(Z16)));
    const retry = run(root, ["upgrade", "4.4.1"]);
    expect(retry.code).toBe(0);
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.1", "permanent"], ["4.4.0", "old"]));
  });

  test("a CE and an EE zip of the same version crash the same way, with the 4.4.16 escript", async () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    const ee: PackageSpec = { version: "4.4.16", edition: "ee" };
    await zip(root, Z16);
    await zip(root, ee);
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stdout).toBe(`unzip ["releases/${packageFileName(Z16)}",\n       "releases/${packageFileName(ee)}"]\n`);
    expect(r.code).toBe(127);
    expect(fs.existsSync(path.join(root, "lib", "emqx_license-4.4.16"))).toBe(false);
  });

  test("fails with exit 127 when the zip's top folder is not emqx/", async () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    await zip(root, { version: "4.4.16", topFolder: "emqx-4.4.16" });
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stdout).toBe(unzipLine(Z16));
    expect(r.stderr).toContain("escript: exception error: no match of right hand side value {error,enoent}");
    expect(r.code).toBe(127);
  });

  test("upgrade --no-permanent then stop and start: the node boots its permanent release again", async () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    await zip(root, Z16);
    expect(run(root, ["upgrade", "--no-permanent", "4.4.16"]).stdout).toBe(
      `${UNPACKED_16}Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\n`,
    );
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.16", "current"], ["4.4.10", "permanent"]));
    expect(run(root, ["ctl", "status"]).stdout).toBe("Node 'emqx@127.0.0.1' 4.4.16 is started\n");
    expect(read(root, "releases/RELEASES")).toMatch(/"4\.4\.16"[\s\S]*unpacked\}/);
    expect(run(root, ["stop"])).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(run(root, ["ping"])).toMatchObject({ code: 1, stderr: `${PING_FAILED}\n` });
    expect(run(root, ["start"])).toMatchObject({ code: 0, stdout: "EMQ X Broker 4.4.10 is started successfully!\n" });
    expect(run(root, ["start"])).toMatchObject({ code: 1, stdout: "Node is already running!\n" });
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.16", "unpacked"], ["4.4.10", "permanent"]));
    expect(run(root, ["ctl", "status"]).stdout).toBe("Node 'emqx@127.0.0.1' 4.4.10 is started\n");
  });

  test("fails half-way through permafy: RELEASES says permanent, bin scripts and emqx_vars are old, a rerun does not repair", async () => {
    const root = newInstall({ scriptVersion: "4.4.10" }, { failAfterPermanent: true });
    await zip(root, Z16);
    const vars = read(root, "releases/emqx_vars");
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stdout.endsWith('Installed Release: 4.4.16.\nMade release permanent: "4.4.16"\n')).toBe(true);
    expect(r.stderr).toContain("escript: exception error: no match of right hand side value {error,eacces}");
    expect(r.code).toBe(127);
    expect(read(root, "releases/start_erl.data")).toBe("12.3.2.2 4.4.16");
    expect(read(root, "bin/emqx")).toBe(launcherScript("emqx", "4.4.10"));
    expect(read(root, "releases/emqx_vars")).toBe(vars);
    faults(root, {});
    expect(run(root, ["upgrade", "4.4.16"]).stdout).toBe(
      "Release 4.4.16 is already installed, running and set permanent.\n",
    );
    expect(read(root, "bin/emqx")).toBe(launcherScript("emqx", "4.4.10"));
  });

  test("fails with exit 127 after `Made release permanent` when a bin/<f>-<V> is missing; scripts before it are copied", async () => {
    const root = newInstall({ scriptVersion: "4.4.10" });
    const entries = packageEntries(Z16).filter((e) => e.name !== "emqx/bin/nodetool-4.4.16");
    await writeZip(path.join(root, "releases", packageFileName(Z16)), entries);
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stdout.endsWith('Made release permanent: "4.4.16"\n')).toBe(true);
    expect(r.stderr).toContain("escript: exception error: no match of right hand side value {error,enoent}");
    expect(r.code).toBe(127);
    // copy order: emqx, emqx_ctl, cuttlefish, nodetool (missing: crash), install_upgrade.escript
    expect(read(root, "bin/cuttlefish")).toBe(launcherScript("cuttlefish", "4.4.16"));
    expect(read(root, "bin/nodetool")).toBe(launcherScript("nodetool", "4.4.10"));
    expect(read(root, "bin/install_upgrade.escript")).toBe(launcherScript("install_upgrade.escript", "4.4.10"));
  });
});

describe("script-version quirks", () => {
  test("fails to reinstall an unpacked release without its package with 4.4.2-4.4.14 scripts (is_dir bug)", () => {
    const root = newInstall({ scriptVersion: "4.4.10", extraReleases: [{ version: "4.4.12", status: "unpacked" }] });
    const r = run(root, ["install", "4.4.12"]);
    expect(r.stdout).toBe(
      `unzip []\nUnpack failed: release_package_not_found\n${block(["4.4.12", "unpacked"], ["4.4.10", "permanent"])}`,
    );
    expect(r.code).toBe(2);
  });

  test("unpack then install --no-permanent with 4.4.10 scripts rewrites RELEASES and cuts the CLI off the node", async () => {
    // GIVEN 4.4.16 unpacked in a first step, its zip still in releases/
    const root = newInstall({ scriptVersion: "4.4.10" });
    await zip(root, Z16);
    expect(run(root, ["unpack", "4.4.16"]).code).toBe(0);
    // WHEN installing it without making it permanent: the re-unpack path (existing_release)
    const r = run(root, ["install", "--no-permanent", "4.4.16"]);
    expect(r.stdout).toBe(`${UNPACKED_16}Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\n`);
    expect(r.code).toBe(0);
    // THEN RELEASES lists only 4.4.16 (permanent) while emqx_vars still says 4.4.10: nodetool fails
    expect(read(root, "releases/RELEASES")).not.toContain('"4.4.10"');
    const v = run(root, ["versions"]);
    expect(v.stdout).toBe("Node is not running!\n");
    expect(v.stderr).toContain('failed_to_find_release_in_RELEASES,"4.4.10"');
    expect(v.code).toBe(1);
    expect(emulatorVersions(root)).toEqual([
      { version: "4.4.16", status: "current" },
      { version: "4.4.10", status: "permanent" },
    ]);
  });

  test("fails root_dir on a stopped node with 4.4.4-4.4.7 scripts: `die` is not defined", () => {
    const root = newInstall({ scriptVersion: "4.4.5", running: false });
    const r = run(root, ["root_dir"]);
    expect(r.stderr).toContain(PING_FAILED);
    expect(r.stderr).toContain("die: command not found");
    expect(r.code).toBe(127);
  });

  test("forced exit 4 restarts the node on its permanent release", () => {
    const root = newInstall({ scriptVersion: "4.4.16", extraReleases: [{ version: "4.4.12", status: "unpacked" }] });
    expect(run(root, ["upgrade", "--no-permanent", "4.4.12"]).code).toBe(0);
    faults(root, { exit: { upgrade: 4 } });
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stdout).toMatch(/^ERROR: release_handler:install_release failed: /);
    expect(r.code).toBe(4);
    faults(root, {});
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.12", "unpacked"], ["4.4.10", "permanent"]));
    expect(run(root, ["ctl", "status"]).stdout).toBe("Node 'emqx@127.0.0.1' 4.4.10 is started\n");
  });
});

describe("emulator bookkeeping and faults", () => {
  test("every call lands in calls.log with its argv, exit code and duration, failing ones too", () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    const calls: [string | undefined, string[]][] = [
      [undefined, ["versions"]],
      [undefined, ["upgrade"]],
      [undefined, ["upgrade", "4.3.5"]],
      [undefined, ["root_dir"]],
      [undefined, ["bogus"]],
      ["emqx_ctl", ["status"]],
    ];
    const codes = calls.map(([bin, args]) => run(root, args, { bin }).code);
    expect(codes).toEqual([0, 1, 127, 0, 1, 0]);
    const log = readCallLog(root);
    // bin/emqx_ctl (4.4.4+) is `exec bin/emqx ctl`: one call, logged with its own argv
    expect(log.map((c) => [c.argv, c.exitCode])).toEqual(calls.map(([, args], i) => [args, codes[i]]));
    for (const c of log) {
      expect(c.durationMs).toBeGreaterThanOrEqual(0);
      expect(c.user).toBe("root");
    }
    expect(log.map((c) => c.ts)).toEqual([...log.map((c) => c.ts)].sort((a, b) => a - b));
  });

  test("read-only commands leave the tree hash unchanged", () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    const before = treeHash(root);
    for (const args of [
      ["versions"],
      ["root_dir"],
      ["ping"],
      ["ctl", "status"],
      ["upgrade", "4.3.5"],
      ["upgrade", "4.4.10"],
    ])
      run(root, args);
    expect(treeHash(root)).toBe(before);
    expect(readCallLog(root)).toHaveLength(6);
  });

  test("hangMs sleeps before acting; a caller's SIGTERM ends the call and it is still logged", async () => {
    const root = newInstall({ scriptVersion: "4.4.16" }, { hangMs: { versions: 600_000 } });
    const { child, done } = start(root, ["versions"]);
    await sleep(1500);
    child.kill("SIGTERM");
    const r = await done;
    expect(r.stdout).toBe("");
    expect(readCallLog(root).map((c) => c.exitCode)).toEqual([143]);
    faults(root, { hangMs: { versions: 700 } });
    const t0 = Date.now();
    expect(run(root, ["versions"]).code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
  });

  test("holdMs holds inside install_release: other release_handler calls wait, and killing the CLI does not stop the switch", async () => {
    const root = newInstall({ scriptVersion: "4.4.16" }, { holdMs: { upgrade: 3000 } });
    await zip(root, Z16);
    // GIVEN an upgrade held inside install_release
    const first = start(root, ["upgrade", "4.4.16"]);
    const t0 = Date.now();
    // The hold has begun when the lock is held by the detached node process, not by the CLI itself
    // (the CLI takes it too, for unpack, just before: `versions` in that gap would not wait).
    const lockHolder = () => {
      try {
        return fs.readFileSync(path.join(root, ".emulator", "lock"), "utf8");
      } catch {
        return "";
      }
    };
    while (
      lockHolder() === "" ||
      lockHolder() === String(first.child.pid) ||
      !emulatorVersions(root).some((v) => v.version === "4.4.16")
    )
      await sleep(20);
    // WHEN `versions` runs meanwhile, it waits for the held call (release_handler is one gen_server)
    const v = run(root, ["versions"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
    expect(v.stdout).toMatch(/^Installed versions:\n\* 4\.4\.16\t(current|permanent)\n/);
    expect((await first.done).code).toBe(0);
    // AND a second host: the CLI is killed mid-hold, the node still completes the switch
    const root2 = newInstall({ scriptVersion: "4.4.16" }, { holdMs: { upgrade: 2000 } });
    await zip(root2, Z16);
    const second = start(root2, ["upgrade", "4.4.16"]);
    while (!emulatorVersions(root2).some((x) => x.version === "4.4.16")) await sleep(50);
    await sleep(300);
    second.child.kill("SIGKILL");
    await second.done;
    faults(root2, {});
    expect(run(root2, ["versions"]).stdout).toBe(block(["4.4.16", "current"], ["4.4.10", "permanent"]));
    expect(fs.readdirSync(path.join(root2, ".emulator")).filter((n) => n.startsWith("rpc-"))).toEqual([]);
  });

  test("concurrent calls keep state.json whole", async () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    await zip(root, Z16);
    const all = [start(root, ["upgrade", "4.4.16"]), ...Array.from({ length: 8 }, () => start(root, ["versions"]))];
    const results = await Promise.all(all.map((c) => c.done));
    expect(results[0]).toMatchObject({ code: 0 });
    // nodetool reads RELEASES on every call and release_handler rewrites it in place (OTP opens it
    // for writing, prints the term, closes it), so a `versions` landing mid-rewrite fails as it would
    // on a real node. Any other failure (a lock fight, a torn state.json) is a bug; its output shows.
    const midRewrite = /failed_to_read_RELEASES_file|failed_to_find_release_in_RELEASES/;
    expect(results.filter((r) => r.code !== 0 && !midRewrite.test(r.stderr))).toEqual([]);
    expect(emulatorVersions(root)).toEqual([
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.10", status: "old" },
    ]);
    expect(fs.readdirSync(path.join(root, ".emulator")).sort()).toEqual(["calls.log", "faults.json", "state.json"]);
    expect(readCallLog(root)).toHaveLength(9);
  });

  test("nodeDown makes a running node unreachable", () => {
    const root = newInstall({ scriptVersion: "4.4.16" }, { nodeDown: true });
    expect(run(root, ["ping"])).toMatchObject({ code: 1, stdout: "", stderr: `${PING_FAILED}\n` });
    expect(run(root, ["versions"])).toMatchObject({ code: 1, stdout: "Node is not running!\n" });
  });
});

describe("ulimit -n", () => {
  // Transcript A17: `ulimit -n 512; <R>/bin/emqx versions` prints the three-line block first.
  test("below 1024 in the caller, every command prints the warning on stdout before its output", () => {
    const root = newInstall({ scriptVersion: "4.4.16" });
    const r = spawnSync("prlimit", ["--nofile=512:512", "--", path.join(root, "bin", "emqx"), "versions"], {
      encoding: "utf8",
    });
    expect(r.stdout).toBe(
      `!!!!\n!!!! WARNING: ulimit -n is 512; 1024 is the recommended minimum.\n!!!!\n${block(["4.4.10", "permanent"])}`,
    );
    expect(r.status).toBe(0);
    // At 1024 there is no warning.
    expect(
      spawnSync("prlimit", ["--nofile=1024:1024", "--", path.join(root, "bin", "emqx"), "root_dir"], {
        encoding: "utf8",
      }).stdout,
    ).toBe(`"${root}"\n`);
  });
});

describe("RUNNER_USER", () => {
  const nobody = { uid: 65534, gid: 65534 };
  // A runtime user with a login shell, so that `su -` lets root through (nobody's shell is nologin).
  const LOGIN_USER = "emqxemulogin";
  let login: { uid: number; gid: number };
  beforeAll(() => {
    ensureTestUser(LOGIN_USER, randomBytes(8).toString("hex"));
    login = {
      uid: Number(execFileSync("id", ["-u", LOGIN_USER]).toString()),
      gid: Number(execFileSync("id", ["-g", LOGIN_USER]).toString()),
    };
  });

  test("fails for a non-root caller who is not RUNNER_USER", () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: "emqx" });
    const r = run(root, ["versions"], nobody);
    expect(r).toMatchObject({ code: 1, stdout: "You need to be root or use sudo to run this command\n" });
    expect(readCallLog(root).map((c) => [c.user, c.exitCode])).toEqual([["nobody", 1]]);
  });

  test("root is re-run as RUNNER_USER through `su -`, which then owns what the upgrade writes", async () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: LOGIN_USER });
    await zip(root, Z16);
    expect(run(root, ["versions"]).stdout).toBe(block(["4.4.10", "permanent"]));
    expect(run(root, ["upgrade", "4.4.16"]).code).toBe(0);
    expect(fs.statSync(path.join(root, "releases", "emqx-4.4.16.tar.gz")).uid).toBe(login.uid);
    expect(readCallLog(root).map((c) => [c.argv[0], c.user, c.exitCode])).toEqual([
      ["versions", "root", 0],
      ["upgrade", "root", 0],
    ]);
  });

  test("root is refused when RUNNER_USER's login shell is nologin, as `su -` refuses on a deb install", () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: "nobody" });
    const r = run(root, ["versions"]);
    expect(r).toMatchObject({ code: 1, stdout: "This account is currently not available.\n" });
    expect(readCallLog(root).map((c) => [c.argv[0], c.user, c.exitCode])).toEqual([["versions", "root", 1]]);
  });

  test("fails with eacces when releases/ is not writable by RUNNER_USER", async () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: LOGIN_USER });
    fs.chownSync(path.join(root, "releases"), 0, 0);
    await zip(root, Z16);
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stderr).toContain(`{error,{"${root}/releases/emqx-4.4.16.tar.gz",eacces}}`);
    expect(r.code).toBe(127);
  });

  test("fails with eacces when the package in releases/ is a root-only file (0600) RUNNER_USER cannot read", async () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: LOGIN_USER });
    const file = await zip(root, Z16);
    fs.chownSync(file, 0, 0);
    fs.chmodSync(file, 0o600);
    const r = run(root, ["upgrade", "4.4.16"]);
    expect(r.stdout).toBe(unzipLine(Z16));
    expect(r.stderr).toContain("escript: exception error: no match of right hand side value {error,eacces}");
    expect(r.code).toBe(127);
    expect(emulatorVersions(root)).toEqual([{ version: "4.4.10", status: "permanent" }]);
  });

  test("reads a root-owned package that is world-readable (0644): ownership alone does not fail", async () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: LOGIN_USER });
    const file = await zip(root, Z16);
    fs.chownSync(file, 0, 0);
    fs.chmodSync(file, 0o644);
    expect(run(root, ["upgrade", "4.4.16"]).code).toBe(0);
  });

  test("fails when RUNNER_USER does not exist", () => {
    const root = newInstall({ scriptVersion: "4.4.16", runnerUser: "emqx-no-such-user" });
    expect(run(root, ["versions"])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("su: user emqx-no-such-user does not exist"),
    });
  });
});

describe("the emulator prints what EMQX's real scripts printed (test/fixtures/real-4.4)", () => {
  // Row: [capture, emulated install's version, node down?, argv]. The emulated node is emqx@127.0.0.1,
  // as on the capture hosts; the capture's root <R> is replaced by each side's own.
  const ROWS: [string, string, boolean, string[]][] = [
    ["A01", "4.4.16", false, ["versions"]],
    ["A02", "4.4.16", false, ["root_dir"]],
    ["A04", "4.4.16", false, ["ctl", "status"]],
    ["A06", "4.4.16", false, ["ctl", "cluster", "status"]],
    ["A07", "4.4.16", false, ["ctl", "nosuchcmd"]],
    ["A08", "4.4.16", false, []],
    ["A09", "4.4.16", false, ["upgrade"]],
    ["A12", "4.4.16", false, ["upgrade", "4.4.99"]],
    ["A29", "4.4.16", false, ["uninstall", "4.4.16"]],
    ["A31", "4.4.16", false, ["uninstall", "4.4.99"]],
    ["A99", "4.4.16", true, ["ping"]],
    ["A100", "4.4.16", true, ["versions"]],
    ["A101", "4.4.16", true, ["root_dir"]],
    ["A102", "4.4.16", true, ["ctl", "status"]],
    ["A104", "4.4.16", true, ["upgrade", "4.4.17"]],
    ["B01", "4.4.0", false, ["versions"]],
    ["B04", "4.4.0", false, ["ctl", "status"]],
    ["B08", "4.4.0", false, []],
    ["B05", "4.4.0", false, ["status"]], // bin/emqx_ctl status
    ["B11", "4.4.0", false, ["upgrade", "4.4.1"]],
    ["B100", "4.4.0", true, ["versions"]],
    ["B101", "4.4.0", true, ["root_dir"]],
  ];
  test.each(ROWS)("%s", (id, version, down, argv) => {
    const real = realOutput(id);
    const root = newInstall({ version, erts: "13.1.5" }, { nodeDown: down });
    const r = run(root, argv, { bin: id === "B05" ? "emqx_ctl" : "emqx" });
    const mine = (s: string) => s.split(root).join(REAL_OUTPUT_ROOT);
    expect({ exitCode: r.code, stdout: mine(r.stdout) }).toEqual({ exitCode: real.exitCode, stdout: real.stdout });
    expect(mine(r.stderr)).toBe(real.stderr);
  });
});
