// examples/fleet through the real pulumi CLI: six emulated EMQX 4.4.0 nodes behind real sshd, as two
// clusters (a: n1 n3 n5, b: n2 n4 n6), one stack, the tests in order. Canary 1, then batches of 3
// with a pause between them, one node of a cluster at a time: the plan in preview, the rollout
// order proven by the emulators' timestamps, an upgrade failing with exit 4 that halts the rollout
// at the gate with the last batch untouched, the rerun that finishes only what is left, and a health
// gate that holds the canary while a member of its cluster is stopped.
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions, type EmulatorCall } from "../../sandbox/emulator/install";
import {
  compiledPath,
  newStackDir,
  runStack,
  type OpName,
  type OpSpec,
  type RunStackResult,
  type StackDirs,
} from "../../sandbox/run-stack";
import { packageShelf, startTestHost, type TestHost, shareClientKey } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 6 * 60 * 1000;
const NAMES = ["n1", "n2", "n3", "n4", "n5", "n6"];
const CLUSTER = (i: number) => (i % 2 === 0 ? "a" : "b");
const PAUSE_SECONDS = 3;
const ROLLOUT = { canary: 1, batchSize: 3, pauseSeconds: PAUSE_SECONDS };
// batches: [n1] [n2 n3 n4] [n5 n6]; in batch 2, n4 waits for n2 (cluster b).
const BATCHES = [["n1"], ["n2", "n3", "n4"], ["n5", "n6"]];

let hosts: TestHost[] = [];
let dirs: StackDirs;
let programModule: string;
let packages: Record<string, string> = {};

/** Release-changing calls of a host, with their times. */
function releaseCalls(h: TestHost): EmulatorCall[] {
  return h.calls().filter((c) => /^(upgrade|install|downgrade|uninstall)$/.test(c.argv[0]));
}

function running(h: TestHost): string | undefined {
  return emulatorVersions(h.root).find((r) => r.status === "current" || r.status === "permanent")?.version;
}

