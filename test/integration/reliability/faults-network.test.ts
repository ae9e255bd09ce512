// Network faults for real: a TCP proxy between the provider and a real OpenSSH sshd cuts (RST) or
// stalls the connection after N bytes, a port where nothing listens, a peer that never answers.
// After each: no file EMQX's glob `emqx-*<V>*.zip` matches is ever half-written in releases/, the
// host lock does not lock out the rerun when no EMQX command was sent, the rerun succeeds, and no
// secret shows.
import * as fs from "fs";
import * as net from "net";
import { EmqxReleaseProvider } from "../../../provider";
import { execFileSync } from "child_process";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import { startFaultProxy } from "../../support/fault-proxy";
import { expectIntactInstall, expectNoLeaks, mutatingCalls, partFiles, underFault } from "../../support/fault-run";
import { reliabilityEach, reliabilityTest } from "../../support/reliability";
import { freePort } from "../../../sandbox/sshd";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(180_000);
const ADDRESS = "127.0.0.151";
const FROM = "4.4.0";
const TO = "4.4.16";
const PACKAGE_BYTES = 5 * 1024 * 1024;
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let pkg: string;
let pkgSize: number;
let host: TestHost;

beforeAll(async () => {
  pkg = await shelf.build({ version: TO, extraBytes: PACKAGE_BYTES });
  pkgSize = fs.statSync(pkg).size;
});
beforeEach(async () => {
  host = await startTestHost({ version: FROM }, ADDRESS);
});
afterEach(async () => {
  await host.stop();
});

async function checkedInputs(
  connection: Record<string, unknown>,
  over: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const r = await provider.check({}, { connection, version: TO, packagePath: pkg, emqxPath: host.emqxPath, ...over });
  expect(r.failures).toEqual([]);
  return r.inputs;
}

const mutating = () => mutatingCalls(host);

/** The rerun, direct to sshd: upgrades, and leaves no temporary file behind. */
async function rerunSucceeds(): Promise<void> {
  const inputs = await checkedInputs(host.connection);
  const r = await underFault(() => provider.create(inputs));
  expect(r.error).toBeUndefined();
  expect(emulatorVersions(host.root)).toEqual([
    { version: TO, status: "permanent" },
    { version: FROM, status: "old" },
  ]);
  expect(partFiles(host.root)).toEqual([]);
  expect(mutating().map((c) => c.argv.join(" "))).toEqual([`upgrade ${TO}`]);
}

// Where the cut falls, as a share of the package (the SSH handshake and commands come first).
const CUTS = [0.02, 0.5, 0.98].map((share) => ({
  area: "fault" as const,
  case: `upload cut (TCP reset) at ${Math.round(share * 100)}% of a 5 MiB package`,
  expected:
    "SshConnectError naming the host and the lost upload; no emqx-*4.4.16*.zip in releases/; no EMQX command sent; lock released over a new connection; the rerun upgrades",
  share,
}));

reliabilityEach(CUTS, async (row, probe) => {
  const proxy = await startFaultProxy(
    host.sshd,
    { cutAfterBytes: Math.round(row.share * pkgSize) + 64 * 1024 },
    ADDRESS,
  );
  try {
    const inputs = await checkedInputs({ ...host.connection, port: proxy.port });
    const r = await underFault(() => provider.create(inputs));
    expect(proxy.tripped()).toBe(true);
    expect(r.error?.name).toBe("SshConnectError");
    expect(r.error!.message).toMatch(
      new RegExp(`${ADDRESS.replace(/\./g, "\\.")}:${proxy.port}: the connection was lost while uploading`),
    );
    expect(r.logs.join("\n")).toMatch(/host lock [0-9a-f]{16} released over a new connection/);
    expect(mutating()).toEqual([]);
    expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
    expectNoLeaks(probe, r, inputs);
  } finally {
    await proxy.close();
  }
  await rerunSucceeds();
});

