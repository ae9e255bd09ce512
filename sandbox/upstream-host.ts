// A test host whose CLI is EMQX's own: a package of test/upstream/build.sh (EMQX 4.4's real bin/emqx,
// emqx_ctl, nodetool and install_upgrade.escript of the package's tag, over a real OTP release)
// unzipped as a zip install, configured the way an operator configures one (etc/emqx.conf's
// node.name, node.cookie and listener; etc/vm.args), started by the real `bin/emqx start`, behind a
// real OpenSSH sshd on loopback. The node listens for distribution on <address>:4370, the port
// EMQX's ekka derives from the name `emqx` (no epmd), bound to this host's own address, so hosts
// on different addresses never share anything. stop() ends exactly this install's processes
// (found by its root in their command line) and its sshd, and removes the /tmp/emqx_untar_* dirs
// EMQX's unpack left holding one of this host's packages.
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./engine";
import { freePort, startSshd, TestSshd } from "./sshd";

/** The build script of the packages (`.ci/setup` may run it too, so tests find the cache warm). */
export const UPSTREAM_BUILD_SCRIPT = path.join(REPO_ROOT, "test", "upstream", "build.sh");

/** What test/upstream/build.sh produced. */
export interface UpstreamReleases {
  dir: string;
  /** Versions of each set, oldest first: `new` (4.4.16..) and `old` (4.4.0..) scripts. */
  sets: { new: string[]; old: string[] };
  otp: string;
  os: string;
  arch: string;
  erts: string;
  buildSeconds: number;
  /** Package zip of each version (EMQX's file name). */
  zips: Record<string, string>;
}

/** Builds the packages unless the cache has them; throws with build.sh's message (a missing or
 * changed upstream file is named there). Never skips. */
export function ensureUpstreamReleases(): UpstreamReleases {
  let dir: string;
  try {
    const out = execFileSync("bash", [UPSTREAM_BUILD_SCRIPT], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 900_000,
    });
    dir = out.trim().split("\n").pop() ?? "";
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `building the upstream test packages failed (bash test/upstream/build.sh): ${(err.stderr || err.message).trim()}`,
    );
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Omit<
    UpstreamReleases,
    "dir" | "zips"
  >;
  const zips: Record<string, string> = {};
  for (const v of [...manifest.sets.new, ...manifest.sets.old]) {
    zips[v] = path.join(dir, `emqx-${v}-otp${manifest.otp}-${manifest.os}-${manifest.arch}.zip`);
  }
  return { ...manifest, dir, zips };
}

/** Loopback addresses of the upstream hosts (none of the other suites uses them). */
export const UPSTREAM_ADDRESSES = Array.from({ length: 10 }, (_, i) => `127.0.0.${110 + i}`);

/** A CLI call's outcome. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A running host. */
export interface UpstreamHost {
  sshd: TestSshd;
  releases: UpstreamReleases;
  /** The install root (what `emqx root_dir` prints, unquoted). */
  root: string;
  emqxPath: string;
  /** Erlang node name, emqx@<address>. */
  nodeName: string;
  /** The MQTT listener of the broker app (each delivery carries the version of the code that handled it). */
  service: { host: string; port: number };
  connection: { host: string; port: number; user: string; privateKey: string; hostKey: string };
  /** Runs `bin/emqx <args>` locally as root (an operator on the host), never throwing. */
  emqx(...args: string[]): CliResult;
  /** `emqx versions` as "<vsn> <status>" strings, in the CLI's order; throws on a non-zero exit. */
  versions(): string[];
  stop(): Promise<void>;
}

/** Options of an upstream host. */
export interface UpstreamHostOptions {
  /** Cookie in etc/emqx.conf. @default a random one */
  cookie?: string;
}

