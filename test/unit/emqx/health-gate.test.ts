// runHealthGate with a scripted Runner and a fake clock: which commands it runs per attempt, when it
// retries, what it reports when the deadline passes, and which errors it lets through.
import { HostStateError, SshConnectError } from "../../../provider/errors";
import { EmqxCli } from "../../../provider/emqx/cli";
import { HealthGateClock, HealthGateSpec, runHealthGate } from "../../../provider/emqx/health-gate";
import type { CommandResult, Runner, RunOptions } from "../../../provider/runner";

const EMQX = "/opt/emqx/bin/emqx";
const CTL_STATUS = `${EMQX} ctl status`;
const CLUSTER = `${EMQX} ctl cluster status`;
const CURL = ["curl", "-fsS", "http://127.0.0.1:18083/status"];

const started = (version: string): Partial<CommandResult> => ({
  stdout: `Node 'emqx@10.0.0.7' ${version} is started\n`,
});
const cluster = (running: string[], stopped: string[]): Partial<CommandResult> => ({
  stdout: `Cluster status: #{running_nodes => [${running.map((n) => `'${n}'`).join(",")}],\n                  stopped_nodes => [${stopped.map((n) => `'${n}'`).join(",")}]}\n`,
});

/** A clock that only moves when the gate sleeps or a command runs (each takes COMMAND_MS). */
class FakeClock implements HealthGateClock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  now = () => this.t;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}
const COMMAND_MS = 50;

/** Answers each joined argv from its script: the n-th call gets the n-th answer, the last answer
 * repeats. An argv without a script fails the test. */
class ScriptedRunner implements Runner {
  readonly host = "10.0.0.7";
  readonly calls: { argv: string[]; options?: RunOptions }[] = [];
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly clock: FakeClock,
    private readonly script: Record<string, Array<Partial<CommandResult> | Error>>,
  ) {}
  async run(argv: string[], options?: RunOptions): Promise<CommandResult> {
    this.calls.push({ argv, options });
    this.clock.t += COMMAND_MS;
    const key = argv.join(" ");
    const answers = this.script[key];
    if (!answers) throw new Error(`unexpected command: ${key}`);
    const n = this.seen.get(key) ?? 0;
    this.seen.set(key, n + 1);
    const a = answers[Math.min(n, answers.length - 1)];
    if (a instanceof Error) throw a;
    return { exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, ...a };
  }
  commands(): string[] {
    return this.calls.map((c) => c.argv.join(" "));
  }
}

function setup(
  script: Record<string, Array<Partial<CommandResult> | Error>>,
  over: Partial<HealthGateSpec> = {},
  runAs?: string,
  sudoPassword?: string,
) {
  const clock = new FakeClock();
  const runner = new ScriptedRunner(clock, script);
  const cli = new EmqxCli(runner, {
    emqxPath: EMQX,
    runAs,
    sudoPassword,
    commandTimeoutMs: 60_000,
    upgradeTimeoutMs: 400_000,
  });
  const gate: HealthGateSpec = {
    version: "4.4.16",
    deadlineSeconds: 120,
    requireClusterRunning: false,
    binScriptsVersion: "4.4.16",
    ...over,
  };
  const lines: string[] = [];
  const run = () => runHealthGate(cli, gate, (l) => lines.push(l), clock);
  return { clock, runner, lines, run };
}

test("passes on the first attempt when the node reports the version, the command exits 0 and the cluster runs", async () => {
  const { clock, runner, lines, run } = setup(
    { [CTL_STATUS]: [started("4.4.16")], [CURL.join(" ")]: [{}], [CLUSTER]: [cluster(["emqx@a", "emqx@b"], [])] },
    { command: CURL, requireClusterRunning: true },
  );
  const r = await run();
  expect(r).toEqual({
    passed: true,
    attempts: 1,
    durationMs: 3 * COMMAND_MS,
    checks: { version: true, command: true, cluster: true },
    detail:
      "node reports 4.4.16; command `curl -fsS http://127.0.0.1:18083/status` exited 0; all 2 cluster nodes running",
  });
  expect(runner.commands()).toEqual([CTL_STATUS, CURL.join(" "), CLUSTER]);
  expect(clock.sleeps).toEqual([]);
  expect(lines).toEqual([`health gate passed on attempt 1 after 0.1 s: ${r.detail}`]);
});

test("reports only the version check when neither a command nor the cluster is asked for", async () => {
  const { runner, run } = setup({ [CTL_STATUS]: [started("4.4.16")] });
  const r = await run();
  expect(r.checks).toEqual({ version: true });
  expect(runner.commands()).toEqual([CTL_STATUS]);
});

