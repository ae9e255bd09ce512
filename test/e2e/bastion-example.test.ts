// examples/bastion deployed as a user deploys it (the example directory as a project with the packed
// library, `pulumi config set` as its comments say, the real CLI and language host), against a node
// this machine cannot reach except through a bastion: the target's sshd (in front of the EMQX CLI emulator running 4.4.0) listens in
// a network namespace that only the bastion's namespace is linked to, and the bastion's sshd
// listens on the link between this namespace and its own (layout in sandbox/netns.ts).
// The tests share one stack and run in order: the network proof, preview, up, refresh, destroy.
import * as fs from "fs";
import * as net from "net";
import { resourceCounts, setSecretFromFile } from "../../sandbox/cli-output";
import { newCliProject, type CliProject, type CliRun } from "../../sandbox/cli-project";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { canConnectInNetns, createBastionNetwork, type BastionNetwork } from "../../sandbox/netns";
import { startSshd, type TestSshd } from "../../sandbox/sshd";
import { packageShelf, startTestHost, type TestHost } from "../../sandbox/test-host";

// jest reads `testTimeout` from the global config only; the e2e project's own value is ignored.
jest.setTimeout(10 * 60 * 1000);
const FROM = "4.4.0";
const TARGET = "4.4.16";

/** "connected", or the error code of a TCP connect from this namespace ("ENETUNREACH", "timeout"). */
function tcpConnect(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(timeoutMs, () => (socket.destroy(), resolve("timeout")));
    socket.once("connect", () => (socket.destroy(), resolve("connected")));
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** The peer addresses of the "Connection from <addr> port ..." lines of an sshd log. */
function peers(log: string): string[] {
  return [...log.matchAll(/^Connection from (\S+) port/gm)].map((m) => m[1]);
}

/** Resolves once `condition` holds; sshd logs a connection a moment after accepting it. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
  }
}

/** How many logins (publickey) an sshd log shows from `address`. */
function logins(log: string, address: string): number {
  return log.split("\n").filter((l) => l.startsWith(`Accepted publickey for root from ${address} `)).length;
}

describe("examples/bastion upgrades a node that only a bastion can reach", () => {
  let network: BastionNetwork;
  let bastion: TestSshd;
  let host: TestHost;
  let p: CliProject;
  let shelfDir: string;

  beforeAll(async () => {
    p = newCliProject("bastion");
    network = createBastionNetwork();
    host = await startTestHost({ version: FROM }, network.targetAddress, { netns: network.targetNetns });
    bastion = await startSshd({ host: network.bastionAddress, netns: network.bastionNetns });
    // One key for both hops, as bastionPrivateKey's default assumes: the bastion trusts the target's client key.
    bastion.authorizeKey(host.sshd.clientPublicKey);
    const shelf = packageShelf();
    shelfDir = shelf.dir;
    await p.pulumiOk(["stack", "init", "e2e"]);
    // As the example's comments say: the key with --secret, the rest plain.
    await setSecretFromFile(p, "privateKey", host.connection.privateKey);
    const config = {
      host: host.connection.host,
      port: String(host.connection.port),
      hostKey: host.connection.hostKey,
      bastionHost: bastion.host,
      bastionPort: String(bastion.port),
      bastionHostKey: bastion.hostKeyLine,
      version: TARGET,
      packagePath: await shelf.build({ version: TARGET }),
      emqxPath: host.emqxPath,
    };
    for (const [k, v] of Object.entries(config)) await p.pulumiOk(["config", "set", k, v]);
  });

  afterAll(async () => {
    try {
      await host?.stop();
      await bastion?.stop();
    } finally {
      network?.destroy();
      p?.cleanup();
      if (shelfDir) fs.rmSync(shelfDir, { recursive: true, force: true });
    }
  });

  const run = async (args: string[]): Promise<CliRun> => p.pulumiOk(args);

  test("a direct connection to the target fails with ENETUNREACH, while the bastion, and from it the target, can be reached", async () => {
    expect(await tcpConnect(network.targetAddress, host.connection.port)).toBe("ENETUNREACH");
    expect(await tcpConnect(network.bastionAddress, bastion.port)).toBe("connected");
    expect(await canConnectInNetns(network.bastionNetns, network.targetAddress, host.connection.port)).toBe(true);
    // Each sshd logs where the connection came from: here for the bastion, the bastion for the target.
    await eventually(
      () => peers(bastion.readLog()).includes(network.rootAddress),
      `bastion log shows a connection from ${network.rootAddress}`,
    );
    await eventually(
      () => peers(host.sshd.readLog()).includes(network.bastionInnerAddress),
      `target log shows a connection from ${network.bastionInnerAddress}`,
    );
  });

  test("preview --diff plans the release with both keys kept secret, and touches neither host", async () => {
    const before = {
      target: host.fingerprint(),
      targetPeers: peers(host.sshd.readLog()).length,
      bastionPeers: peers(bastion.readLog()).length,
    };
    const res = await run(["preview", "--diff"]);
    expect(resourceCounts(res.stdout)).toEqual({ create: 2 });
    expect(res.stdout).toContain("+ pulumi-nodejs:dynamic/emqx:EmqxRelease: (create)");
    expect(res.stdout).toMatch(/proxy\s*: \{/);
    expect(res.stdout.match(/privateKey\s*: \[secret\]/g)).toHaveLength(2);
    expect(res.stdout).not.toContain("OPENSSH PRIVATE KEY");
    expect({
      target: host.fingerprint(),
      targetPeers: peers(host.sshd.readLog()).length,
      bastionPeers: peers(bastion.readLog()).length,
    }).toEqual(before);
  });

  test("up upgrades the target from 4.4.0 to 4.4.16 over connections the bastion forwards", async () => {
    const res = await run(["up", "--yes"]);
    expect(resourceCounts(res.stdout)).toEqual({ create: 2 });
    expect(JSON.parse((await run(["stack", "output", "currentVersion", "--json"])).stdout)).toBe(TARGET);
    expect(emulatorVersions(host.root)).toEqual([
      { version: TARGET, status: "permanent" },
      { version: FROM, status: "old" },
    ]);
    // The bastion saw logins from this namespace; the target saw logins only from the bastion's
    // end of their link (its other peer is sshd's readiness probe, from inside its own namespace).
    expect(logins(bastion.readLog(), network.rootAddress)).toBeGreaterThanOrEqual(1);
    expect(logins(host.sshd.readLog(), network.bastionInnerAddress)).toBeGreaterThanOrEqual(1);
    expect(new Set(peers(host.sshd.readLog()))).toEqual(new Set([network.targetAddress, network.bastionInnerAddress]));
  });

  test("refresh reads the target through the bastion and finds it as up left it", async () => {
    const before = logins(bastion.readLog(), network.rootAddress);
    const res = await run(["refresh", "--yes", "--expect-no-changes"]);
    expect(resourceCounts(res.stdout)).toEqual({ same: 2 });
    expect(logins(bastion.readLog(), network.rootAddress)).toBeGreaterThan(before);
  });

  test("destroy reaches the target through the bastion too and leaves the running broker as it is", async () => {
    const before = {
      bastion: logins(bastion.readLog(), network.rootAddress),
      target: logins(host.sshd.readLog(), network.bastionInnerAddress),
    };
    const res = await run(["destroy", "--yes"]);
    expect(resourceCounts(res.stdout)).toEqual({ delete: 2 });
    expect(res.stdout).toContain(`${TARGET} is the permanent release`);
    expect(logins(bastion.readLog(), network.rootAddress)).toBeGreaterThan(before.bastion);
    expect(logins(host.sshd.readLog(), network.bastionInnerAddress)).toBeGreaterThan(before.target);
    expect(emulatorVersions(host.root)).toEqual([
      { version: TARGET, status: "permanent" },
      { version: FROM, status: "old" },
    ]);
  });
});