reliabilityTest(
  {
    area: "fault",
    case: "upload stalls at 50% (bytes stop, socket stays open)",
    expected:
      "fails within commandTimeoutMs saying the upload stalled; nothing half-written under EMQX's glob; the rerun upgrades",
  },
  async (probe) => {
    const proxy = await startFaultProxy(host.sshd, { stallAfterBytes: Math.round(pkgSize / 2) }, ADDRESS);
    try {
      const inputs = await checkedInputs({ ...host.connection, port: proxy.port }, { commandTimeoutMs: 4000 });
      const r = await underFault(() => provider.create(inputs));
      expect(proxy.tripped()).toBe(true);
      expect(r.error?.message).toMatch(
        /the upload to \S+ stalled: nothing was acknowledged for 4 s, so the connection was closed/,
      );
      // The stall bound, then one reconnect attempt for the lock (the proxy stalls it too: bounded by readyTimeoutMs).
      expect(r.ms).toBeLessThan(4000 + 20_000 * 5 + 2000 * 4 + 10_000);
      expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
      expectNoLeaks(probe, r, inputs);
      expect(mutating()).toEqual([]);
    } finally {
      await proxy.close();
    }
    await rerunSucceeds();
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "host unreachable (nothing listens on the port)",
    expected:
      "SshConnectError after exactly 5 dial attempts, each logged with its reason, within the retry bound; no retry after that",
  },
  async (probe) => {
    const port = await freePort(ADDRESS);
    const inputs = await checkedInputs({ ...host.connection, port });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.name).toBe("SshConnectError");
    expect(r.error!.message).toMatch(/ECONNREFUSED/);
    const attempts = r.logs.filter((l) => /attempt \d\/5 failed/.test(l));
    expect(attempts.map((l) => /attempt (\d)\/5/.exec(l)![1])).toEqual(["1", "2", "3", "4", "5"]);
    expect(r.ms).toBeLessThan(5 * 2000 + 10_000);
    expectNoLeaks(probe, r, inputs);
    expect(host.calls()).toEqual([]);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "a peer that accepts TCP but never speaks SSH",
    expected: "SshConnectError after readyTimeoutMs per attempt, 5 attempts, bounded; nothing run",
  },
  async (probe) => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, ADDRESS, () => resolve()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const inputs = await checkedInputs({ ...host.connection, port, readyTimeoutMs: 1500 });
      const r = await underFault(() => provider.create(inputs));
      expect(r.error?.name).toBe("SshConnectError");
      expect(r.error!.message).toMatch(/no SSH session within 1500 ms/);
      expect(r.ms).toBeLessThan(5 * (1500 + 2000) + 10_000);
      expectNoLeaks(probe, r, inputs);
      expect(host.calls()).toEqual([]);
    } finally {
      silent.close();
    }
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "connection cut while `emqx upgrade` runs",
    expected:
      "SshConnectError; the upgrade is not retried; the lock stays (an EMQX command may still run); refresh then shows the node's truth; the next run names the lock",
  },
  async (probe) => {
    host.setFaults({ holdMs: { upgrade: 3000 } });
    const proxy = await startFaultProxy(host.sshd, {}, ADDRESS);
    try {
      const inputs = await checkedInputs({ ...host.connection, port: proxy.port });
      const running = underFault(() => provider.create(inputs));
      // The call log gets its line when a command ends; the process table shows the switch under way.
      for (const deadline = Date.now() + 60_000; !upgradeRunning() && Date.now() < deadline;)
        await new Promise((res) => setTimeout(res, 50));
      expect(upgradeRunning()).toBe(true);
      await proxy.close();
      const r = await running;
      expect(r.error?.name).toBe("SshConnectError");
      expect(r.logs.join("\n")).toMatch(/host lock [0-9a-f]{16} stays until someone checks the node/);
      expectNoLeaks(probe, r, inputs);
      // EMQX finishes the switch on the node; refresh sees it.
      await new Promise((res) => setTimeout(res, 4000));
      const { props } = await provider.read(`${ADDRESS}:${host.sshd.port}`, await checkedInputs(host.connection));
      expect(props.currentVersion).toBe(TO);
      const againInputs = await checkedInputs(host.connection);
      const again = await underFault(() => provider.create(againInputs));
      expect(again.error?.name).toBe("HostLockedError");
      expect(mutating().map((c) => c.argv.join(" "))).toEqual([`upgrade ${TO}`]);
      expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
    } finally {
      await proxy.close().catch(() => undefined);
    }
  },
);

/** Whether EMQX is inside release_handler:install_release on the host now: the emulator's node
 * process for that call (past unpack and checks; killing the CLI no longer stops the switch). */
function upgradeRunning(): boolean {
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n");
  return ps.some((l) => l.includes(`--node-rpc ${host.root} install_release ${TO}`));
}