test("passes on attempt 3 once the cluster's stopped node is back, logging each failed attempt", async () => {
  const { clock, lines, run } = setup(
    {
      [CTL_STATUS]: [started("4.4.16")],
      [CLUSTER]: [cluster(["emqx@a"], ["emqx@b"]), cluster(["emqx@a"], ["emqx@b"]), cluster(["emqx@a", "emqx@b"], [])],
    },
    { requireClusterRunning: true },
  );
  const r = await run();
  expect(r).toMatchObject({ passed: true, attempts: 3, checks: { version: true, cluster: true } });
  expect(clock.sleeps).toEqual([2000, 2000]);
  expect(lines).toEqual([
    "health gate attempt 1: cluster has stopped nodes: emqx@b",
    "health gate attempt 2: cluster has stopped nodes: emqx@b",
    "health gate passed on attempt 3 after 4.3 s: node reports 4.4.16; all 2 cluster nodes running",
  ]);
});

test("fails at the deadline with what was wrong at the last attempt, never sleeping past it", async () => {
  const { clock, lines, run } = setup({ [CTL_STATUS]: [started("4.4.0")] }, { deadlineSeconds: 5 });
  const start = clock.now();
  const r = await run();
  // Attempts at +0, +2.05, +4.1 and, after a short last sleep, at the deadline itself (+5).
  expect(r).toEqual({
    passed: false,
    attempts: 4,
    durationMs: 5000 + COMMAND_MS,
    checks: { version: false },
    detail: "node reports 4.4.0, not 4.4.16",
  });
  expect(clock.sleeps).toEqual([2000, 2000, 850]);
  expect(start + clock.sleeps.reduce((a, b) => a + b, 0) + 3 * COMMAND_MS).toBe(start + 5000);
  expect(lines.slice(0, 4)).toEqual(
    [1, 2, 3, 4].map((n) => `health gate attempt ${n}: node reports 4.4.0, not 4.4.16`),
  );
  expect(lines[4]).toMatch(
    /^health gate failed after 4 attempts in 5\.\d s \(deadline 5 s\): node reports 4\.4\.0, not 4\.4\.16$/,
  );
});

test("fails with the command, its exit code and its trimmed stderr; the command runs as argv through runAs with the time left as timeout", async () => {
  const sudo = (args: string[]) => ["sudo", "-n", "-u", "emqx", "--", ...args].join(" ");
  const stderr = "curl: (7) Failed to connect to 127.0.0.1 port 18083: Connection refused\n" + "more\n".repeat(20);
  const { runner, run } = setup(
    { [sudo([EMQX, "ctl", "status"])]: [started("4.4.16")], [sudo(CURL)]: [{ exitCode: 7, stderr }] },
    { command: CURL, deadlineSeconds: 3 },
    "emqx",
  );
  const r = await run();
  expect(r.passed).toBe(false);
  expect(r.checks).toEqual({ version: true, command: false });
  expect(r.detail).toBe(
    "command `curl -fsS http://127.0.0.1:18083/status` exited 7: curl: (7) Failed to connect to 127.0.0.1 port 18083: Connection refused / more / more / more / more / … (16 more lines)",
  );
  const curlCalls = runner.calls.filter((c) => c.argv.includes("curl"));
  expect(curlCalls[0].argv).toEqual(["sudo", "-n", "-u", "emqx", "--", ...CURL]);
  expect(curlCalls[0].options?.timeoutMs).toBe(3000 - COMMAND_MS);
  // The last attempt still gets a second, however little time is left.
  expect(curlCalls[curlCalls.length - 1].options?.timeoutMs).toBe(1000);
});

// Row: [case, command result, detail]
const COMMAND_ROWS: [string, Partial<CommandResult>, string][] = [
  ["timed out", { exitCode: null, timedOut: true }, "command `sleep 999` timed out after 1 s"],
  ["killed", { exitCode: null, signal: "SIGKILL" }, "command `sleep 999` was killed by SIGKILL"],
  [
    "exit without output, stdout used when stderr is empty",
    { exitCode: 1, stdout: "\n  not ready  \n" },
    "command `sleep 999` exited 1: not ready",
  ],
  ["exit with nothing printed", { exitCode: 3 }, "command `sleep 999` exited 3"],
];
test.each(COMMAND_ROWS)("fails with a readable detail when the command %s", async (_name, result, detail) => {
  const { run } = setup(
    { [CTL_STATUS]: [started("4.4.16")], "sleep 999": [result] },
    { command: ["sleep", "999"], deadlineSeconds: 0 },
  );
  const r = await run();
  expect(r).toMatchObject({ passed: false, attempts: 1, detail });
});

test("uses `emqx versions` and bin/emqx_ctl with bin scripts 4.4.3 (no `emqx ctl`)", async () => {
  const versions = (lines: string) => ({ stdout: `Installed versions:\n${lines}\n` });
  const { runner, lines, run } = setup(
    {
      [`${EMQX} versions`]: [versions("* 4.4.3\tpermanent"), versions("* 4.4.16\tcurrent\n* 4.4.3\tpermanent")],
      "/opt/emqx/bin/emqx_ctl cluster status": [cluster(["emqx@a"], [])],
    },
    { binScriptsVersion: "4.4.3", requireClusterRunning: true },
  );
  const r = await run();
  expect(r).toMatchObject({
    passed: true,
    attempts: 2,
    detail: "node reports 4.4.16 (`emqx versions`); all 1 cluster nodes running",
  });
  expect(lines[0]).toBe("health gate attempt 1: node reports 4.4.3, not 4.4.16 (`emqx versions`)");
  expect(new Set(runner.commands())).toEqual(new Set([`${EMQX} versions`, "/opt/emqx/bin/emqx_ctl cluster status"]));
});

