// A real OTP test host: the 4.4.x zip of test/otp unpacked as an EMQX zip install, its node started
// with `bin/emqx start` (relx's daemon under run_erl), behind a real OpenSSH sshd on loopback.
// Each host has its own epmd (own port, own address), its own node, its own listener, so several
// hosts and other test files never share anything. stop() ends exactly the processes of this
// install (found by its root in their command line), its epmd and its sshd.
import { ChildProcess, execFileSync, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ensureOtpReleases, OtpReleases } from "./otp-build";
import { freePort, startSshd, TestSshd } from "./sshd";

/** A running real-OTP host. */
export interface OtpHost {
  sshd: TestSshd;
  releases: OtpReleases;
  /** The install root (what `emqx root_dir` prints, unquoted). */
  root: string;
  emqxPath: string;
  /** Erlang node name, e.g. emqx@127.0.0.70. */
  nodeName: string;
  /** The MQTT listener of the `emqx` application (MQTT 3.1.1; deliveries carry the version, see otp-clients). */
  service: { host: string; port: number };
  connection: { host: string; port: number; user: string; privateKey: string; hostKey: string };
  /** Runs bin/emqx locally (as an operator on the host would), returning stdout; throws on a non-zero exit. */
  emqx(...args: string[]): string;
  /** Lines of bin/emqx's output and exit code, without throwing. */
  emqxResult(...args: string[]): { exitCode: number; stdout: string; stderr: string };
  /** `emqx versions` parsed into "<vsn> <status>" strings, in the CLI's order. */
  versions(): string[];
  stop(): Promise<void>;
}

/** Only these loopback addresses are used by the real-OTP tests (the range). */
export const OTP_ADDRESSES = Array.from({ length: 10 }, (_, i) => `127.0.0.${70 + i}`);

/** Unpacks `version`'s zip on a fresh root, writes the host's etc/ and starts the node and sshd. */
export async function startOtpHost(address: string, version = "4.4.0"): Promise<OtpHost> {
  if (!OTP_ADDRESSES.includes(address))
    throw new Error(`${address} is not one of the real-OTP test addresses ${OTP_ADDRESSES[0]}-${OTP_ADDRESSES[9]}`);
  const releases = ensureOtpReleases();
  const zip = releases.zips[version];
  if (!zip) throw new Error(`no test release ${version}: test/otp/build.sh builds ${releases.versions.join(", ")}`);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-otp-host-"));
  execFileSync("unzip", ["-q", zip, "-d", base]);
  const root = path.join(base, "emqx");
  const nodeName = `emqx@${address}`;
  const servicePort = await freePort(address);
  const epmdPort = await freePort(address);
  const ip = `{${address.split(".").join(",")}}`;
  fs.mkdirSync(path.join(base, "tmp"));
  fs.writeFileSync(
    path.join(root, "etc", "vm.args"),
    [
      `-name ${nodeName}`,
      `-setcookie c${randomBytes(8).toString("hex")}`,
      `-kernel inet_dist_use_interface ${ip}`,
      "+K true",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(path.join(root, "etc", "sys.config"), `[{emqx, [{ip, ${ip}}, {port, ${servicePort}}]}].\n`);
  fs.writeFileSync(
    path.join(root, "etc", "emqx.env"),
    `export ERL_EPMD_PORT=${epmdPort}\nexport TMPDIR="${path.join(base, "tmp")}"\n`,
  );

  const erts = path.join(root, `erts-${releases.erts}`, "bin", "epmd");
  const epmd = spawn("setpriv", ["--pdeathsig", "KILL", erts, "-port", String(epmdPort), "-address", address], {
    stdio: "ignore",
  });
  const killAll = () => {
    killInstallProcesses(root);
    epmd.kill("SIGKILL");
  };
  process.on("exit", killAll);
  const run = (args: string[]) => {
    try {
      return {
        exitCode: 0,
        stdout: execFileSync(path.join(root, "bin", "emqx"), args, {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 120_000,
        }),
        stderr: "",
      };
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      return { exitCode: err.status ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
    }
  };
  const emqx = (...args: string[]) => {
    const r = run(args);
    if (r.exitCode !== 0)
      throw new Error(
        `${root}/bin/emqx ${args.join(" ")} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
      );
    return r.stdout;
  };
  let sshd: TestSshd | undefined;
  try {
    await waitForEpmd(epmd, address, epmdPort);
    emqx("start");
    sshd = await startSshd({ host: address });
  } catch (e) {
    killAll();
    process.removeListener("exit", killAll);
    throw new Error(`the real-OTP host on ${address} did not start: ${(e as Error).message}\nlog: ${readLogs(root)}`);
  }
  const started = sshd;
  return {
    sshd: started,
    releases,
    root,
    emqxPath: path.join(root, "bin", "emqx"),
    nodeName,
    service: { host: address, port: servicePort },
    connection: {
      host: address,
      port: started.port,
      user: "root",
      privateKey: started.clientPrivateKey,
      hostKey: started.hostKeyLine,
    },
    emqx,
    emqxResult: (...args) => run(args),
    versions: () =>
      emqx("versions")
        .split("\n")
        .filter((l) => l.startsWith("* "))
        .map((l) => l.slice(2).replace("\t", " ")),
    stop: async () => {
      run(["stop"]);
      killAll();
      process.removeListener("exit", killAll);
      await started.stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Ends every process whose command line names this install's root (run_erl, beam.smp, heart):
 * only this host's, never anyone else's. Synchronous, so it also works in an exit handler. */
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

async function waitForEpmd(epmd: ChildProcess, address: string, port: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if (epmd.exitCode !== null) throw new Error(`epmd exited with code ${epmd.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, address);
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (open) return;
  }
  throw new Error(`epmd on ${address}:${port} did not open within 10 s`);
}

function readLogs(root: string): string {
  const dir = path.join(root, "log");
  if (!fs.existsSync(dir)) return "(no log dir)";
  return fs
    .readdirSync(dir)
    .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), "utf8").slice(-3000)}`)
    .join("\n");
}
