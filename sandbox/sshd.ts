// A real OpenSSH sshd on loopback for integration tests: random free port, fresh host and client
// keys in a temp dir, VERBOSE log to a file (tests count connections in it), killed on stop().
// Needs root (it runs sshd as root and logs in as root, like CI) and Debian's openssh-server.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { canConnectInNetns, freePortInNetns } from "./netns";

const SSHD = "/usr/sbin/sshd";

/** Options of one test sshd. */
export interface SshdOptions {
  /** Loopback address to listen on (127.0.0.x). @default "127.0.0.1" */
  host?: string;
  /** @default false */
  passwordAuthentication?: boolean;
  /** Also write `clientKeyEncrypted`, the client key encrypted with this passphrase. @default none */
  clientKeyPassphrase?: string;
  /** Extra host key types besides ed25519 (`rsa`, `ecdsa`); the server offers all of them. @default [] */
  extraHostKeyTypes?: Array<"rsa" | "ecdsa">;
  /** Extra sshd_config lines. @default [] */
  extraConfig?: string[];
  /** Network namespace (`ip netns`) to run sshd in; `host` is then an address inside it.
   * @default none: this process's namespace */
  netns?: string;
  /** `ulimit -n` of sshd and so of every session (e.g. 512: bin/emqx then warns on every command).
   * @default this process's */
  openFilesLimit?: number;
}

/** A running test sshd. */
export interface TestSshd {
  host: string;
  port: number;
  /** `ssh-ed25519 AAAA...` of the server's ed25519 host key. */
  hostKeyLine: string;
  hostKeyFingerprint: string;
  /** Host key lines of the extra types, by type (`rsa` -> `ssh-rsa AAAA...`). */
  extraHostKeyLines: Record<string, string>;
  clientPrivateKey: string;
  clientPrivateKeyPath: string;
  clientPublicKey: string;
  /** The same client key encrypted with `clientKeyPassphrase`, if one was asked for. */
  clientKeyEncrypted?: string;
  logPath: string;
  dir: string;
  /** Lines of the sshd log (VERBOSE), e.g. to count "Connection from" lines. */
  readLog(): string;
  /** Also accepts this client public key line (another host's `clientPublicKey`). */
  authorizeKey(publicKeyLine: string): void;
  /** How many TCP connections sshd has logged ("Connection from ..."), the readiness probe included. */
  connectionCount(): number;
  /** Stops sshd and removes `dir`. */
  stop(): Promise<void>;
}

/** Throws an Error naming the package when sshd is not installed. */
export function requireSshd(): void {
  if (!fs.existsSync(SSHD))
    throw new Error(`${SSHD} not found: install openssh-server (apt-get install openssh-server)`);
}

