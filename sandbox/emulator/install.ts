// Lays out an emulated EMQX 4.4 install for tests: the files a zip install has after it was
// started once (docs/emqx-4.4-hot-upgrade.md §3.2, §3.3), with the bin scripts replaced by emulator launchers, plus the
// emulator's own `.emulator/` (state.json, faults.json, calls.log). See emqx.js for the emulator.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { emqxVarsText, packageEntries, relFileText, resolvePackageSpec } from "../package-zip";
import { BIN_SCRIPTS, launcherScript } from "./launcher";

/** What install to create. */
export interface EmulatedInstallSpec {
  /** Install root `<R>` (created if missing). */
  root: string;
  /** The running and permanent release, e.g. "4.4.0". */
  version: string;
  /** @default "ce" */
  edition?: "ce" | "ee";
  /** ERTS of `version`. @default "12.1.5" below 4.4.11, else "12.3.2.2" */
  erts?: string;
  /** Version of the bin scripts in `bin/` (emqx, emqx_ctl, nodetool, cuttlefish, install_upgrade.escript).
   * @default version */
  scriptVersion?: string;
  /** Whether the node is up. @default true */
  running?: boolean;
  /** `RUNNER_USER` in emqx_vars (deb/rpm installs: "emqx"). When the user exists and the caller is
   * root, the tree is chowned to it. @default "" (zip install) */
  runnerUser?: string;
  /** Other releases known to the node, with their files (releases/<V>/, lib, erts, bin/<f>-<V>).
   * `unpacked` ones are listed before `version`, `old` ones after. @default [] */
  extraReleases?: { version: string; status: "old" | "unpacked" }[];
}

/** One line of `.emulator/calls.log`. */
export interface EmulatorCall {
  /** Start of the call, ms since the epoch. */
  ts: number;
  /** The user arguments, e.g. ["upgrade", "4.4.16"]. */
  argv: string[];
  exitCode: number;
  durationMs: number;
  /** `$0` of the bin script. */
  invokedPath?: string;
  /** Which bin script ran ("emqx", "emqx_ctl", ...) and the version it carries. */
  script?: string;
  scriptVersion?: string;
  /** Who ran it (os.userInfo().username). */
  user?: string;
}

/** The fault switches of `.emulator/faults.json`; the comment block of emqx.js says what each does. */
export interface EmulatorFaults {
  exit?: Record<string, number>;
  hangMs?: Record<string, number>;
  holdMs?: Record<string, number>;
  ulimitWarning?: boolean | number;
  nodeDown?: boolean;
  failAfterPermanent?: boolean;
  /** release_handler answers `{error, <reason>}` (the text as `~p` prints it) to this call, after
   * the unpack really happened; `install_release` with `{'EXIT',...}` also restarts the node. */
  rhFail?: { check_install_release?: string; install_release?: string };
  /** The root's filesystem fills up after the upload, before EMQX repacks the zip. */
  fillDiskBeforeUnpack?: boolean;
  /** The uploaded zip is damaged after the upload (cut to half), before EMQX reads it. */
  corruptZipBeforeUnpack?: boolean;
  clusterNodes?: { running?: string[]; stopped?: string[] };
  /** What `ctl broker`/`broker stats`/`listeners`/`plugins list` print (emulator/clients.js). */
  clients?: EmulatorClients & { byVersion?: Record<string, EmulatorClients> };
  untarDir?: string;
}

/** The node's clients as the emulator reports them while running one version. */
export interface EmulatorClients {
  live?: number;
  shutdownCount?: Record<string, number>;
  listeners?: Array<{ id: string; listenOn: string; currentConn: number; shutdownCount?: Record<string, number> }>;
  plugins?: Array<{ name: string; description: string; active: boolean }>;
  /** ctl commands answered with the usage text instead (e.g. "broker stats"). */
  unanswered?: string[];
}

interface ReleaseRecord {
  vsn: string;
  erts: string;
  libs: [string, string, string][];
  status: string;
}

const NODE_NAME = "emqx@127.0.0.1";
const COOKIE = "emqxsecretcookie";
/** Files of a package that an install keeps its own copy of (keep_old_files, docs/emqx-4.4-hot-upgrade.md §3.2). */
const INSTALL_OWNED = new Set([
  "releases/RELEASES",
  "releases/start_erl.data",
  "releases/emqx_vars",
  ...BIN_SCRIPTS.map((f) => `bin/${f}`),
]);

// Writes the package entries of `version` under root, never overwriting (like keep_old_files).
function layOutPackage(
  root: string,
  version: string,
  edition: "ce" | "ee",
  erts: string | undefined,
  withSkeleton: boolean,
): ReleaseRecord {
  const spec = resolvePackageSpec({ version, edition, erts });
  for (const e of packageEntries(spec)) {
    const rel = e.name.replace(/^emqx\//, "").replace(/\/$/, "");
    if (rel === "" || INSTALL_OWNED.has(rel)) continue;
    if (!withSkeleton && /^(etc|data|log)(\/|$)/.test(rel)) continue;
    const dest = path.join(root, rel);
    if (e.name.endsWith("/")) {
      fs.mkdirSync(dest, { recursive: true });
    } else if (!fs.existsSync(dest)) {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const data = e.data === undefined ? "" : e.data;
      if (typeof data === "object" && !Buffer.isBuffer(data))
        throw new Error("random data is not supported in an emulated install");
      fs.writeFileSync(dest, data);
      fs.chmodSync(dest, e.mode ?? 0o644);
    }
  }
  const apps = /\[(.*)\]\}\.\s*$/s.exec(relFileText(spec))?.[1] ?? "";
  const libs = [...apps.matchAll(/\{(\w+),"([^"]+)"\}/g)].map(
    ([, app, vsn]) => [app, vsn, path.join(root, "lib", `${app}-${vsn}`)] as [string, string, string],
  );
  return { vsn: version, erts: spec.erts, libs, status: "" };
}

