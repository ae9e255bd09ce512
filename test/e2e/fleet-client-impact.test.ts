// The client-impact gate and the automatic rollback of EmqxFleet through the real pulumi CLI: three
// emulated EMQX 4.4.0 nodes, one per batch (the first `up` creates the stack), `onGateFailure: "downgrade"`. The canary's clients drop
// when it runs 4.4.16 (the emulator's `clients` switch: what a real node's CLI would show after a
// relup that killed them): the canary is downgraded back to 4.4.0 and the rollout halts with the
// numbers, the later batches untouched; the next `up` with the same declaration does not try the
// canary again (it halts again); `retryAfterRollback` does, and the rollout finishes.
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions, type EmulatorCall } from "../../sandbox/emulator/install";
import { compiledPath, newStackDir, runStack, type RunStackResult, type StackDirs } from "../../sandbox/run-stack";
import { packageShelf, shareClientKey, startTestHost, type TestHost } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 6 * 60 * 1000;
const NAMES = ["n1", "n2", "n3"];

const hosts: TestHost[] = [];
let dirs: StackDirs;
let programModule: string;
const packages: Record<string, string> = {};

/** Calls that change or restart the node, from the `from`-th call of the log on. */
function nodeCalls(h: TestHost, from = 0): string[] {
  return h
    .calls()
    .slice(from)
    .filter((c: EmulatorCall) => /^(upgrade|install|downgrade|uninstall|stop|start)$/.test(c.argv[0]))
    .map((c) => c.argv.join(" "));
}

const permanent = (h: TestHost) => emulatorVersions(h.root).find((r) => r.status === "permanent")?.version;

async function up(version: string, extra: Record<string, string> = {}): Promise<RunStackResult> {
  const config: Record<string, { value: string; secret?: boolean }> = {
    hosts: {
      value: JSON.stringify(
        hosts.map((h, i) => ({
          name: NAMES[i],
          host: h.connection.host,
          port: h.connection.port,
          hostKey: h.connection.hostKey,
          emqxPath: h.emqxPath,
        })),
      ),
    },
    privateKey: { value: hosts[0].connection.privateKey, secret: true },
    version: { value: version },
    packagePath: { value: packages[version] },
    rollout: { value: JSON.stringify({ canary: 1, batchSize: 1, maxFailures: 0 }) },
    clientImpact: { value: JSON.stringify({ deadlineSeconds: 10 }) },
    onGateFailure: { value: "downgrade" },
  };
  for (const [k, v] of Object.entries(extra)) config[k] = { value: v };
  return runStack(
    { projectName: "emqx-fleet-client-impact-e2e", stackName: "impact", programModule, config, ops: ["up"] },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
}

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/fleet/index.ts");
  dirs = newStackDir("fleet-client-impact");
  for (let i = 0; i < NAMES.length; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${44 + i}`));
  shareClientKey(hosts);
  const shelf = packageShelf();
  for (const v of ["4.4.0", "4.4.16"]) packages[v] = await shelf.build({ version: v });
  // 100 clients on every node; on 4.4.16 the canary keeps 20 and its listener counts 80 killed.
  for (const h of hosts) h.setFaults({ clients: { live: 100 } });
  hosts[0].setFaults({ clients: { live: 100, byVersion: { "4.4.16": { live: 20, shutdownCount: { killed: 80 } } } } });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  dirs?.cleanup();
});

test("the canary's clients drop on 4.4.16: the gate fails with the numbers, the canary is downgraded to 4.4.0, the rollout halts and the later batches are untouched", async () => {
  const later = hosts.slice(1).map((h) => h.fingerprint());
  const res = await up("4.4.16");
  expect(res.results[0]).toMatchObject({ ok: false });
  expect(res.results[0].error).toContain(
    "emqx: rollout halted after batch 1 of 3: 1 failed host(s), more than maxFailures 0",
  );
  expect(res.stdout).toMatch(
    /n1 \(batch 1\): client-impact gate failed: connections failed: live connections 100 -> 20 \(-80%\), a drop of more than the 10% allowed/,
  );
  expect(res.stdout).toMatch(
    /mqtt:tcp:external shutdown_count 0 -> 80 \(killed \+80\): 80 connections ended, more than the 10 allowed/,
  );
  expect(res.stdout).toContain("rolled back from 4.4.16 to 4.4.0");
  expect(nodeCalls(hosts[0])).toEqual(["upgrade 4.4.16", "downgrade 4.4.0"]);
  expect(permanent(hosts[0])).toBe("4.4.0");
  expect(hosts.slice(1).map((h) => h.fingerprint())).toEqual(later);
});

test("the next up with the same declaration does not try the rolled-back canary again: it halts again, no host changes", async () => {
  const calls = hosts.map((h) => h.calls().length);
  const fingerprints = hosts.slice(1).map((h) => h.fingerprint());
  const res = await up("4.4.16");
  expect(res.results[0]).toMatchObject({ ok: false });
  expect(res.results[0].error).toContain("emqx: rollout halted after batch 1 of 3");
  expect(res.stdout).toContain(
    "rolled back from 4.4.16 to 4.4.0 (the next up leaves this host alone until the declaration changes or retryAfterRollback is set)",
  );
  expect(nodeCalls(hosts[0], calls[0])).toEqual([]);
  expect(hosts.slice(1).map((h) => h.fingerprint())).toEqual(fingerprints);
});

test("retryAfterRollback tries the canary again; with its clients staying this time, the rollout finishes", async () => {
  hosts[0].setFaults({ clients: { live: 100 } });
  const res = await up("4.4.16", { retryAfterRollback: "true" });
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(res.stdout).toContain("emqx: batch 3 of 3 done, every host healthy");
  expect(hosts.map(permanent)).toEqual(["4.4.16", "4.4.16", "4.4.16"]);
  const results = res.results[0].outputs?.results.value as Record<
    string,
    { clientImpact: { passed: boolean; checks: Array<{ name: string; before: unknown; after: unknown }> } }
  >;
  for (const n of NAMES) {
    expect(results[n].clientImpact.passed).toBe(true);
    expect(results[n].clientImpact.checks.find((c) => c.name === "connections")).toMatchObject({
      before: 100,
      after: 100,
    });
  }
});
