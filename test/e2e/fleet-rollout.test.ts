// examples/fleet through the real pulumi CLI: four emulated EMQX 4.4.0 nodes behind real sshd, one stack,
// the tests in order. Canary 1 then batches of 2 (n2 and n3 in one cluster, one at a time): the
// plan in preview, the rollout order, a failed upgrade that halts the rollout at the gate with the
// last batch untouched, the rerun that finishes only what is left, and a health gate that holds the
// canary until the node is healthy.
import * as fs from "fs";
import * as path from "path";
import { ensureEngine } from "../support/engine";
import { emulatorVersions, setFaults, type EmulatorCall } from "../support/emulator/install";
import { compiledPath, newStackDir, runStack, type OpName, type OpSpec, type RunStackResult, type StackDirs } from "../support/run-stack";
import { packageShelf, startTestHost, type TestHost } from "../support/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 6 * 60 * 1000;
const NAMES = ["n1", "n2", "n3", "n4"];

let hosts: TestHost[] = [];
let dirs: StackDirs;
let programModule: string;
let packages: Record<string, string> = {};
let markerDir: string;

function faults(h: TestHost, extra: object): void {
  setFaults(h.root, { untarDir: path.join(path.dirname(h.root), "tmp"), ...extra });
}

/** Release-changing calls of a host, with their times. */
function releaseCalls(h: TestHost): EmulatorCall[] {
  return h.calls().filter((c) => /^(upgrade|install|downgrade|uninstall)$/.test(c.argv[0]));
}

function running(h: TestHost): string | undefined {
  return emulatorVersions(h.root).find((r) => r.status === "current" || r.status === "permanent")?.version;
}

