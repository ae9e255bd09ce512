// SshSession over a fake ssh2 Client: how it builds the exec line, collects output, times commands
// out, and turns a lost connection into SshConnectError. The same against real OpenSSH sshd
// (signals, SIGPIPE, sftp): test/integration/ssh.test.ts.
import { EventEmitter } from "events";
import type { Client } from "ssh2";
import { EmqxProviderError, SshConnectError } from "../../../provider/errors";
import { MAX_OUTPUT_BYTES, SshSession } from "../../../provider/ssh/session";

/** The parts of an ssh2 channel the session uses; `stdinEnd` records what was written to stdin. */
class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  stdin: string | Buffer | undefined;
  closed = false;
  /** What sendKill reaches for: the channel's protocol state and the client's protocol. */
  readonly outgoing = { id: 7, state: "open" };
  readonly signals: string[] = [];
  readonly _client = { _protocol: { signal: (_id: number, name: string) => void this.signals.push(name) } };
  /** When set, close() is confirmed by a "close" event (as sshd does once the command exited). */
  confirmClose = true;
  end(stdin?: string | Buffer): void {
    this.stdin = stdin;
    this.outgoing.state = "eof";
  }
  close(): void {
    this.closed = true;
    if (this.confirmClose) setImmediate(() => this.emit("close"));
  }
  /** The command prints, exits and the channel closes, as sshd reports it. */
  finish(out: { stdout?: string | Buffer; stderr?: string; code?: number | null; signal?: string }): void {
    if (out.stdout !== undefined) this.emit("data", Buffer.from(out.stdout));
    if (out.stderr !== undefined) this.stderr.emit("data", Buffer.from(out.stderr));
    this.emit("exit", out.code ?? null, out.signal);
    this.emit("close");
  }
}

/** The parts of an ssh2 Client the session uses. */
class FakeClient extends EventEmitter {
  readonly commands: string[] = [];
  channel = new FakeChannel();
  execError: Error | undefined;
  ended = false;
  sftpOpened = 0;
  /** What fastPut does: the bytes it reports acknowledged, then its error (if any). */
  put: { steps: number[]; total: number; error?: Error } = { steps: [], total: 0 };
  sftp(cb: (err: Error | undefined, sftp: unknown) => void): void {
    this.sftpOpened++;
    const fastPut = (
      _local: string,
      _remote: string,
      opts: { step(sent: number, chunk: number, total: number): void },
      done: (err?: Error) => void,
    ) => {
      for (const sent of this.put.steps) opts.step(sent, 0, this.put.total);
      setImmediate(() => done(this.put.error));
    };
    setImmediate(() => cb(undefined, { fastPut }));
  }
  exec(command: string, cb: (err: Error | undefined, channel: FakeChannel) => void): void {
    this.commands.push(command);
    setImmediate(() => cb(this.execError, this.channel));
  }
  end(): void {
    this.ended = true;
    setImmediate(() => this.emit("close"));
  }
  destroy(): void {
    this.end();
  }
}

let client: FakeClient;
let session: SshSession;
beforeEach(() => {
  client = new FakeClient();
  session = new SshSession({
    client: client as unknown as Client,
    host: "10.0.0.7",
    port: 22,
    user: "root",
    hostKeyFingerprint: "SHA256:x",
    commandTimeoutMs: 10_000,
  });
});

/** Runs argv and lets the fake command finish once the session has opened the channel. */
async function runWith(
  argv: string[],
  out: Parameters<FakeChannel["finish"]>[0],
  options?: Parameters<SshSession["run"]>[1],
) {
  const result = session.run(argv, options);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  client.channel.finish(out);
  return result;
}

test("sends argv as one shell-quoted command line and closes stdin", async () => {
  await runWith(["/opt/emqx/bin/emqx", "upgrade", "it's 4.4.16", ""], { code: 0 });
  expect(client.commands).toEqual(["/opt/emqx/bin/emqx upgrade 'it'\\''s 4.4.16' ''"]);
  expect(client.channel.stdin).toBeUndefined();
  expect(client.channel.outgoing.state).toBe("eof");
});

test("writes the given stdin", async () => {
  await runWith(["sh"], { code: 0 }, { stdin: "echo hi\n" });
  expect(client.channel.stdin).toBe("echo hi\n");
});

test("returns a non-zero exit with its output instead of throwing", async () => {
  expect(await runWith(["emqx", "versions"], { stdout: "Node is not running!\n", stderr: "warn\n", code: 1 })).toEqual({
    exitCode: 1,
    signal: null,
    stdout: "Node is not running!\n",
    stderr: "warn\n",
    timedOut: false,
  });
});

test("reports a command killed by a signal with a null exit code", async () => {
  expect(await runWith(["sleep", "9"], { code: null, signal: "TERM" })).toMatchObject({
    exitCode: null,
    signal: "TERM",
    timedOut: false,
  });
});

