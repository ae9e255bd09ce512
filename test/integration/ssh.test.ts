// The SSH transport against real OpenSSH sshd on loopback (sandbox/sshd.ts). Needs root.
import { execFileSync, spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { RemoteCommandError, SshConnectError } from "../../provider/errors";
import { connectSsh } from "../../provider/ssh/connect";
import { SshSession } from "../../provider/ssh/session";
import type { SshTarget } from "../../provider/plan/connection";
import { uploadVerified } from "../../provider/ssh/upload";
import { compiledPath } from "../../sandbox/run-stack";
import { ensureTestUser, freePort, processGone, startSshAgent, startSshd, TestSshd } from "../../sandbox/sshd";

const PASSWORD = `pw-${randomBytes(6).toString("hex")}`;
const PASSPHRASE = `pp-${randomBytes(6).toString("hex")}`;
const TEST_USER = "emqxtest";
const OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDB6C4u8j1q1Py9ebfx40JUSfSDPITtJRVv8QjWfrtVK";
const OTHER_FP = "SHA256:TTrXNnKWjAObiL4gJ7sbKP0KKLxE8rOPNMwWm1/2Rlo";

let sshd: TestSshd;
const sessions: SshSession[] = [];

beforeAll(async () => {
  sshd = await startSshd({ passwordAuthentication: true, clientKeyPassphrase: PASSPHRASE, extraHostKeyTypes: ["rsa"] });
  ensureTestUser(TEST_USER, PASSWORD);
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});
afterAll(async () => sshd && sshd.stop());

function target(over: Partial<SshTarget> = {}, server: TestSshd = sshd): SshTarget {
  return {
    host: server.host,
    port: server.port,
    user: "root",
    privateKey: server.clientPrivateKey,
    readyTimeoutMs: 5000,
    dialAttempts: 1,
    dialRetryDelayMs: 20,
    commandTimeoutMs: 10_000,
    ...over,
  };
}

async function open(t: SshTarget, log?: (line: string) => void): Promise<SshSession> {
  const s = await connectSsh(t, log);
  sessions.push(s);
  return s;
}

/** The error connectSsh fails with; asserts it is ours and carries no secret. */
async function connectError(t: SshTarget, log?: (line: string) => void): Promise<SshConnectError> {
  const err = await connectSsh(t, log).then(
    (s) => (sessions.push(s), new Error("connected, but a failure was expected")),
    (e: unknown) => e,
  );
  if (!SshConnectError.isInstance(err)) throw err;
  expectNoSecret(err);
  return err;
}

function expectNoSecret(err: Error): void {
  const keyLines = [sshd.clientPrivateKey, sshd.clientKeyEncrypted ?? ""]
    .flatMap((k) => k.split("\n"))
    .filter((l) => l.length > 20 && !l.startsWith("-----"));
  for (const secret of [PASSWORD, PASSPHRASE, ...keyLines]) {
    expect(err.message).not.toContain(secret);
    expect(String(err.stack)).not.toContain(secret);
  }
}

describe("connectSsh: authentication", () => {
  it("connects with a private key and records the host key fingerprint", async () => {
    const s = await open(target());
    expect(s.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect((await s.run(["id", "-un"])).stdout.trim()).toBe("root");
  });

  it("connects with an encrypted key and its passphrase", async () => {
    const s = await open(target({ privateKey: sshd.clientKeyEncrypted, privateKeyPassword: PASSPHRASE }));
    expect((await s.run(["true"])).exitCode).toBe(0);
  });

  it("fails for an encrypted key with a wrong passphrase, without retrying or echoing secrets", async () => {
    const err = await connectError(
      target({ privateKey: sshd.clientKeyEncrypted, privateKeyPassword: "wrong-passphrase", dialAttempts: 3 }),
    );
    expect(err.stage).toBe("client-authentication");
    expect(err.message).toMatch(/privateKey cannot be used .*check privateKey and privateKeyPassword/);
    expect(err.attempts).toBe(1);
  });

  it("connects with a password", async () => {
    const s = await open(target({ user: TEST_USER, privateKey: undefined, password: PASSWORD }));
    expect((await s.run(["id", "-un"])).stdout.trim()).toBe(TEST_USER);
  });

  it("fails on a wrong password once, not retried, without echoing it", async () => {
    const before = sshd.connectionCount();
    const log: string[] = [];
    const err = await connectError(
      target({ user: TEST_USER, privateKey: undefined, password: `${PASSWORD}x`, dialAttempts: 3 }),
      (l) => log.push(l),
    );
    expect(err.stage).toBe("client-authentication");
    expect(err.message).toMatch(/authentication as emqxtest failed \(tried password\)/);
    expect(err.message).not.toContain(`${PASSWORD}x`);
    expect([err.attempts, log, sshd.connectionCount() - before]).toEqual([1, [], 1]);
  });

  it("connects through an ssh-agent socket", async () => {
    const agent = startSshAgent(sshd.dir, sshd.clientPrivateKeyPath);
    try {
      const s = await open(target({ privateKey: undefined, agentSocketPath: agent.socketPath }));
      expect((await s.run(["true"])).exitCode).toBe(0);
    } finally {
      agent.stop();
    }
  });

  it("prefers the key when a key and a (wrong) password are both given", async () => {
    await open(target({ password: "not-the-password" }));
    expect(sshd.readLog()).not.toMatch(/Failed password for root/);
  });
});

describe("connectSsh: host key", () => {
  const knownHostsFile = (line: string, hashed: boolean) => {
    const file = path.join(sshd.dir, `known_hosts_${hashed ? "hashed" : "plain"}`);
    fs.writeFileSync(file, `# test\nother.example ${OTHER_KEY}\n${line}\n`);
    if (hashed) execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "pipe" });
    return fs.readFileSync(file, "utf8");
  };

  it.each([
    ["an ed25519 hostKey line", () => ({ hostKey: sshd.hostKeyLine })],
    ["a hostKey fingerprint", () => ({ hostKey: sshd.hostKeyFingerprint })],
    [
      "plain known_hosts",
      () => ({ knownHosts: knownHostsFile(`[${sshd.host}]:${sshd.port} ${sshd.hostKeyLine}`, false) }),
    ],
    [
      "hashed known_hosts (ssh-keygen -H)",
      () => ({ knownHosts: knownHostsFile(`[${sshd.host}]:${sshd.port} ${sshd.hostKeyLine}`, true) }),
    ],
    ["a pinned fingerprint", () => ({ pinnedFingerprint: sshd.hostKeyFingerprint })],
  ])("accepts %s", async (_, expectation) => {
    const s = await open(target(expectation()));
    expect(s.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
  });

  it("accepts an RSA hostKey although the server prefers to show ed25519", async () => {
    const rsa = sshd.extraHostKeyLines.rsa;
    const s = await open(target({ hostKey: rsa }));
    expect(s.hostKeyFingerprint).toBe(
      execFileSync("ssh-keygen", ["-lf", "-"], { input: rsa }).toString().split(" ")[1],
    );
  });

  it("fails with stage host-key on a mismatch, names both fingerprints, and is not retried", async () => {
    const before = sshd.connectionCount();
    const log: string[] = [];
    const err = await connectError(target({ hostKey: OTHER_KEY, dialAttempts: 5 }), (l) => log.push(l));
    expect(err.stage).toBe("host-key");
    expect(err.message).toContain(
      `the host presented ssh-ed25519 key ${sshd.hostKeyFingerprint}, which does not match hostKey; expected ${OTHER_FP}.`,
    );
    expect(err.message).toMatch(/update hostKey\/knownHosts/);
    expect([err.attempts, log, sshd.connectionCount() - before]).toEqual([1, [], 1]);
  });

  it("fails for a host missing from known_hosts and for a changed pinned fingerprint", async () => {
    expect((await connectError(target({ knownHosts: `other.example ${OTHER_KEY}\n` }))).message).toMatch(
      /no entry for \[127\.0\.0\.1\]:\d+/,
    );
    expect((await connectError(target({ pinnedFingerprint: OTHER_FP }))).message).toMatch(/pinned on first contact/);
  });
});

describe("connectSsh: retries", () => {
  it("fails on a closed port after exactly dialAttempts attempts, each one logged", async () => {
    const port = await freePort();
    const log: string[] = [];
    const err = await connectError(target({ port, dialAttempts: 3 }), (l) => log.push(l));
    expect(log).toHaveLength(3);
    log.forEach((line, i) =>
      expect(line).toMatch(
        new RegExp(`^\\[ssh host=127\\.0\\.0\\.1:${port}\\] attempt ${i + 1}/3 failed: .*ECONNREFUSED`),
      ),
    );
    expect(err.stage).toBe("client-socket");
    expect(err.attempts).toBe(3);
    expect(err.message).toMatch(/after 3 attempts/);
  });
});

describe("connectSsh: one bastion hop", () => {
  let bastion: TestSshd;
  let inner: TestSshd;
  beforeAll(async () => {
    [bastion, inner] = await Promise.all([startSshd({ host: "127.0.0.2" }), startSshd({ host: "127.0.0.3" })]);
  });
  afterAll(async () => Promise.all([bastion?.stop(), inner?.stop()]));
  const viaBastion = (over: Partial<SshTarget> = {}, proxyOver: Partial<SshTarget> = {}) =>
    target(
      {
        hostKey: inner.hostKeyLine,
        proxy: { ...target({ hostKey: bastion.hostKeyLine }, bastion), ...proxyOver },
        ...over,
      },
      inner,
    );

  it("reaches the target through the bastion: the target's peer is the bastion's sshd", async () => {
    const s = await open(viaBastion());
    expect([s.hostKeyFingerprint, s.bastionHostKeyFingerprint]).toEqual([
      inner.hostKeyFingerprint,
      bastion.hostKeyFingerprint,
    ]);
    const [, sourcePort] = (await s.run(["sh", "-c", "echo $SSH_CONNECTION"])).stdout.trim().split(" ");
    const owner = execFileSync("ss", [
      "-Htnp",
      "state",
      "established",
      `( sport = :${sourcePort} and dst ${inner.host} )`,
    ]).toString();
    expect(owner).toMatch(/users:\(\("sshd"/);
    expect(bastion.readLog()).toMatch(/Accepted publickey for root/);
  });

  it("fails with stage proxy, naming the bastion, when the bastion's host key does not match", async () => {
    const err = await connectError(viaBastion({ dialAttempts: 3 }, { hostKey: OTHER_KEY }));
    expect([err.stage, err.host, err.port, err.attempts]).toEqual(["proxy", bastion.host, bastion.port, 1]);
    expect(err.message).toMatch(/^bastion 127\.0\.0\.2:\d+ \(in front of 127\.0\.0\.3:\d+\): host key refused/);
  });

  it("fails with stage proxy after retrying when the bastion cannot reach the target", async () => {
    const log: string[] = [];
    const err = await connectError(viaBastion({ port: await freePort("127.0.0.3"), dialAttempts: 2 }), (l) =>
      log.push(l),
    );
    expect([err.stage, err.attempts, log.length]).toEqual(["proxy", 2, 2]);
    expect(err.message).toMatch(
      /bastion 127\.0\.0\.2:\d+ could not open a connection to 127\.0\.0\.3:\d+: .*Connection refused/,
    );
  });
});

describe("SshSession.run", () => {
  it("returns exit code, stdout and stderr, and does not throw on a non-zero exit", async () => {
    const s = await open(target());
    const r = await s.run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toEqual({ exitCode: 3, signal: null, stdout: "out\n", stderr: "err\n", timedOut: false });
  });

  it("passes argv literally and feeds stdin", async () => {
    const s = await open(target());
    const args = ["a b", "it's", "$(id)", "*", "", "ü\n"];
    expect((await s.run(["printf", "[%s]", ...args])).stdout).toBe(args.map((a) => `[${a}]`).join(""));
    expect((await s.run(["cat"], { stdin: "hello\nworld" })).stdout).toBe("hello\nworld");
  });

  it("keeps the tail of output beyond 16 MiB and marks the cut", async () => {
    const s = await open(target());
    const r = await s.run(["sh", "-c", "head -c 17000000 /dev/zero | tr '\\0' x; echo END"]);
    const [marker, body] = [r.stdout.slice(0, r.stdout.indexOf("\n")), r.stdout.slice(r.stdout.indexOf("\n") + 1)];
    expect(marker).toBe(`[… first ${17_000_004 - 16 * 1024 * 1024} bytes of stdout truncated …]`);
    // `/^x+END\n$/` would backtrack over 16 Mi characters and can overflow V8's regexp stack;
    // a search for any other character does not backtrack.
    expect([body.length, body.endsWith("END\n"), /[^x]/.test(body.slice(0, -4))]).toEqual([
      16 * 1024 * 1024,
      true,
      false,
    ]);
  });

  it("returns timedOut within the bound for a command that outlives its timeout (the signal kills it for non-root users)", async () => {
    const s = await open(target({ user: TEST_USER, privateKey: undefined, password: PASSWORD }));
    const started = Date.now();
    const r = await s.run(["sh", "-c", "echo $$; exec sleep 30"], { timeoutMs: 1000 });
    expect([r.timedOut, r.exitCode]).toEqual([true, null]);
    expect(Date.now() - started).toBeLessThan(1000 + 2500);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    expect(await processGone(pid, 3000)).toBe(true);
  });

  it("returns timedOut within the bound for root too (OpenSSH ignores the signal there; the command is left running)", async () => {
    const s = await open(target());
    const started = Date.now();
    const r = await s.run(["sh", "-c", "echo $$; exec sleep 30"], { timeoutMs: 1000 });
    expect([r.timedOut, r.exitCode]).toEqual([true, null]);
    expect(Date.now() - started).toBeLessThan(1000 + 2500);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1); // process.kill(0) would hit our own process group
    process.kill(pid, "SIGKILL");
  });

  it("fails with SshConnectError when the connection drops mid-command", async () => {
    const s = await open(target());
    const err = await s.run(["sh", "-c", "kill -9 $PPID; sleep 5"]).catch((e: unknown) => e);
    expect(SshConnectError.isInstance(err) && err.stage).toBe("protocol");
    expect((err as Error).message).toMatch(/connection was lost while running/);
  });
});

describe("uploadVerified", () => {
  const FINAL = "emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip";
  const MATCHED_BY_EMQX_GLOB = /^emqx-.*4\.4\.16.*\.zip$/; // the shell glob emqx-*4.4.16*.zip
  const content = randomBytes(8 * 1024 * 1024);
  const sha256 = createHash("sha256").update(content).digest("hex");
  const sha256Of = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  let localPath: string;
  let remoteDir: string;
  beforeAll(() => {
    localPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "emqx-pkg-")), FINAL);
    fs.writeFileSync(localPath, content);
  });
  beforeEach(() => {
    remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-releases-"));
  });
  afterEach(() => fs.rmSync(remoteDir, { recursive: true, force: true }));
  afterAll(() => fs.rmSync(path.dirname(localPath), { recursive: true, force: true }));

  it("uploads under a temporary name the EMQX glob never matches, verifies, renames, then skips an identical file", async () => {
    const s = await open(target());
    const listings: string[][] = [];
    const log: string[] = [];
    const record = (line: string) => (log.push(line), listings.push(fs.readdirSync(remoteDir)));
    const r = await uploadVerified(s, { localPath, remoteDir, finalName: FINAL, sha256, log: record });
    expect([r.skipped, r.bytesSent]).toEqual([false, content.length]);
    const midUpload = listings.filter((names) => !names.includes(FINAL));
    expect(midUpload.length).toBeGreaterThanOrEqual(5);
    for (const names of midUpload)
      expect(names).toEqual([expect.stringMatching(/^\.emqx-release-upload-[0-9a-f]{16}\.part$/)]);
    expect(listings.flat().filter((n) => MATCHED_BY_EMQX_GLOB.test(n) && n !== FINAL)).toEqual([]);
    expect(log).toContainEqual(
      expect.stringMatching(/^upload emqx-4\.4\.16\S+ to 127\.0\.0\.1: 50% \(4\.\d of 8\.0 MiB\)$/),
    );
    const STAMP = `.${FINAL}.${sha256}.emqx-release-stamp`;
    expect([fs.readdirSync(remoteDir).sort(), sha256Of(path.join(remoteDir, FINAL))]).toEqual([[STAMP, FINAL], sha256]);

    const again = await uploadVerified(s, { localPath, remoteDir, finalName: FINAL, sha256 });
    expect([again.skipped, again.bytesSent]).toEqual([true, 0]);

    // Rewritten in place, same size, same inode, mtime set back: the kernel's new ctime (now newer
    // than the stamp's) still gives it away, so the stamp is not trusted and the file is replaced.
    const file = path.join(remoteDir, FINAL);
    const { mtime, ino } = fs.statSync(file);
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, Buffer.from("tampered"), 0, 8, 1024);
    fs.closeSync(fd);
    fs.utimesSync(file, mtime, mtime);
    expect(fs.statSync(file).ino).toBe(ino);
    const third = await uploadVerified(s, { localPath, remoteDir, finalName: FINAL, sha256 });
    expect([third.skipped, third.bytesSent, sha256Of(file)]).toEqual([false, content.length, sha256]);
  });

  it("replaces a file of the same name whose sha256 differs", async () => {
    fs.writeFileSync(path.join(remoteDir, FINAL), "truncated");
    const r = await uploadVerified(await open(target()), { localPath, remoteDir, finalName: FINAL, sha256 });
    expect([r.skipped, sha256Of(path.join(remoteDir, FINAL))]).toEqual([false, sha256]);
  });

  it("fails with a checksum mismatch for a wrong sha256 and removes only its own temporary file", async () => {
    fs.writeFileSync(path.join(remoteDir, "other.part"), "not ours");
    const wrong = "0".repeat(64);
    const err = (await uploadVerified(await open(target()), {
      localPath,
      remoteDir,
      finalName: FINAL,
      sha256: wrong,
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      new RegExp(
        `^checksum mismatch after upload to 127\\.0\\.0\\.1:${remoteDir}/\\.emqx-release-upload-\\w+\\.part: expected sha256 ${wrong}, got ${sha256}`,
      ),
    );
    expect(fs.readdirSync(remoteDir)).toEqual(["other.part"]);
  });

  it("uploads as another user through sudo -n -u (runAs), staging in /tmp and cleaning up", async () => {
    const uid = Number(execFileSync("id", ["-u", TEST_USER]).toString());
    fs.chownSync(remoteDir, uid, uid);
    fs.chmodSync(remoteDir, 0o755);
    const staged = () => fs.readdirSync("/tmp").filter((n) => n.startsWith(".emqx-release-upload-"));
    const before = staged();
    const r = await uploadVerified(await open(target()), {
      localPath,
      remoteDir,
      finalName: FINAL,
      sha256,
      runAs: TEST_USER,
    });
    expect([r.skipped, fs.statSync(path.join(remoteDir, FINAL)).uid, staged()]).toEqual([false, uid, before]);
  });

  it("fails with a NOPASSWD hint when sudo wants a password", async () => {
    const s = await open(target({ user: TEST_USER, privateKey: undefined, password: PASSWORD }));
    const err = (await uploadVerified(s, { localPath, remoteDir, finalName: FINAL, sha256, runAs: "root" }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(RemoteCommandError.isInstance(err)).toBe(true);
    expect(err.message).toMatch(
      /sudo wants a password to run commands as root: set connection\.sudoPassword \(a secret\), or allow emqxtest .*NOPASSWD: \/usr\/bin\/stat, .*\/usr\/bin\/openssl/,
    );
    expectNoSecret(err);
  });
});

test("a test sshd dies with the process that started it, even when that process is SIGKILLed", async () => {
  // A jest worker killed by Ctrl-C runs no exit handler: the harness relies on the kernel instead.
  const script = `require(${JSON.stringify(compiledPath("sandbox/sshd.ts"))}).startSshd({ host: "127.0.0.9" }).then((s) => { console.log(s.port); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once("exit", (code) => reject(new Error(`the sshd starter exited with ${code}`)));
  });
  const canConnect = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.9");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
  expect(await canConnect()).toBe(true);
  child.kill("SIGKILL");
  let open = true;
  for (
    const deadline = Date.now() + 10_000;
    open && Date.now() < deadline;
    await new Promise((r) => setTimeout(r, 100))
  )
    open = await canConnect();
  expect(open).toBe(false);
});
