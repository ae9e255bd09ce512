// An EMQX 4.4 test host: a real OpenSSH sshd on loopback in front of an emulated install, plus the
// connection inputs an EmqxRelease needs to reach it.
import { execFileSync } from "child_process";
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
} from "./emulator/install";
import { installDeviations } from "./install-check";
import { buildPackageZip, PackageSpec } from "./package-zip";
import { SshdOptions, startSshd, TestSshd } from "./sshd";

/** A running test host. */
export interface TestHost {
  sshd: TestSshd;
  /** The EMQX install root (`emqx root_dir`). */
  root: string;
  /** `emqxPath` input: the emulated bin/emqx. */
  emqxPath: string;
  /** `connection` input with key auth and the pinned host key. */
  connection: { host: string; port: number; user: string; privateKey: string; hostKey: string };
  /** Tree hash of the install plus the emulator call count: equal before/after = untouched. */
  fingerprint(): string;
  calls(): ReturnType<typeof readCallLog>;
  /** Replaces the emulator's fault switches, keeping where this host's unpack leaves its
   * emqx_untar_* dirs (faults.json is rewritten whole; a bare setFaults would drop that). */
  setFaults(faults: EmulatorFaults): void;
  /** How the install differed from what EMQX leaves when the host started (install-check.ts): the
   * test's own set-up, which fault-run.ts installCorruption does not count as corruption. */
  setupDeviations?: string[];
  stop(): Promise<void>;
}

/** Options of a test host. */
export interface TestHostOptions {
  /** Start sshd in this network namespace. @default none */
  netns?: string;
  sshd?: Omit<SshdOptions, "host" | "netns">;
  /** Put the EMQX root on a tmpfs of this many MiB (a disk that can fill up). @default none */
  rootFsMiB?: number;
}

/** Starts sshd on `address` (in network namespace `options.netns`, if given) and lays out an
 * emulated install running `install.version`. */
export async function startTestHost(
  install: Omit<EmulatedInstallSpec, "root">,
  address = "127.0.0.1",
  options: TestHostOptions = {},
): Promise<TestHost> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-host-"));
  const root = path.join(base, "emqx");
  const removeBase = () => {
    if (options.rootFsMiB !== undefined) execFileSync("umount", ["-l", root], { stdio: "pipe" });
    fs.rmSync(base, { recursive: true, force: true });
  };
  if (options.rootFsMiB !== undefined) {
    fs.mkdirSync(root);
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${options.rootFsMiB}m`, "tmpfs", root], { stdio: "pipe" });
  }
  // EMQX leaves /tmp/emqx_untar_* behind; keep the emulator's inside this host's own directory.
  const untarDir = path.join(base, "tmp");
  const faults = (f: EmulatorFaults) => setFaults(root, { ...f, untarDir });
  let sshd: TestSshd;
  let setupDeviations: string[] = [];
  try {
    createEmulatedInstall({ ...install, root });
    setupDeviations = installDeviations(root, { listed: emulatorVersions(root) });
    fs.mkdirSync(untarDir);
    faults({});
    sshd = await startSshd({ ...options.sshd, host: address, netns: options.netns });
  } catch (e) {
    removeBase();
    throw e;
  }
  return {
    sshd,
    root,
    emqxPath: path.join(root, "bin", "emqx"),
    connection: {
      host: sshd.host,
      port: sshd.port,
      user: "root",
      privateKey: sshd.clientPrivateKey,
      hostKey: sshd.hostKeyLine,
    },
    fingerprint: () => `${treeHash(root)} calls=${readCallLog(root).length}`,
    calls: () => readCallLog(root),
    setFaults: faults,
    setupDeviations,
    stop: async () => {
      await sshd.stop();
      removeBase();
    },
  };
}

/** One client key for several hosts, as a fleet's deploy key: every host also accepts the first
 * host's client key, so `hosts[0].connection.privateKey` reaches them all. */
export function shareClientKey(hosts: TestHost[]): void {
  for (const h of hosts.slice(1)) h.sshd.authorizeKey(hosts[0].sshd.clientPublicKey);
}

/** Builds packages, each into a directory of its own: variants of one version carry the same
 * file name (the name is EMQX's), so they must not overwrite each other. */
export function packageShelf(): { dir: string; build(spec: PackageSpec): Promise<string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-pkgs-"));
  return { dir, build: (spec) => buildPackageZip(fs.mkdtempSync(path.join(dir, "p-")), spec) };
}