test("keeps the last MAX_OUTPUT_BYTES of a huge output and says how much was cut", async () => {
  const big = Buffer.alloc(MAX_OUTPUT_BYTES + 10, "a");
  big.write("END", big.length - 3);
  const r = await runWith(["cat", "big"], { stdout: big, code: 0 });
  expect(r.stdout.startsWith("[… first 10 bytes of stdout truncated …]\n")).toBe(true);
  expect(r.stdout.endsWith("aEND")).toBe(true);
  expect(r.stdout.length).toBe(MAX_OUTPUT_BYTES + "[… first 10 bytes of stdout truncated …]\n".length);
});

test("times a command out: asks sshd to KILL it, closes the channel, reports timedOut", async () => {
  const r = await session.run(["sleep", "600"], { timeoutMs: 50 });
  expect(r).toEqual({ exitCode: null, signal: null, stdout: "", stderr: "", timedOut: true });
  expect(client.channel.signals).toEqual(["KILL"]);
  expect(client.channel.closed).toBe(true);
});

test("gives up waiting for sshd to confirm the close after a timeout (root commands ignore the signal)", async () => {
  client.channel.confirmClose = false;
  const started = Date.now();
  const r = await session.run(["sleep", "600"], { timeoutMs: 50 });
  expect(r.timedOut).toBe(true);
  expect(Date.now() - started).toBeLessThan(4000);
});

test("fails with SshConnectError when the connection drops while a command runs", async () => {
  const result = session.run(["emqx", "upgrade", "4.4.16"]).catch((e) => e);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  client.emit("error", new Error("read ECONNRESET"));
  client.emit("close");
  const err = await result;
  expect(SshConnectError.isInstance(err)).toBe(true);
  expect(err).toMatchObject({ host: "10.0.0.7", port: 22, stage: "protocol" });
  expect(err.message).toBe(
    "10.0.0.7:22: the connection was lost while running `emqx upgrade 4.4.16` (read ECONNRESET)",
  );
});

test("fails with SshConnectError when the server refuses to open a channel", async () => {
  client.execError = new Error("(SSH) Channel open failure: open failed");
  const err = await session.run(["emqx", "versions"]).catch((e) => e);
  expect(SshConnectError.isInstance(err)).toBe(true);
  expect(err.message).toBe("10.0.0.7:22: cannot start `emqx`: (SSH) Channel open failure: open failed");
});

test("fails for a command after close, and closing twice is harmless", async () => {
  await session.close();
  await session.close();
  expect(client.ended).toBe(true);
  const err = await session.run(["emqx", "versions"]).catch((e) => e);
  expect(EmqxProviderError.isInstance(err)).toBe(true);
  expect(err.message).toBe("cannot run `emqx versions` on 10.0.0.7: the SSH session was already closed");
});

test("closes the bastion connection together with the target's", async () => {
  const bastion = new FakeClient();
  const s = new SshSession({
    client: client as unknown as Client,
    bastion: bastion as unknown as Client,
    host: "10.0.0.7",
    port: 22,
    user: "root",
    hostKeyFingerprint: "",
    commandTimeoutMs: 1000,
  });
  await s.close();
  expect([client.ended, bastion.ended]).toEqual([true, true]);
});

test("uploads over one SFTP channel, reporting progress as the server acknowledges bytes", async () => {
  client.put = { steps: [100, 200], total: 200 };
  const progress: [number, number][] = [];
  await session.sftpPut("/local/pkg.zip", "/opt/emqx/releases/.x.part", {
    onProgress: (sent, total) => progress.push([sent, total]),
  });
  await session.sftpPut("/local/pkg.zip", "/opt/emqx/releases/.y.part");
  expect(progress).toEqual([
    [100, 200],
    [200, 200],
  ]);
  expect(client.sftpOpened).toBe(1);
});

test("fails an upload with the server's reason and what to check", async () => {
  client.put = { steps: [], total: 0, error: new Error("Permission denied") };
  const err = await session.sftpPut("/local/pkg.zip", "/opt/emqx/releases/.x.part").catch((e) => e);
  expect(EmqxProviderError.isInstance(err)).toBe(true);
  expect(err.message).toBe(
    "upload of /local/pkg.zip to 10.0.0.7:/opt/emqx/releases/.x.part failed: Permission denied; check that the directory exists, is writable by the SSH user and has free space",
  );
});

test("keeps the exit status and output of a command that finishes in the packet that opens its channel", async () => {
  // ssh2 can parse the channel confirmation, the output, the exit status and the close in one go:
  // the exec callback and every event come in one synchronous run, before any await resumes.
  client.exec = (command: string, cb: (err: Error | undefined, channel: FakeChannel) => void) => {
    client.commands.push(command);
    setImmediate(() => {
      cb(undefined, client.channel);
      client.channel.finish({ stdout: "fast\n", code: 1 });
    });
  };
  await expect(session.run(["test", "-e", "/nonexistent"])).resolves.toEqual({
    exitCode: 1,
    signal: null,
    stdout: "fast\n",
    stderr: "",
    timedOut: false,
  });
});
