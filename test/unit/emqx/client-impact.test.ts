// readSnapshot, readBefore and runClientImpactGate with a scripted Runner (EMQX 4.4.16's output
// formats) and a fake clock: what each attempt reads, that inconclusive is polled and then fails
// with "could not tell" at the deadline (never passes), that a failed check ends the gate at once.
import * as fs from "fs";
import * as path from "path";
import { HostStateError, SshConnectError } from "../../../provider/errors";
import { EmqxCli } from "../../../provider/emqx/cli";
import {
  ClientImpactSpec,
  readBefore,
  readSnapshot,
  runClientImpactGate,
  STATS_SETTLE_MS,
} from "../../../provider/emqx/client-impact";
import type { HealthGateClock } from "../../../provider/emqx/health-gate";
import type { CommandResult, Runner } from "../../../provider/runner";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx/4.4.16", name), "utf8");
const EMQX = "/opt/emqx/bin/emqx";
const STATS = `${EMQX} ctl broker stats`;
const LISTENERS = `${EMQX} ctl listeners`;
const BROKER = `${EMQX} ctl broker`;
const PLUGINS = `${EMQX} ctl plugins list`;
const SPEC: ClientImpactSpec = {
  deadlineSeconds: 20,
  maxConnectionDropPercent: 10,
  maxShutdownGrowthPercent: 10,
  requireSamePlugins: true,
  binScriptsVersion: "4.4.16",
};