async function run(ops: Array<OpName | OpSpec>, version: string, extra: { rollout?: object; healthGate?: object } = {}): Promise<RunStackResult> {
  const config: Record<string, { value: string; secret?: boolean }> = {
    hosts: { value: JSON.stringify(hosts.map((h, i) => ({ name: NAMES[i], host: h.connection.host, port: h.connection.port, hostKey: h.connection.hostKey, emqxPath: h.emqxPath, ...(i === 1 || i === 2 ? { cluster: "c1" } : {}) }))) },
    privateKey: { value: hosts[0].connection.privateKey, secret: true },
    version: { value: version },
    packagePath: { value: packages[version] },
    rollout: { value: JSON.stringify(extra.rollout ?? { canary: 1, batchSize: 2 }) },
  };
  if (extra.healthGate) config.healthGate = { value: JSON.stringify(extra.healthGate) };
  return runStack({ projectName: "emqx-fleet-e2e", stackName: "rollout", programModule, config, ops }, { dirs, timeoutMs: TIMEOUT_MS });
}

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/fleet/index.ts");
  dirs = newStackDir("fleet");
  markerDir = fs.mkdtempSync(path.join(dirs.root, "marker-"));
  for (let i = 0; i < NAMES.length; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${31 + i}`));
  for (const h of hosts.slice(1)) fs.appendFileSync(path.join(h.sshd.dir, "authorized_keys"), `${hosts[0].sshd.clientPublicKey}\n`);
  const shelf = packageShelf();
  for (const v of ["4.4.15", "4.4.16", "4.4.17"]) packages[v] = await shelf.build({ version: v });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  dirs?.cleanup();
});

test("preview shows every host's batch and target in the fleet's plan and contacts no host", async () => {
  const before = hosts.map((h) => `${h.fingerprint()} ${h.sshd.connectionCount()}`);
  const res = await run(["preview"], "4.4.15");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { create: 1 + 4 + 3 + 1 } });
  // n3 shares cluster c1 with n2, so it waits for n2 inside batch 2.
  const plan = res.stdout.slice(res.stdout.indexOf("plan"));
  expect(plan).toMatch(/n1\s*: \{\s*after\s*: \[\]\s*batch\s*: 1\s*held\s*: false\s*to\s*: "4\.4\.15"/);
  expect(plan).toMatch(/n3\s*: \{\s*after\s*: \[\s*\[0\]: "n2"\s*\]\s*batch\s*: 2\s*cluster\s*: "c1"/);
  expect(plan).toMatch(/n4\s*: \{\s*after\s*: \[\]\s*batch\s*: 3/);
  expect(hosts.map((h) => `${h.fingerprint()} ${h.sshd.connectionCount()}`)).toEqual(before);
});

test("up upgrades the canary, then each batch after the previous gate, one cluster member at a time", async () => {
  const res = await run(["up"], "4.4.15");
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(hosts.map(running)).toEqual(["4.4.15", "4.4.15", "4.4.15", "4.4.15"]);
  const [c1, c2, c3, c4] = hosts.map((h) => releaseCalls(h));
  for (const c of [c1, c2, c3, c4]) expect(c.map((x) => x.argv.join(" "))).toEqual(["upgrade 4.4.15"]);
  const end = (c: EmulatorCall[]) => c[0].ts + c[0].durationMs;
  expect(c2[0].ts).toBeGreaterThanOrEqual(end(c1));
  expect(c3[0].ts).toBeGreaterThanOrEqual(end(c2)); // same cluster: after n2
  expect(c4[0].ts).toBeGreaterThanOrEqual(Math.max(end(c2), end(c3)));
  expect(res.results[0].outputs?.summary.value).toEqual({ n1: "4.4.0 -> 4.4.15", n2: "4.4.0 -> 4.4.15", n3: "4.4.0 -> 4.4.15", n4: "4.4.0 -> 4.4.15" });
  expect(res.stdout).toContain("emqx: batch 1 of 3 done, every host healthy");
});

test("fails the rollout at batch 2's gate when n2's upgrade fails: n3 finishes its batch, n4 is untouched", async () => {
  faults(hosts[1], { exit: { upgrade: 2 } });
  const n4Before = hosts[3].fingerprint();
  const res = await run(["up"], "4.4.16");
  expect(res.results[0]).toMatchObject({ ok: false });
  expect(res.results[0].error).toContain("emqx: rollout halted after batch 2 of 3: 1 failed host(s), more than maxFailures 0");
  expect(res.stdout).toMatch(/n2 \(batch 2\): .*exit/);
  expect(res.stdout).toContain("1 later batch(es) were not started");
  expect(hosts.map(running)).toEqual(["4.4.16", "4.4.15", "4.4.16", "4.4.15"]);
  expect(hosts[3].fingerprint()).toBe(n4Before);
});

test("a rerun after the fix upgrades only the failed host and the batch that was not started", async () => {
  faults(hosts[1], {});
  const before = hosts.map((h) => releaseCalls(h).length);
  const res = await run(["up"], "4.4.16");
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16", "4.4.16", "4.4.16"]);
  expect(hosts.map((h, i) => releaseCalls(h).length - before[i])).toEqual([0, 1, 0, 1]);
  expect(res.results[0].outputs?.summary.value).toMatchObject({ n2: "4.4.15 -> 4.4.16", n4: "4.4.15 -> 4.4.16" });
});

test("a canary that fails its health gate halts the rollout until it is healthy; then the rest follows", async () => {
  const marker = path.join(markerDir, "healthy");
  const healthGate = { deadlineSeconds: 3, command: ["test", "-e", marker] };
  const held = await run(["up"], "4.4.17", { healthGate });
  expect(held.results[0]).toMatchObject({ ok: false });
  expect(held.results[0].error).toContain("emqx: rollout halted after batch 1 of 3");
  expect(held.stdout).toMatch(/n1 \(batch 1\): health gate failed: .*test -e/);
  expect(hosts.map(running)).toEqual(["4.4.17", "4.4.16", "4.4.16", "4.4.16"]);

  fs.writeFileSync(marker, "");
  const before = hosts.map((h) => releaseCalls(h).length);
  const res = await run(["up"], "4.4.17", { healthGate });
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(hosts.map(running)).toEqual(["4.4.17", "4.4.17", "4.4.17", "4.4.17"]);
  // n1 was not upgraded again: its gate was checked again (adopt), then the others followed.
  expect(hosts.map((h, i) => releaseCalls(h).length - before[i])).toEqual([0, 1, 1, 1]);
  expect(res.results[0].outputs?.results.value).toMatchObject({ n1: { action: "adopt", gate: { passed: true } }, n4: { action: "upgrade", gate: { passed: true } } });
});
