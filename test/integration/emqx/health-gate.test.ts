// runHealthGate over real OpenSSH sshd against the EMQX 4.4 CLI emulator: the version the node
// reports, the user's command (argv, quoted by the SSH transport) and `emqx ctl cluster status`.
import { EmqxCli } from "../../../provider/emqx/cli";
import { HealthGateResult, HealthGateSpec, runHealthGate } from "../../../provider/emqx/health-gate";
import { connectSsh } from "../../../provider/ssh/connect";
import { SshSession } from "../../../provider/ssh/session";
import { startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(120_000);

/** A host running `version` (bin scripts of the same version), an SSH session to it and a CLI. */
async function openHost(
  version: string,
  address: string,
): Promise<{ host: TestHost; session: SshSession; cli: EmqxCli }> {
  const host = await startTestHost({ version }, address);
  const c = host.connection;
  const session = await connectSsh({
    ...c,
    readyTimeoutMs: 10_000,
    dialAttempts: 1,
    dialRetryDelayMs: 100,
    commandTimeoutMs: 30_000,
  });
  const cli = new EmqxCli(session, { emqxPath: host.emqxPath, commandTimeoutMs: 30_000, upgradeTimeoutMs: 60_000 });
  return { host, session, cli };
}

describe("on a 4.4.16 node (emqx ctl)", () => {
  let t: Awaited<ReturnType<typeof openHost>>;
  const lines: string[] = [];
  beforeAll(async () => {
    t = await openHost("4.4.16", "127.0.0.41");
  });
  afterAll(async () => {
    await t?.session.close();
    await t?.host.stop();
  });
  beforeEach(() => {
    lines.length = 0;
    t.host.setFaults({});
  });
  const gate = (over: Partial<HealthGateSpec> = {}): Promise<HealthGateResult> =>
    runHealthGate(
      t.cli,
      { version: "4.4.16", deadlineSeconds: 120, requireClusterRunning: false, binScriptsVersion: "4.4.16", ...over },
      (l) => lines.push(l),
    );

  test("passes with the defaults: the node reports the target version", async () => {
    const r = await gate();
    expect(r).toMatchObject({ passed: true, attempts: 1, checks: { version: true }, detail: "node reports 4.4.16" });
    expect(lines).toEqual([
      expect.stringMatching(/^health gate passed on attempt 1 after [0-9.]+ s: node reports 4\.4\.16$/),
    ]);
    expect(t.host.calls().slice(-1)[0].argv).toEqual(["ctl", "status"]);
  });

  test("fails by its deadline when the node reports another version", async () => {
    const r = await gate({ version: "4.4.17", deadlineSeconds: 2 });
    expect(r).toMatchObject({ passed: false, checks: { version: false }, detail: "node reports 4.4.16, not 4.4.17" });
  });

  test("passes with requireClusterRunning when every member runs", async () => {
    t.host.setFaults({ clusterNodes: { running: ["emqx@10.0.0.1", "emqx@10.0.0.2", "emqx@10.0.0.3"], stopped: [] } });
    const r = await gate({ requireClusterRunning: true });
    expect(r).toMatchObject({
      passed: true,
      attempts: 1,
      checks: { version: true, cluster: true },
      detail: "node reports 4.4.16; all 3 cluster nodes running",
    });
  });

  test("fails by the deadline when a member of the cluster is stopped, after retrying every ~2 s", async () => {
    t.host.setFaults({ clusterNodes: { running: ["emqx@a"], stopped: ["emqx@b"] } });
    const started = Date.now();
    const r = await gate({ requireClusterRunning: true, deadlineSeconds: 3 });
    const elapsedMs = Date.now() - started;
    expect(r).toMatchObject({
      passed: false,
      checks: { version: true, cluster: false },
      detail: "cluster has stopped nodes: emqx@b",
    });
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(r.durationMs).toBeGreaterThanOrEqual(3000);
    expect(elapsedMs).toBeLessThan(20_000);
    expect(lines[0]).toBe("health gate attempt 1: cluster has stopped nodes: emqx@b");
    expect(lines[lines.length - 1]).toMatch(
      /^health gate failed after \d+ attempts in [0-9.]+ s \(deadline 3 s\): cluster has stopped nodes: emqx@b$/,
    );
  });

  test("passes once a stopped member comes back before the deadline", async () => {
    t.host.setFaults({ clusterNodes: { running: ["emqx@a"], stopped: ["emqx@b"] } });
    const clusterCalls = () => t.host.calls().filter((c) => c.argv.join(" ") === "ctl cluster status").length;
    const before = clusterCalls();
    const r = gate({ requireClusterRunning: true, deadlineSeconds: 30 });
    // Bring emqx@b back only once the first attempt has seen it stopped.
    while (clusterCalls() === before) await new Promise((resolve) => setTimeout(resolve, 100));
    t.host.setFaults({ clusterNodes: { running: ["emqx@a", "emqx@b"], stopped: [] } });
    const result = await r;
    expect(result).toMatchObject({ passed: true, checks: { cluster: true } });
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toBe("health gate attempt 1: cluster has stopped nodes: emqx@b");
  });

  test("fails with the exit code of a command that exits 3", async () => {
    const r = await gate({ command: ["sh", "-c", "echo not ready >&2; exit 3"], deadlineSeconds: 1 });
    expect(r).toMatchObject({ passed: false, checks: { version: true, command: false } });
    expect(r.detail).toBe("command `sh -c echo not ready >&2; exit 3` exited 3: not ready");
  });

  test("passes with a command that checks the install root exists", async () => {
    const r = await gate({ command: ["test", "-d", t.host.root] });
    expect(r).toMatchObject({ passed: true, checks: { version: true, command: true } });
  });

  test("passes the command's argv word for word (spaces, quotes, $ and ; are not interpreted)", async () => {
    const tricky = `a b'c "d" $HOME; exit 9`;
    const r = await gate({ command: ["sh", "-c", 'test "$1" = "$2"', "sh", tricky, tricky] });
    expect(r).toMatchObject({ passed: true, checks: { command: true } });
  });
});

describe("on a node with 4.4.3 bin scripts (no emqx ctl)", () => {
  let t: Awaited<ReturnType<typeof openHost>>;
  beforeAll(async () => {
    t = await openHost("4.4.3", "127.0.0.42");
  });
  afterAll(async () => {
    await t?.session.close();
    await t?.host.stop();
  });

  test("reads the version from `emqx versions` and the cluster from bin/emqx_ctl", async () => {
    t.host.setFaults({ clusterNodes: { running: ["emqx@a"], stopped: ["emqx@b"] } });
    const r = await runHealthGate(
      t.cli,
      { version: "4.4.3", deadlineSeconds: 0, requireClusterRunning: true, binScriptsVersion: "4.4.3" },
      () => undefined,
    );
    expect(r).toMatchObject({
      passed: false,
      attempts: 1,
      checks: { version: true, cluster: false },
      detail: "cluster has stopped nodes: emqx@b",
    });
    const calls = t.host.calls().map((c) => `${c.script} ${c.argv.join(" ")}`);
    expect(calls.slice(-2)).toEqual(["emqx versions", "emqx_ctl cluster status"]);
  });
});