test("treats a node that does not answer, or answers `starting`, as a failed attempt and retries", async () => {
  const down = { exitCode: 1, stderr: "Node 'emqx@10.0.0.7' not responding to pings.\nERROR: node_is_not_running!\n" };
  const { lines, run } = setup({
    [CTL_STATUS]: [down, { stdout: "Node 'emqx@10.0.0.7' 4.4.16 is starting\n" }, started("4.4.16")],
  });
  const r = await run();
  expect(r).toMatchObject({ passed: true, attempts: 3 });
  expect(lines.slice(0, 2)).toEqual([
    `health gate attempt 1: \`${CTL_STATUS}\` exited 1: Node 'emqx@10.0.0.7' not responding to pings. / ERROR: node_is_not_running!`,
    "health gate attempt 2: node reports 4.4.16 but is starting",
  ]);
});

test("fails with the parse problem and an output excerpt when the cluster status is unreadable", async () => {
  const { run } = setup(
    { [CTL_STATUS]: [started("4.4.16")], [CLUSTER]: [{ stdout: "Cluster status: #{running_nodes => ['emqx@a',\n" }] },
    { requireClusterRunning: true, deadlineSeconds: 0 },
  );
  const r = await run();
  expect(r.checks).toEqual({ version: true, cluster: false });
  expect(r.detail).toMatch(
    /^could not parse the output of `\/opt\/emqx\/bin\/emqx ctl cluster status`: the cluster status is not an Erlang term \(.*\) \(output: Cluster status: #\{running_nodes => \['emqx@a',\)$/,
  );
});

test("lists every failing check of the attempt, and at most 10 stopped nodes", async () => {
  const stopped = Array.from({ length: 12 }, (_, i) => `emqx@n${i}`);
  const { run } = setup(
    { [CTL_STATUS]: [started("4.4.15")], false: [{ exitCode: 1 }], [CLUSTER]: [cluster(["emqx@a"], stopped)] },
    { command: ["false"], requireClusterRunning: true, deadlineSeconds: 0 },
  );
  const r = await run();
  expect(r.checks).toEqual({ version: false, command: false, cluster: false });
  expect(r.detail).toBe(
    `node reports 4.4.15, not 4.4.16; command \`false\` exited 1; cluster has stopped nodes: ${stopped.slice(0, 10).join(", ")} and 2 more`,
  );
});

test("fails by throwing when the SSH connection is lost (not a failed check)", async () => {
  const lost = new SshConnectError({
    host: "10.0.0.7",
    port: 22,
    stage: "protocol",
    attempts: 1,
    message: "10.0.0.7:22: the connection was lost",
  });
  const { run } = setup({ [CTL_STATUS]: [started("4.4.0"), lost] });
  await expect(run()).rejects.toBe(lost);
});

test("fails by throwing HostStateError when sudo wants a password for the command", async () => {
  const sudo = (args: string[]) => ["sudo", "-n", "-u", "emqx", "--", ...args].join(" ");
  const { run } = setup(
    {
      [sudo([EMQX, "ctl", "status"])]: [started("4.4.16")],
      [sudo(["true"])]: [{ exitCode: 1, stderr: "sudo: a password is required\n" }],
    },
    { command: ["true"] },
    "emqx",
  );
  const err = await run().catch((e) => e);
  expect(HostStateError.isInstance(err)).toBe(true);
});

// Regression: the gate took sudo's prefix off by position (`--` at argv[4]), which holds only for
// `sudo -n`; with sudoPassword (`sudo -S -k -p "" -u emqx --`) the detail showed sudo's options.
test.each([
  ["without a sudo password", undefined, ["sudo", "-n", "-u", "emqx", "--"]],
  ["with sudoPassword", "pw", ["sudo", "-S", "-k", "-p", "", "-u", "emqx", "--"]],
])("names a failed EMQX command as the user would type it, %s", async (_name, sudoPassword, prefix) => {
  const down = { exitCode: 1, stderr: "Node 'emqx@10.0.0.7' not responding to pings.\n" };
  const { runner, run } = setup(
    { [[...prefix, EMQX, "ctl", "status"].join(" ")]: [down] },
    { deadlineSeconds: 0 },
    "emqx",
    sudoPassword,
  );
  const r = await run();
  expect(runner.calls[0].argv.slice(0, prefix.length)).toEqual(prefix);
  expect(r.detail).toBe(`\`${CTL_STATUS}\` exited 1: Node 'emqx@10.0.0.7' not responding to pings.`);
});