async function run(
  ops: Array<OpName | OpSpec>,
  version: string,
  extra: { rollout?: object; healthGate?: object } = {},
): Promise<RunStackResult> {
  const config: Record<string, { value: string; secret?: boolean }> = {
    hosts: {
      value: JSON.stringify(
        hosts.map((h, i) => ({
          name: NAMES[i],
          host: h.connection.host,
          port: h.connection.port,
          hostKey: h.connection.hostKey,
          emqxPath: h.emqxPath,
          cluster: CLUSTER(i),
        })),
      ),
    },
    privateKey: { value: hosts[0].connection.privateKey, secret: true },
    version: { value: version },
    packagePath: { value: packages[version] },
    rollout: { value: JSON.stringify(extra.rollout ?? ROLLOUT) },
  };
  if (extra.healthGate) config.healthGate = { value: JSON.stringify(extra.healthGate) };
  return runStack(
    { projectName: "emqx-fleet-e2e", stackName: "rollout", programModule, config, ops },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
}

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/fleet/index.ts");
  dirs = newStackDir("fleet");
  for (let i = 0; i < NAMES.length; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${31 + i}`));
  // Long enough upgrades that two running at once would overlap in the call logs.
  for (const h of hosts) h.setFaults({ holdMs: { upgrade: 1500 } });
  shareClientKey(hosts);
  const shelf = packageShelf();
  for (const v of ["4.4.15", "4.4.16", "4.4.17"]) packages[v] = await shelf.build({ version: v });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  dirs?.cleanup();
});

/** [start, end] of each host's last release call, by host name. */
function lastCallSpan(): Record<string, [number, number]> {
  return Object.fromEntries(
    hosts.map((h, i) => {
      const c = releaseCalls(h).slice(-1)[0];
      return [NAMES[i], [c.ts, c.ts + c.durationMs]];
    }),
  );
}

test("preview shows every host's batch, cluster and target in the fleet's plan and contacts no host", async () => {
  const before = hosts.map((h) => `${h.fingerprint()} ${h.sshd.connectionCount()}`);
  const res = await run(["preview"], "4.4.15");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { create: 1 + 6 + 3 + 1 } });
  const plan = res.stdout.slice(res.stdout.indexOf("plan"));
  expect(plan).toMatch(
    /n1\s*: \{\s*after\s*: \[\]\s*batch\s*: 1\s*cluster\s*: "a"\s*held\s*: false\s*to\s*: "4\.4\.15"/,
  );
  expect(plan).toMatch(/n4\s*: \{\s*after\s*: \[\s*\[0\]: "n2"\s*\]\s*batch\s*: 2\s*cluster\s*: "b"/);
  expect(plan).toMatch(/n6\s*: \{\s*after\s*: \[\]\s*batch\s*: 3\s*cluster\s*: "b"/);
  expect(hosts.map((h) => `${h.fingerprint()} ${h.sshd.connectionCount()}`)).toEqual(before);
});

test("up upgrades the canary, then each batch after the previous gate and its pause, never two nodes of a cluster at once", async () => {
  const res = await run(["up"], "4.4.15");
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(hosts.map(running)).toEqual(NAMES.map(() => "4.4.15"));
  for (const h of hosts) expect(releaseCalls(h).map((x) => x.argv.join(" "))).toEqual(["upgrade 4.4.15"]);
  const span = lastCallSpan();
  // Batches in order, each starting at least pauseSeconds after the previous one ended.
  for (let b = 1; b < BATCHES.length; b++) {
    const prevEnd = Math.max(...BATCHES[b - 1].map((n) => span[n][1]));
    const start = Math.min(...BATCHES[b].map((n) => span[n][0]));
    expect(start - prevEnd).toBeGreaterThanOrEqual(PAUSE_SECONDS * 1000);
  }
  // Within each cluster, no two upgrades overlap.
  for (const cluster of ["a", "b"]) {
    const spans = NAMES.filter((_, i) => CLUSTER(i) === cluster)
      .map((n) => span[n])
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  }
  // ...while nodes of different clusters in one batch do run together (n3 with n2 or n4).
  expect(span.n3[0]).toBeLessThan(Math.max(span.n2[1], span.n4[1]));
  expect(res.results[0].outputs?.summary.value).toEqual(Object.fromEntries(NAMES.map((n) => [n, "4.4.0 -> 4.4.15"])));
  expect(res.stdout).toContain("emqx: batch 1 of 3 done, every host healthy");
  expect(res.stdout).toContain(`pausing ${PAUSE_SECONDS} s before batch 2`);
});

test("fails the rollout at batch 2's gate when n3's upgrade exits 4: batch 2's others finish, batch 3 is untouched", async () => {
  for (const h of hosts) h.setFaults({});
  hosts[2].setFaults({ exit: { upgrade: 4 } });
  const untouched = [hosts[4], hosts[5]].map((h) => h.fingerprint());
  const res = await run(["up"], "4.4.16");
  expect(res.results[0]).toMatchObject({ ok: false });
  expect(res.results[0].error).toContain(
    "emqx: rollout halted after batch 2 of 3: 1 failed host(s), more than maxFailures 0",
  );
  expect(res.stdout).toMatch(/n3 \(batch 2\): .*exit/);
  expect(res.stdout).toContain("1 later batch(es) were not started");
  // exit 4: install_release failed and the node restarted on its permanent release.
  expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16", "4.4.15", "4.4.16", "4.4.15", "4.4.15"]);
  expect([hosts[4], hosts[5]].map((h) => h.fingerprint())).toEqual(untouched);
});

test("a rerun after the fix upgrades only the failed host and the batch that was not started", async () => {
  hosts[2].setFaults({});
  const before = hosts.map((h) => releaseCalls(h).length);
  const res = await run(["up"], "4.4.16");
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(hosts.map(running)).toEqual(NAMES.map(() => "4.4.16"));
  expect(hosts.map((h, i) => releaseCalls(h).length - before[i])).toEqual([0, 0, 1, 0, 1, 1]);
  // The summary is each host's last change: n1's is still the one of the halted run.
  expect(res.results[0].outputs?.summary.value).toMatchObject({
    n3: "4.4.15 -> 4.4.16",
    n5: "4.4.15 -> 4.4.16",
    n1: "4.4.15 -> 4.4.16",
  });
});

test("a canary whose cluster has a stopped member fails its health gate and halts the rollout; once the member runs, the rest follows", async () => {
  const healthGate = { deadlineSeconds: 3, requireClusterRunning: true };
  hosts[0].setFaults({ clusterNodes: { running: ["emqx@n1", "emqx@n5"], stopped: ["emqx@n3"] } });
  const untouched = hosts.slice(1).map((h) => h.fingerprint());
  const held = await run(["up"], "4.4.17", { healthGate });
  expect(held.results[0]).toMatchObject({ ok: false });
  expect(held.results[0].error).toContain("emqx: rollout halted after batch 1 of 3");
  expect(held.stdout).toMatch(/n1 \(batch 1\): health gate failed: .*stopped nodes: emqx@n3/);
  expect(hosts.map(running)).toEqual(["4.4.17", "4.4.16", "4.4.16", "4.4.16", "4.4.16", "4.4.16"]);
  expect(hosts.slice(1).map((h) => h.fingerprint())).toEqual(untouched);

  hosts[0].setFaults({ clusterNodes: { running: ["emqx@n1", "emqx@n3", "emqx@n5"], stopped: [] } });
  const before = hosts.map((h) => releaseCalls(h).length);
  const res = await run(["up"], "4.4.17", { healthGate });
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(hosts.map(running)).toEqual(NAMES.map(() => "4.4.17"));
  // n1 was not upgraded again: its gate was checked again (adopt), then the others followed.
  expect(hosts.map((h, i) => releaseCalls(h).length - before[i])).toEqual([0, 1, 1, 1, 1, 1]);
  expect(res.results[0].outputs?.results.value).toMatchObject({
    n1: { action: "adopt", gate: { passed: true } },
    n6: { action: "upgrade", gate: { passed: true } },
  });
});
