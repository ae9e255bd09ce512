// connectSsh without an SSH server: credentials it refuses before dialing, and how it classifies
// and retries network failures (a server that drops the connection before its banner, one that
// never answers, an unreachable bastion). Real handshakes, host keys, bastions and a closed port on
// the target: test/integration/ssh.test.ts.
import { generateKeyPairSync } from "crypto";
import * as net from "net";
import { SshConnectError } from "../../../provider/errors";
import { connectSsh } from "../../../provider/ssh/connect";
import type { SshTarget } from "../../../provider/plan/connection";

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A loopback TCP server running `onConnection`; resolves its port. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function target(over: Partial<SshTarget> = {}): SshTarget {
  return {
    host: "127.0.0.1",
    port: 22,
    user: "root",
    password: "pw-secret-1",
    readyTimeoutMs: 5000,
    dialAttempts: 1,
    dialRetryDelayMs: 10,
    commandTimeoutMs: 10_000,
    ...over,
  };
}

async function connectError(t: SshTarget, log?: (line: string) => void): Promise<SshConnectError> {
  const err = await connectSsh(t, log).then(
    (s) => (void s.close(), new Error("connected, but a failure was expected")),
    (e: unknown) => e,
  );
  if (!SshConnectError.isInstance(err)) throw err;
  return err;
}

describe("credentials refused before dialing, never retried", () => {
  test("fails naming the user when no privateKey, password or agent socket is given", async () => {
    const log: string[] = [];
    let connections = 0;
    const port = await tcpServer(() => connections++);
    const err = await connectError(target({ port, password: undefined, dialAttempts: 3 }), (l) => log.push(l));
    expect(err).toMatchObject({ stage: "client-authentication", attempts: 1, host: "127.0.0.1", port });
    expect(err.message).toBe(`127.0.0.1:${port}: no privateKey, password or agentSocketPath given for user root`);
    expect(log).toEqual([]);
    expect(connections).toBe(0);
  });

  test("fails with the parser's reason for a privateKey whose passphrase is wrong, without echoing either", async () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 1024,
      privateKeyEncoding: { type: "pkcs1", format: "pem", cipher: "aes-128-cbc", passphrase: "right-passphrase" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const err = await connectError(
      target({ privateKey, privateKeyPassword: "wrong-passphrase", password: undefined, dialAttempts: 3 }),
    );
    expect(err.stage).toBe("client-authentication");
    expect(err.message).toMatch(
      /^127\.0\.0\.1:22: privateKey cannot be used \(.+\); check privateKey and privateKeyPassword$/,
    );
    expect(err.message).not.toContain("wrong-passphrase");
    expect(err.message).not.toContain(privateKey.split("\n").find((l) => l.length > 40 && !l.startsWith("-----")));
  });

  test("fails for a public key given as privateKey", async () => {
    const { publicKey } = generateKeyPairSync("ed25519", {
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    const err = await connectError(target({ privateKey: publicKey, password: undefined }));
    expect(err.message).toMatch(/privateKey cannot be used \(.+\)/);
  });

  test("at the bastion: stage proxy, naming the bastion and the target behind it", async () => {
    const err = await connectError(
      target({
        host: "10.0.0.7",
        proxy: { host: "127.0.0.1", port: 2222, user: "jump", readyTimeoutMs: 5000 },
        dialAttempts: 3,
      }),
    );
    expect(err).toMatchObject({ stage: "proxy", host: "127.0.0.1", port: 2222, attempts: 1 });
    expect(err.message).toBe(
      "bastion 127.0.0.1:2222 (in front of 10.0.0.7:22): no privateKey, password or agentSocketPath given for user jump",
    );
  });
});

describe("network failures, retried and logged", () => {
  test("treats a server that drops the connection before its banner as the network (sshd MaxStartups)", async () => {
    let connections = 0;
    const port = await tcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    const err = await connectError(target({ port, dialAttempts: 2 }));
    expect(connections).toBe(2);
    expect(err).toMatchObject({ stage: "client-socket", attempts: 2 });
    expect(err.message).toMatch(/after 2 attempts/);
  });

  test("fails with client-timeout and the readyTimeoutMs hint when the server never answers", async () => {
    const port = await tcpServer(() => undefined);
    const started = Date.now();
    const err = await connectError(target({ port, readyTimeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.stage).toBe("client-timeout");
    expect(err.message).toMatch(
      /^could not connect to 127\.0\.0\.1:\d+ after 1 attempt: no SSH session within 300 ms \(.*\); check that the host is up and the port reachable, or raise readyTimeoutMs$/,
    );
  });

  test("retries a bastion that cannot be reached, with stage proxy", async () => {
    const port = await closedPort();
    const log: string[] = [];
    const err = await connectError(
      target({
        host: "10.0.0.7",
        proxy: { host: "127.0.0.1", port, user: "jump", password: "pw-secret-2", readyTimeoutMs: 5000 },
        dialAttempts: 2,
      }),
      (l) => log.push(l),
    );
    expect(err).toMatchObject({ stage: "proxy", host: "127.0.0.1", port, attempts: 2 });
    expect(log).toHaveLength(2);
    expect(err.message).toMatch(
      new RegExp(
        `^could not connect to 10\\.0\\.0\\.7:22 after 2 attempts: bastion 127\\.0\\.0\\.1:${port} \\(in front of 10\\.0\\.0\\.7:22\\): cannot reach the SSH server`,
      ),
    );
  });
});