class FakeClock implements HealthGateClock {
  t = 0;
  readonly sleeps: number[] = [];
  now = () => this.t;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

/** The n-th call of an argv gets the n-th answer (the last one repeats). */
class ScriptedRunner implements Runner {
  readonly host = "10.0.0.7";
  readonly calls: string[] = [];
  private readonly seen = new Map<string, number>();
  constructor(private readonly script: Record<string, Array<Partial<CommandResult> | Error>>) {}
  async run(argv: string[]): Promise<CommandResult> {
    const key = argv.join(" ");
    this.calls.push(key);
    const answers = this.script[key];
    if (!answers) throw new Error(`unexpected command: ${key}`);
    const n = this.seen.get(key) ?? 0;
    this.seen.set(key, n + 1);
    const a = answers[Math.min(n, answers.length - 1)];
    if (a instanceof Error) throw a;
    return { exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, ...a };
  }
}

const stats = (live: number) => ({
  stdout: fixture("broker-stats.txt").replace(
    /^live_connections\.count {8}: \d+$/m,
    `live_connections.count        : ${live}`,
  ),
});
const broker = (uptime: string) => ({
  stdout: fixture("broker.txt").replace(/^uptime {4}: .*$/m, `uptime    : ${uptime}`),
});
const listeners = (closed: number) => ({
  stdout: fixture("listeners.txt").replace(
    "[{closed,12},{keepalive_timeout,3}]",
    `[{closed,${closed}},{keepalive_timeout,3}]`,
  ),
});
const NOT_RUNNING: Partial<CommandResult> = { exitCode: 1, stderr: "Node 'emqx@10.0.0.7' not responding to pings.\n" };

function cliFor(script: Record<string, Array<Partial<CommandResult> | Error>>) {
  const runner = new ScriptedRunner(script);
  return { runner, cli: new EmqxCli(runner, { emqxPath: EMQX, commandTimeoutMs: 60_000, upgradeTimeoutMs: 400_000 }) };
}

test("reads the four commands of a 4.4.16 node into a snapshot", async () => {
  const { cli, runner } = cliFor({
    [STATS]: [stats(1187)],
    [LISTENERS]: [listeners(12)],
    [BROKER]: [broker("1 hours, 0 minutes, 5 seconds")],
    [PLUGINS]: [{ stdout: fixture("plugins-list.txt") }],
  });
  const snap = await readSnapshot(cli, "4.4.16");
  expect(runner.calls).toEqual([STATS, LISTENERS, BROKER, PLUGINS]);
  expect(snap).toMatchObject({ liveConnections: 1187, uptimeSeconds: 3605, unreadable: {} });
  expect(snap.listeners?.find((l) => l.id === "mqtt:tcp:external")).toEqual({
    id: "mqtt:tcp:external",
    currentConn: 1170,
    shutdownCount: { closed: 12, keepalive_timeout: 3 },
    shutdowns: 15,
  });
  expect(snap.activePlugins).toEqual([
    "emqx_auth_jwt",
    "emqx_dashboard",
    "emqx_management",
    "emqx_recon",
    "emqx_retainer",
    "emqx_rule_engine",
  ]);
});

test("bin scripts before 4.4.4 are read through emqx_ctl", async () => {
  const ctl = "/opt/emqx/bin/emqx_ctl";
  const { cli, runner } = cliFor({
    [`${ctl} broker stats`]: [stats(1)],
    [`${ctl} listeners`]: [listeners(0)],
    [`${ctl} broker`]: [broker("5 seconds")],
    [`${ctl} plugins list`]: [{ stdout: "" }],
  });
  await readSnapshot(cli, "4.4.3");
  expect(runner.calls).toEqual([`${ctl} broker stats`, `${ctl} listeners`, `${ctl} broker`, `${ctl} plugins list`]);
});

test("fails before the upgrade, nothing changed, when the node cannot say what the gate needs (a 4.3-style stats list)", async () => {
  const { cli } = cliFor({
    [STATS]: [{ stdout: "connections.count             : 3\n" }],
    [LISTENERS]: [listeners(0)],
    [BROKER]: [broker("5 seconds")],
    [PLUGINS]: [NOT_RUNNING],
  });
  const e = await readBefore(cli, SPEC, () => undefined).catch((x: Error) => x);
  expect(HostStateError.isInstance(e)).toBe(true);
  expect((e as Error).message).toMatch(
    /cannot read the node before the upgrade: `broker stats` has no live_connections\.count .*; `plugins list` exited 1\. .*nothing was changed/,
  );
});

test("passes on the first reading after two stats ticks, with the numbers in the log", async () => {
  const before = {
    liveConnections: 1187,
    listeners: [
      {
        id: "mqtt:tcp:external",
        currentConn: 1170,
        shutdownCount: { closed: 12, keepalive_timeout: 3 },
        shutdowns: 15,
      },
    ],
    uptimeSeconds: 3600,
    activePlugins: [
      "emqx_auth_jwt",
      "emqx_dashboard",
      "emqx_management",
      "emqx_recon",
      "emqx_retainer",
      "emqx_rule_engine",
    ],
    unreadable: {},
  };
  const { cli } = cliFor({
    [STATS]: [stats(1180)],
    [LISTENERS]: [listeners(14)],
    [BROKER]: [broker("1 hours, 0 minutes, 40 seconds")],
    [PLUGINS]: [{ stdout: fixture("plugins-list.txt") }],
  });
  const clock = new FakeClock();
  const log: string[] = [];
  const r = await runClientImpactGate(cli, SPEC, { snapshot: before }, (l) => log.push(l), clock);
  expect(clock.sleeps).toEqual([STATS_SETTLE_MS]);
  expect(r).toMatchObject({ passed: true, couldNotTell: false, attempts: 1 });
  expect(log).toEqual([
    expect.stringMatching(
      /^client impact passed on attempt 1 after 2\.0 s: connections passed: live connections 1187 -> 1180 \(-0\.6%\), within the 10% allowed; shutdowns passed: shutdown_count grew: mqtt:tcp:external \+2 \(closed \+2\), within 117; uptime passed: uptime 3600 s -> 3640 s, no restart; plugins passed: the same 6 plugins active$/,
    ),
  ]);
});

test("fails at once, without waiting for the deadline, when the node restarted (uptime went back)", async () => {
  const before = { liveConnections: 10, listeners: [], uptimeSeconds: 3600, activePlugins: [], unreadable: {} };
  const { cli } = cliFor({
    [STATS]: [stats(10)],
    [LISTENERS]: [listeners(0)],
    [BROKER]: [broker("4 seconds")],
    [PLUGINS]: [{ stdout: "" }],
  });
  const clock = new FakeClock();
  const r = await runClientImpactGate(cli, SPEC, { snapshot: before }, () => undefined, clock);
  expect(r).toMatchObject({ passed: false, couldNotTell: false, attempts: 1 });
  expect(r.detail).toMatch(/^uptime failed: uptime went back from 3600 s to 4 s: the node restarted/);
});

test('fails, never passes, when the node cannot answer until the deadline: "could not tell" after polling every 2 s', async () => {
  const before = { liveConnections: 10, listeners: [], uptimeSeconds: 3600, activePlugins: [], unreadable: {} };
  const { cli, runner } = cliFor({
    [STATS]: [NOT_RUNNING],
    [LISTENERS]: [NOT_RUNNING],
    [BROKER]: [NOT_RUNNING],
    [PLUGINS]: [NOT_RUNNING],
  });
  const clock = new FakeClock();
  const log: string[] = [];
  const r = await runClientImpactGate(cli, SPEC, { snapshot: before }, (l) => log.push(l), clock);
  expect(r).toMatchObject({ passed: false, couldNotTell: true, attempts: 10 });
  expect(clock.sleeps).toEqual([2000, ...Array(9).fill(2000)]);
  expect(r.detail).toMatch(
    /^could not tell within 20 s whether the clients stayed connected: connections inconclusive: could not tell \(after the upgrade: `broker stats` exited 1\)/,
  );
  expect(log.filter((l) => l.startsWith("client impact attempt"))).toHaveLength(9);
  expect(runner.calls.filter((c) => c === STATS)).toHaveLength(10);
});

test("an answer that comes late still passes: inconclusive, then passed", async () => {
  const before = { liveConnections: 10, listeners: [], uptimeSeconds: 100, activePlugins: [], unreadable: {} };
  const { cli } = cliFor({
    [STATS]: [NOT_RUNNING, stats(10)],
    [LISTENERS]: [listeners(0)],
    [BROKER]: [broker("2 minutes, 0 seconds")],
    [PLUGINS]: [{ stdout: "" }],
  });
  const r = await runClientImpactGate(cli, SPEC, { snapshot: before }, () => undefined, new FakeClock());
  expect(r).toMatchObject({ passed: true, attempts: 2 });
});

test("lets a lost connection through: it is no answer about the clients", async () => {
  const lost = new SshConnectError({
    host: "10.0.0.7",
    port: 22,
    stage: "client-socket",
    attempts: 1,
    message: "connection lost",
  });
  const { cli } = cliFor({ [STATS]: [lost] });
  await expect(readSnapshot(cli, "4.4.16")).rejects.toBe(lost);
});

test("refuses before the upgrade, nothing changed, when the probe's listener does not answer", async () => {
  const { cli, runner } = cliFor({});
  const refused = () =>
    Promise.reject(new Error("cannot open a forwarded channel to 127.0.0.1:11883 on the host: Connection refused"));
  const e = await readBefore(
    cli,
    { ...SPEC, probe: { host: "127.0.0.1", port: 11883 } },
    () => undefined,
    refused,
  ).catch((x: Error) => x);
  expect(HostStateError.isInstance(e)).toBe(true);
  expect((e as Error).message).toMatch(
    /the client-impact probe cannot connect to the MQTT listener 127\.0\.0\.1:11883 on the node \(cannot open a forwarded channel .*Connection refused\): .*nothing was changed/,
  );
  expect(runner.calls).toEqual([]);
});
