// An EMQX 4.4 test host shaped like a deb/rpm install (docs/emqx-4.4-hot-upgrade.md §1.1, §3.2): the root, config,
// data and logs in separate places (<base>/usr/lib/emqx, <base>/etc/emqx, <base>/var/lib/emqx, <base>/var/log/emqx,
// named in releases/emqx_vars as a package install names them), `RUNNER_USER="emqx"`, the tree owned by `emqx`,
// `<base>/usr/bin/emqx` a symlink to the root's bin/emqx, and an SSH login as a non-root deploy user allowed to run
// commands as `emqx` through sudo. EMQX's unpack uses the real /tmp, as on a node. The users are created here when
// missing (tests run as root, as CI does).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  createEmulatedInstall,
  EmulatedInstallSpec,
  emulatorVersions,
  readCallLog,
  setFaults,
  treeHash,
} from "../../sandbox/emulator/install";
import { installDeviations } from "../../sandbox/install-check";
import { startSshd } from "../../sandbox/sshd";
import type { TestHost } from "../../sandbox/test-host";

/** The user a deb/rpm install runs EMQX as. */
export const RUNTIME_USER = "emqx";
/** The non-root SSH login of a deb host; sudoers lets it run anything as RUNTIME_USER, nothing else. */
export const DEPLOY_USER = "emqxdeploy";
const SUDOERS_FILE = "/etc/sudoers.d/emqx-release-test";

/** A deb/rpm-shaped test host. `connection` logs in as DEPLOY_USER; `rootConnection` as root. */
export interface DebHost extends TestHost {
  base: string;
  etcDir: string;
  dataDir: string;
  logDir: string;
  rootConnection: TestHost["connection"];
}

/** Options of a deb host. */
export interface DebHostOptions {
  /** Put the install root on a tmpfs of this many KiB (to see `df` report a full disk). @default none */
  rootFsKb?: number;
  /** umask of sshd and so of the SSH sessions (a hardened root has 077). @default the test process's */
  umask?: number;
}

/** Creates `name` when it does not exist (idempotent; needs root). */
function ensureUser(name: string, args: string[]): void {
  try {
    execFileSync("id", ["-u", name], { stdio: "pipe" });
  } catch {
    execFileSync("useradd", [...args, name], { stdio: "pipe" });
  }
}

/** The runtime user (a system user without login, as the package's postinst makes it) and the
 * deploy user with its sudoers rule. */
export function ensureDebUsers(): void {
  ensureUser(RUNTIME_USER, [
    "--system",
    "--user-group",
    "--no-create-home",
    "--home-dir",
    "/var/lib/emqx",
    "--shell",
    "/usr/sbin/nologin",
  ]);
  ensureUser(DEPLOY_USER, ["-m", "-s", "/bin/sh"]);
  // useradd leaves the password locked ("!"), and sshd without PAM refuses locked accounts even
  // for key logins: "*" means no password, but not locked.
  execFileSync("usermod", ["-p", "*", DEPLOY_USER], { stdio: "pipe" });
  const rule = `${DEPLOY_USER} ALL=(${RUNTIME_USER}) NOPASSWD: ALL\n`;
  if (!fs.existsSync(SUDOERS_FILE) || fs.readFileSync(SUDOERS_FILE, "utf8") !== rule) {
    fs.writeFileSync(`${SUDOERS_FILE}.tmp`, rule, { mode: 0o440 });
    execFileSync("visudo", ["-cf", `${SUDOERS_FILE}.tmp`], { stdio: "pipe" });
    fs.renameSync(`${SUDOERS_FILE}.tmp`, SUDOERS_FILE);
  }
}

/** `id -u`/`id -g` of a local user. */
export function idsOf(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync("id", ["-u", user]).toString()),
    gid: Number(execFileSync("id", ["-g", user]).toString()),
  };
}

/** Rewrites `RUNNER_<X>_DIR=` lines of emqx_vars to the package install's absolute paths. */
function packageInstallVars(root: string, dirs: Record<string, string>): void {
  const file = path.join(root, "releases", "emqx_vars");
  const text = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((line) => {
      const m = /^(RUNNER_(?:ETC|DATA|LOG)_DIR)=/.exec(line);
      return m ? `${m[1]}="${dirs[m[1]]}"` : line;
    });
  fs.writeFileSync(file, text.join("\n"));
}

/** The install inside `d`: the zip-shaped emulated install, then config, data and logs moved out
 * of the root as a package install has them, owned by the runtime user. */
