// The client-impact gate over real OpenSSH sshd against the EMQX 4.4 CLI emulator, for what a real
// node cannot be made to say on demand: a CLI that stops answering `broker stats` (the gate cannot
// tell: it polls, then fails at the deadline, never passes), a restart (uptime went back), a plugin
// that a relup left stopped, churn within the tolerance. The real-node cases (MQTT clients through
// a good and a bad hot upgrade) are in client-impact.otp-host.test.ts.
import { execFileSync } from "child_process";
import { EmqxCli } from "../../../provider/emqx/cli";
import { ClientImpactSpec, readBefore, runClientImpactGate } from "../../../provider/emqx/client-impact";
import { connectSsh } from "../../../provider/ssh/connect";
import type { SshSession } from "../../../provider/ssh/session";
import { startTestHost, type TestHost } from "../../../sandbox/test-host";

jest.setTimeout(120_000);
const SPEC: ClientImpactSpec = {
  deadlineSeconds: 6,
  maxConnectionDropPercent: 10,
  maxShutdownGrowthPercent: 10,
  requireSamePlugins: true,
  binScriptsVersion: "4.4.16",
};
const LISTENER = { id: "mqtt:tcp:external", listenOn: "0.0.0.0:1883" };

let host: TestHost;
let session: SshSession;
let cli: EmqxCli;
const lines: string[] = [];

beforeAll(async () => {
  host = await startTestHost({ version: "4.4.16" }, "127.0.0.43");
  session = await connectSsh({
    ...host.connection,
    readyTimeoutMs: 10_000,
    dialAttempts: 1,
    dialRetryDelayMs: 100,
    commandTimeoutMs: 30_000,
  });
  cli = new EmqxCli(session, { emqxPath: host.emqxPath, commandTimeoutMs: 30_000, upgradeTimeoutMs: 60_000 });
});
afterAll(async () => {
  await session?.close();
  await host?.stop();
});
beforeEach(() => {
  lines.length = 0;
});

test("passes with ordinary churn: 200 -> 195 connections and 4 more closed on a listener of 200", async () => {
  host.setFaults({
    clients: { live: 200, listeners: [{ ...LISTENER, currentConn: 200, shutdownCount: { closed: 10 } }] },
  });
  const before = await readBefore(cli, SPEC, (l) => lines.push(l));
  host.setFaults({
    clients: { live: 195, listeners: [{ ...LISTENER, currentConn: 195, shutdownCount: { closed: 14 } }] },
  });
  const r = await runClientImpactGate(cli, SPEC, before, (l) => lines.push(l));
  expect(r).toMatchObject({ passed: true, attempts: 1 });
  expect(r.detail).toMatch(
    /live connections 200 -> 195 \(-2\.5%\), within the 10% allowed; shutdowns passed: shutdown_count grew: mqtt:tcp:external \+4 \(closed \+4\), within 20/,
  );
  expect(lines[0]).toMatch(
    /^client impact, before: 200 live connections, 1 listeners \(shutdown_count mqtt:tcp:external 10\), uptime \d+ s, 5 plugins active$/,
  );
});

test("fails, never passes, when `broker stats` stops answering: could not tell by the deadline", async () => {
  host.setFaults({ clients: { live: 50 } });
  const before = await readBefore(cli, SPEC, () => undefined);
  host.setFaults({ clients: { live: 50, unanswered: ["broker stats"] } });
  const started = Date.now();
  const r = await runClientImpactGate(cli, SPEC, before, (l) => lines.push(l));
  expect(r).toMatchObject({ passed: false, couldNotTell: true });
  // Polled until the deadline (how many attempts fit in 6 s depends on the machine's load).
  expect(Date.now() - started).toBeGreaterThanOrEqual(6000);
  expect(r.detail).toMatch(
    /^could not tell within 6 s whether the clients stayed connected: connections inconclusive: could not tell \(after the upgrade: `broker stats` exited 1\)/,
  );
  expect(lines.filter((l) => l.startsWith("client impact attempt")).length).toBe(r.attempts - 1);
});

test("refuses to start, nothing changed, when the node cannot answer before the upgrade", async () => {
  host.setFaults({ clients: { unanswered: ["listeners"] } });
  await expect(readBefore(cli, SPEC, () => undefined)).rejects.toThrow(
    /client-impact gate cannot read the node before the upgrade: `listeners` exited 1.*nothing was changed/,
  );
});

test("fails when the node restarted (its uptime went back), although every client came back", async () => {
  host.setFaults({ clients: { live: 30 } });
  await new Promise((r) => setTimeout(r, 2100));
  const before = await readBefore(cli, SPEC, () => undefined);
  execFileSync(host.emqxPath, ["stop"]);
  execFileSync(host.emqxPath, ["start"]);
  const r = await runClientImpactGate(cli, SPEC, before, () => undefined);
  expect(r).toMatchObject({ passed: false, couldNotTell: false });
  expect(r.detail).toMatch(/^uptime failed: uptime went back from \d+ s to \d+ s: the node restarted/);
});

test("fails when a plugin is no longer active after the upgrade (a relup that reset plugin config)", async () => {
  const plugins = (recon: boolean) => [
    { name: "emqx_management", description: "EMQX Management Plugin", active: true },
    { name: "emqx_recon", description: "EMQX Recon Plugin", active: recon },
  ];
  host.setFaults({ clients: { live: 5, plugins: plugins(true) } });
  const before = await readBefore(cli, SPEC, () => undefined);
  host.setFaults({ clients: { live: 5, plugins: plugins(false) } });
  const r = await runClientImpactGate(cli, SPEC, before, () => undefined);
  expect(r.passed).toBe(false);
  expect(r.checks.find((c) => c.name === "plugins")).toMatchObject({
    verdict: "failed",
    before: ["emqx_management", "emqx_recon"],
    after: ["emqx_management"],
    detail: "plugins changed (no longer active: emqx_recon); set requireSamePlugins: false if that is expected",
  });
});