/** Unzips `version`'s package on a fresh root, configures it and starts it with `bin/emqx start`. */
export async function startUpstreamHost(
  address: string,
  version: string,
  options: UpstreamHostOptions = {},
): Promise<UpstreamHost> {
  if (!UPSTREAM_ADDRESSES.includes(address)) {
    throw new Error(
      `${address} is not one of the upstream test addresses ${UPSTREAM_ADDRESSES[0]}-${UPSTREAM_ADDRESSES[9]}`,
    );
  }
  const releases = ensureUpstreamReleases();
  const zip = releases.zips[version];
  if (!zip)
    throw new Error(
      `no upstream test package ${version}: test/upstream/build.sh builds ${Object.keys(releases.zips).join(", ")}`,
    );
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "emqx-upstream-host-")));
  fs.chmodSync(base, 0o755);
  execFileSync("unzip", ["-q", zip, "-d", base]);
  const root = path.join(base, "emqx");
  const nodeName = `emqx@${address}`;
  const servicePort = await freePort(address);
  configure(root, {
    "node.name": nodeName,
    "node.cookie": options.cookie ?? `c${randomBytes(8).toString("hex")}`,
    "listener.tcp.external": `${address}:${servicePort}`,
  });
  // Distribution only on this host's address (ekka's port is fixed by the node name).
  fs.appendFileSync(
    path.join(root, "etc", "vm.args"),
    `\n-kernel inet_dist_use_interface {${address.split(".").join(",")}}\n`,
  );

  const untarBefore = new Set(untarDirs());
  const killAll = () => killInstallProcesses(root);
  process.on("exit", killAll);
  const emqx = (...args: string[]) => runCli(path.join(root, "bin", "emqx"), args);
  let sshd: TestSshd | undefined;
  try {
    const started = emqx("start");
    if (started.exitCode !== 0)
      throw new Error(`bin/emqx start exited ${started.exitCode}\n${started.stdout}${started.stderr}`);
    sshd = await startSshd({ host: address });
  } catch (e) {
    killAll();
    process.removeListener("exit", killAll);
    const log = readLogs(root);
    fs.rmSync(base, { recursive: true, force: true });
    throw new Error(`the upstream host on ${address} (${version}) did not start: ${(e as Error).message}\nlog: ${log}`);
  }
  const ssh = sshd;
  return {
    sshd: ssh,
    releases,
    root,
    emqxPath: path.join(root, "bin", "emqx"),
    nodeName,
    service: { host: address, port: servicePort },
    connection: {
      host: address,
      port: ssh.port,
      user: "root",
      privateKey: ssh.clientPrivateKey,
      hostKey: ssh.hostKeyLine,
    },
    emqx,
    versions: () => {
      const r = emqx("versions");
      if (r.exitCode !== 0) throw new Error(`emqx versions exited ${r.exitCode}: ${r.stdout}${r.stderr}`);
      return r.stdout
        .split("\n")
        .filter((l) => l.startsWith("* "))
        .map((l) => l.slice(2).replace("\t", " "));
    },
    stop: async () => {
      emqx("stop");
      killAll();
      process.removeListener("exit", killAll);
      await ssh.stop();
      removeOurUntarDirs(untarBefore, releases);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Sets `key = value` lines of etc/emqx.conf (replacing the package's line for each key). */
function configure(root: string, settings: Record<string, string>): void {
  const file = path.join(root, "etc", "emqx.conf");
  let text = fs.readFileSync(file, "utf8");
  for (const [key, value] of Object.entries(settings)) {
    const re = new RegExp(`^${key.replace(/\./g, "\\.")} = .*$`, "m");
    if (!re.test(text)) throw new Error(`etc/emqx.conf of the package has no "${key} = " line`);
    text = text.replace(re, `${key} = ${value}`);
  }
  fs.writeFileSync(file, text);
}

function runCli(emqxPath: string, args: string[]): CliResult {
  try {
    const stdout = execFileSync(emqxPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 180_000,
    });
    return { exitCode: 0, stdout, stderr: "" };
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string; message: string };
    return { exitCode: err.status ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? err.message };
  }
}

function untarDirs(): string[] {
  return fs
    .readdirSync("/tmp")
    .filter((d) => d.startsWith("emqx_untar_"))
    .map((d) => path.join("/tmp", d));
}

/** EMQX's unpack leaves /tmp/emqx_untar_<n>/ behind (holding a copy of the zip): remove the new
 * ones holding one of our packages, nothing else. */
function removeOurUntarDirs(before: Set<string>, releases: UpstreamReleases): void {
  const ours = new Set(Object.values(releases.zips).map((z) => fs.readFileSync(`${z}.sha256`, "utf8").trim()));
  for (const dir of untarDirs().filter((d) => !before.has(d))) {
    const zip = path.join(dir, "emqx.zip");
    if (!fs.existsSync(zip)) continue;
    const sum = execFileSync("sha256sum", [zip], { encoding: "utf8" }).slice(0, 64);
    if (ours.has(sum)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Ends every process whose command line names this install's root (run_erl, beam.smp, escripts):
 * only this host's. Synchronous, so it also works in an exit handler. */
function killInstallProcesses(root: string): void {
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (Number(pid) !== process.pid && cmdline.includes(`${root}/`)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

function readLogs(root: string): string {
  const dir = path.join(root, "log");
  if (!fs.existsSync(dir)) return "(no log dir)";
  return fs
    .readdirSync(dir)
    .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), "utf8").slice(-3000)}`)
    .join("\n");
}