function layOut(
  install: Omit<EmulatedInstallSpec, "root" | "runnerUser">,
  d: { root: string; etcDir: string; dataDir: string; logDir: string; bin: string },
  emqx: { uid: number; gid: number },
): void {
  createEmulatedInstall({ ...install, root: d.root, runnerUser: RUNTIME_USER });
  // A package install keeps config, data and logs outside the root
  // (copied, not renamed: the root may be a filesystem of its own).
  for (const [from, to] of [
    [path.join(d.root, "etc"), d.etcDir],
    [path.join(d.root, "data"), d.dataDir],
  ]) {
    fs.cpSync(from, to, { recursive: true });
    fs.rmSync(from, { recursive: true, force: true });
  }
  fs.mkdirSync(d.logDir, { recursive: true });
  if (fs.existsSync(path.join(d.root, "log"))) fs.rmSync(path.join(d.root, "log"), { recursive: true, force: true });
  for (const dir of [d.etcDir, d.dataDir, d.logDir]) execFileSync("chown", ["-R", `${emqx.uid}:${emqx.gid}`, dir]);
  packageInstallVars(d.root, { RUNNER_ETC_DIR: d.etcDir, RUNNER_DATA_DIR: d.dataDir, RUNNER_LOG_DIR: d.logDir });
  // EMQX's unpack writes to the real /tmp here (no untarDir fault), as on a node.
  setFaults(d.root, {});
  fs.symlinkSync(path.join(d.root, "bin", "emqx"), path.join(d.bin, "emqx"));
}

/** Starts sshd on `address` and lays out a deb/rpm-shaped install running `install.version`. */
export async function startDebHost(
  install: Omit<EmulatedInstallSpec, "root" | "runnerUser">,
  address: string,
  options: DebHostOptions = {},
): Promise<DebHost> {
  ensureDebUsers();
  const emqx = idsOf(RUNTIME_USER);
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "emqx-deb-")));
  fs.chmodSync(base, 0o755);
  const root = path.join(base, "usr", "lib", "emqx");
  const etcDir = path.join(base, "etc", "emqx");
  const dataDir = path.join(base, "var", "lib", "emqx");
  const logDir = path.join(base, "var", "log", "emqx");
  for (const d of [root, path.dirname(etcDir), path.dirname(dataDir), path.join(base, "usr", "bin")])
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  let mounted = false;
  const removeBase = () => {
    if (mounted) execFileSync("umount", ["-l", root], { stdio: "pipe" });
    fs.rmSync(base, { recursive: true, force: true });
  };
  try {
    if (options.rootFsKb !== undefined) {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${options.rootFsKb}k,mode=0755`, "tmpfs", root], {
        stdio: "pipe",
      });
      mounted = true;
    }
    layOut(install, { root, etcDir, dataDir, logDir, bin: path.join(base, "usr", "bin") }, emqx);
  } catch (e) {
    removeBase();
    throw e;
  }
  const oldUmask = options.umask !== undefined ? process.umask(options.umask) : undefined;
  let sshd;
  try {
    sshd = await startSshd({ host: address });
  } catch (e) {
    removeBase();
    throw e;
  } finally {
    if (oldUmask !== undefined) process.umask(oldUmask);
  }
  // sshd reads AuthorizedKeysFile as the logging-in user: let the deploy user read it.
  fs.chmodSync(sshd.dir, 0o755);
  fs.chmodSync(path.join(sshd.dir, "authorized_keys"), 0o644);
  const connection = (user: string) => ({
    host: sshd.host,
    port: sshd.port,
    user,
    privateKey: sshd.clientPrivateKey,
    hostKey: sshd.hostKeyLine,
  });
  return {
    sshd,
    base,
    root,
    etcDir,
    dataDir,
    logDir,
    emqxPath: path.join(base, "usr", "bin", "emqx"),
    connection: connection(DEPLOY_USER),
    rootConnection: connection("root"),
    fingerprint: () => `${treeHash(root)} ${treeHash(dataDir)} calls=${readCallLog(root).length}`,
    calls: () => readCallLog(root),
    // EMQX's unpack writes to the real /tmp here (no untarDir), as on a node.
    setFaults: (f) => setFaults(root, f),
    setupDeviations: installDeviations(root, { listed: emulatorVersions(root) }),
    stop: async () => {
      await sshd.stop();
      removeBase();
    },
  };
}