/** A TCP port on `host` that nothing listens on right now. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function keygen(type: string, file: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", `test-${type}`, "-f", file], { stdio: "pipe" });
}

function publicLine(file: string): string {
  return fs.readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
}

/** Starts sshd -D on a fresh port and waits until it accepts connections. */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  requireSshd();
  const host = options.host ?? "127.0.0.1";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-sshd-"));
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, "ssh_host_ed25519_key");
  keygen("ed25519", hostKey);
  const extraHostKeyLines: Record<string, string> = {};
  const hostKeyFiles = [hostKey];
  for (const type of options.extraHostKeyTypes ?? []) {
    const file = path.join(dir, `ssh_host_${type}_key`);
    keygen(type, file);
    hostKeyFiles.push(file);
    extraHostKeyLines[type] = publicLine(file);
  }
  const clientKey = path.join(dir, "client_key");
  keygen("ed25519", clientKey);
  fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(`${clientKey}.pub`));
  let clientKeyEncrypted: string | undefined;
  if (options.clientKeyPassphrase !== undefined) {
    const encrypted = path.join(dir, "client_key_encrypted");
    fs.copyFileSync(clientKey, encrypted);
    fs.chmodSync(encrypted, 0o600);
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", options.clientKeyPassphrase, "-f", encrypted], {
      stdio: "pipe",
    });
    clientKeyEncrypted = fs.readFileSync(encrypted, "utf8");
  }

  const port = options.netns ? freePortInNetns(options.netns) : await freePort(host);
  const logPath = path.join(dir, "sshd.log");
  const config = [
    `Port ${port}`,
    `ListenAddress ${host}`,
    ...hostKeyFiles.map((f) => `HostKey ${f}`),
    `PidFile ${path.join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
    "StrictModes no",
    "PermitRootLogin yes",
    `PasswordAuthentication ${options.passwordAuthentication ? "yes" : "no"}`,
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "LogLevel VERBOSE",
    "Subsystem sftp internal-sftp",
    "MaxStartups 100",
    "MaxSessions 100",
    ...(options.extraConfig ?? []),
  ];
  const configPath = path.join(dir, "sshd_config");
  fs.writeFileSync(configPath, config.join("\n") + "\n");

  // setpriv (util-linux) sets the parent-death signal, then execs sshd: when the test process dies
  // without running its exit handlers (a jest worker killed by Ctrl-C), the kernel kills sshd too.
  // `ip netns exec`, setpriv and prlimit all exec in place, so the child is sshd itself and kill() reaches it.
  const limit =
    options.openFilesLimit !== undefined
      ? ["prlimit", `--nofile=${options.openFilesLimit}:${options.openFilesLimit}`, "--"]
      : [];
  const argv = ["setpriv", "--pdeathsig", "KILL", ...limit, SSHD, "-D", "-f", configPath, "-E", logPath];
  const child = options.netns
    ? spawn("ip", ["netns", "exec", options.netns, ...argv], { stdio: ["ignore", "ignore", "pipe"] })
    : spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const killOnExit = () => child.kill("SIGKILL");
  process.on("exit", killOnExit);
  const readLog = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8") : "");

  try {
    await waitForPort(host, port, child, 30_000, options.netns);
  } catch (e) {
    child.kill("SIGKILL");
    process.removeListener("exit", killOnExit);
    throw new Error(
      `sshd on ${host}:${port} did not start: ${(e as Error).message}\nstderr: ${stderr}\nlog: ${readLog()}`,
    );
  }

  const hostKeyLine = publicLine(hostKey);
  const hostKeyFingerprint = execFileSync("ssh-keygen", ["-lf", `${hostKey}.pub`])
    .toString()
    .split(" ")[1];
  return {
    host,
    port,
    hostKeyLine,
    hostKeyFingerprint,
    extraHostKeyLines,
    clientPrivateKey: fs.readFileSync(clientKey, "utf8"),
    clientPrivateKeyPath: clientKey,
    clientPublicKey: publicLine(clientKey),
    clientKeyEncrypted,
    logPath,
    dir,
    readLog,
    authorizeKey: (line) => fs.appendFileSync(path.join(dir, "authorized_keys"), `${line}\n`),
    connectionCount: () =>
      readLog()
        .split("\n")
        .filter((l) => l.startsWith("Connection from")).length,
    stop: async () => {
      await stopChild(child, killOnExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess, killOnExit: () => void): Promise<void> {
  process.removeListener("exit", killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
  netns?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with code ${child.exitCode}`);
    const open = netns
      ? await canConnectInNetns(netns, host, port)
      : await new Promise<boolean>((resolve) => {
          const socket = net.connect(port, host);
          socket.once("connect", () => (socket.destroy(), resolve(true)));
          socket.once("error", () => resolve(false));
        });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`port not open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates (idempotently) a local user with a password and a home, for password-auth tests.
 * Needs root, as CI has. */
export function ensureTestUser(name: string, password: string): void {
  try {
    execFileSync("id", ["-u", name], { stdio: "pipe" });
  } catch {
    execFileSync("useradd", ["-m", "-s", "/bin/sh", name], { stdio: "pipe" });
  }
  execFileSync("chpasswd", [], { input: `${name}:${password}\n`, stdio: ["pipe", "pipe", "pipe"] });
}

/** An ssh-agent listening on a socket in `dir`, holding the given private key file. */
export interface TestAgent {
  socketPath: string;
  stop(): void;
}

/** Starts `ssh-agent -a <sock>` and adds the key with ssh-add. */
export function startSshAgent(dir: string, privateKeyPath: string): TestAgent {
  const socketPath = path.join(dir, `agent-${process.pid}-${Date.now()}.sock`);
  const out = execFileSync("ssh-agent", ["-s", "-a", socketPath]).toString();
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
  execFileSync("ssh-add", [privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socketPath }, stdio: "pipe" });
  const stop = () => {
    process.removeListener("exit", stop);
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.on("exit", stop);
  return { socketPath, stop };
}

/** Whether a local process ends (or is a zombie awaiting its parent) within `ms`. */
export async function processGone(pid: number, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const status = fs.existsSync(`/proc/${pid}/status`) ? fs.readFileSync(`/proc/${pid}/status`, "utf8") : "";
    if (!/^State:\s+[^Z]/m.test(status)) return true;
  }
  return false;
}