// `~tp`-like text of releases/RELEASES, as release_handler writes it.
function releasesText(releases: ReleaseRecord[]): string {
  const one = (r: ReleaseRecord): string =>
    `{release,"emqx","${r.vsn}","${r.erts}",\n          [${r.libs.map(([a, v, d]) => `{${a},"${v}","${d}"}`).join(",\n           ")}],\n          ${r.status}}`;
  return `%% coding: utf-8\n[${releases.map(one).join(",\n ")}].\n`;
}

// uid/gid of a local user from /etc/passwd, undefined when it does not exist.
function passwdIds(user: string): { uid: number; gid: number } | undefined {
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.split(":")[0] === user);
  if (!line) return undefined;
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.lchownSync(dir, uid, gid);
  if (!fs.lstatSync(dir).isDirectory()) return;
  for (const n of fs.readdirSync(dir)) chownTree(path.join(dir, n), uid, gid);
}

// Creates an emulated install at spec.root: bin launchers, releases/ (RELEASES, start_erl.data,
// emqx_vars, <V>/ with emqx.rel + relup), lib/, erts-*/, data/configs/vm.*.args, .emulator/state.json.
export function createEmulatedInstall(spec: EmulatedInstallSpec): void {
  const edition = spec.edition ?? "ce";
  const scriptVersion = spec.scriptVersion ?? spec.version;
  const extras = spec.extraReleases ?? [];
  fs.mkdirSync(spec.root, { recursive: true });
  const root = fs.realpathSync(spec.root);
  const main = { ...layOutPackage(root, spec.version, edition, spec.erts, true), status: "permanent" };
  const extraRecords = extras.map((x) => ({
    ...layOutPackage(root, x.version, edition, undefined, false),
    status: x.status,
  }));
  const releases = [
    ...extraRecords.filter((r) => r.status === "unpacked"),
    main,
    ...extraRecords.filter((r) => r.status === "old"),
  ];
  for (const f of BIN_SCRIPTS) {
    fs.writeFileSync(path.join(root, "bin", f), launcherScript(f, scriptVersion));
    fs.chmodSync(path.join(root, "bin", f), 0o755);
  }
  fs.writeFileSync(path.join(root, "releases", "RELEASES"), releasesText(releases));
  fs.writeFileSync(path.join(root, "releases", "start_erl.data"), `${main.erts} ${spec.version}`);
  fs.writeFileSync(
    path.join(root, "releases", "emqx_vars"),
    emqxVarsText({ version: spec.version, erts: main.erts, edition, runnerUser: spec.runnerUser }),
  );
  const configs = path.join(root, "data", "configs");
  fs.mkdirSync(configs, { recursive: true });
  fs.writeFileSync(
    path.join(configs, "vm.2024.01.01.00.00.00.args"),
    `-name ${NODE_NAME}\n-setcookie ${COOKIE}\n+P 2097152\n-env ERL_MAX_PORTS 1048576\n`,
  );
  const emu = path.join(root, ".emulator");
  fs.mkdirSync(emu, { recursive: true });
  const running = spec.running ?? true;
  const state = {
    running,
    runningVsn: running ? spec.version : undefined,
    runningErts: running ? main.erts : undefined,
    releases,
    bootedAt: running ? Date.now() : undefined,
  };
  fs.writeFileSync(path.join(emu, "state.json"), JSON.stringify(state, null, 2) + "\n");
  // Every caller logs its call, whoever it runs as (root, RUNNER_USER, an unprivileged ssh user).
  fs.chmodSync(emu, 0o777);
  fs.writeFileSync(path.join(emu, "calls.log"), "");
  fs.chmodSync(path.join(emu, "calls.log"), 0o666);
  if (spec.runnerUser && process.getuid?.() === 0) {
    const ids = passwdIds(spec.runnerUser);
    if (ids) chownTree(root, ids.uid, ids.gid);
  }
}

// The calls recorded in <root>/.emulator/calls.log, oldest first.
export function readCallLog(root: string): EmulatorCall[] {
  const file = path.join(root, ".emulator", "calls.log");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EmulatorCall);
}

// Replaces <root>/.emulator/faults.json (read by the emulator on every call).
export function setFaults(root: string, faults: EmulatorFaults | object): void {
  fs.mkdirSync(path.join(root, ".emulator"), { recursive: true });
  fs.writeFileSync(path.join(root, ".emulator", "faults.json"), JSON.stringify(faults, null, 2) + "\n");
}

// sha256 over every path, type, mode, file content and link target under root, except
// .emulator/calls.log: equal hashes before and after prove "the host was not touched".
export function treeHash(root: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string): void => {
    const full = path.join(root, rel);
    const st = fs.lstatSync(full);
    hash.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) hash.update(`-> ${fs.readlinkSync(full)}\0`);
    else if (st.isFile()) hash.update(fs.readFileSync(full)).update("\0");
    else if (st.isDirectory())
      for (const n of fs.readdirSync(full).sort()) {
        const child = rel === "" ? n : `${rel}/${n}`;
        if (child !== ".emulator/calls.log") walk(child);
      }
  };
  walk("");
  return hash.digest("hex");
}

// The node's release list (release_handler's in-memory order) from .emulator/state.json.
export function emulatorVersions(root: string): { version: string; status: string }[] {
  const state = JSON.parse(fs.readFileSync(path.join(root, ".emulator", "state.json"), "utf8")) as {
    releases: ReleaseRecord[];
  };
  return state.releases.map((r) => ({ version: r.vsn, status: r.status }));
}
