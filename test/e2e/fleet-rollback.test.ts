// The rollback lever of EmqxFleet through the real pulumi CLI: three emulated EMQX 4.4.0 nodes, one
// stack, the tests in order. `rollout.promote: false` makes the canary a trial (`emqx upgrade
// --no-permanent`: the node runs the new release, a restart boots the old one) and holds the other
// hosts; declaring the previous version again reverts the canary (`emqx stop` + `emqx start`, no
// relup); `promote: true` makes the trial permanent (`emqx install`) and rolls out the rest.
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
const NAMES = ["n1", "n2", "n3"];

const hosts: TestHost[] = [];
let dirs: StackDirs;
let programModule: string;
const packages: Record<string, string> = {};

/** Calls that change or restart the node, as "argv joined", from the `from`-th call of the log on. */
function nodeCalls(h: TestHost, from = 0): string[] {
  return h
    .calls()
    .slice(from)
    .filter((c: EmulatorCall) => /^(upgrade|install|downgrade|uninstall|stop|start)$/.test(c.argv[0]))
    .map((c) => c.argv.join(" "));
}

/** What the node runs: its current release (a trial), else its permanent one. */
function running(h: TestHost): string | undefined {
  const releases = emulatorVersions(h.root);
  return (releases.find((r) => r.status === "current") ?? releases.find((r) => r.status === "permanent"))?.version;
}

function permanent(h: TestHost): string | undefined {
  return emulatorVersions(h.root).find((r) => r.status === "permanent")?.version;
}

async function run(ops: Array<OpName | OpSpec>, version: string, promote: boolean): Promise<RunStackResult> {
  const config = {
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
    rollout: { value: JSON.stringify({ canary: 1, batchSize: 1, promote }) },
  };
  return runStack(
    { projectName: "emqx-fleet-rollback-e2e", stackName: "rollback", programModule, config, ops },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
}

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/fleet/index.ts");
  dirs = newStackDir("fleet-rollback");
  for (let i = 0; i < NAMES.length; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${53 + i}`));
  // One privateKey for the fleet (connectionDefaults): every host accepts the first host's client key.
  shareClientKey(hosts);
  const shelf = packageShelf();
  for (const v of ["4.4.0", "4.4.16"]) packages[v] = await shelf.build({ version: v });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  dirs?.cleanup();
});

test("up at 4.4.0 adopts every host without changing any", async () => {
  const res = await run(["up"], "4.4.0", true);
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(res.results[0].outputs?.results.value).toMatchObject({
    n1: { action: "adopt" },
    n2: { action: "adopt" },
    n3: { action: "adopt" },
  });
  for (const h of hosts) expect(nodeCalls(h)).toEqual([]);
  expect(hosts.map(permanent)).toEqual(["4.4.0", "4.4.0", "4.4.0"]);
});

test("promote: false upgrades only the canary with --no-permanent and holds the other hosts", async () => {
  const before = hosts.map((h) => h.fingerprint());
  const calls = hosts.map((h) => h.calls().length);
  const res = await run(["up"], "4.4.16", false);
  expect(res.results[0]).toMatchObject({ ok: true });
  // The canary runs 4.4.16 on trial: a restart would boot 4.4.0, still permanent.
  expect(nodeCalls(hosts[0], calls[0])).toEqual(["upgrade --no-permanent 4.4.16"]);
  expect(emulatorVersions(hosts[0].root)).toEqual(
    expect.arrayContaining([
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ]),
  );
  expect(hosts.map((h) => h.fingerprint()).slice(1)).toEqual(before.slice(1));
  expect(res.results[0].outputs?.plan.value).toMatchObject({
    n1: { batch: 1, held: false, to: "4.4.16" },
    n2: { batch: 2, held: true },
    n3: { batch: 3, held: true },
  });
  expect(res.results[0].outputs?.results.value).toMatchObject({
    n1: { action: "upgrade", fromVersion: "4.4.0", version: "4.4.16" },
  });
});

test("declaring 4.4.0 again reverts the canary by a restart into its permanent release, without a downgrade", async () => {
  const before = hosts.map((h) => h.fingerprint());
  const calls = hosts.map((h) => h.calls().length);
  const res = await run(["up"], "4.4.0", false);
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(nodeCalls(hosts[0], calls[0])).toEqual(["stop", "start"]);
  expect(running(hosts[0])).toBe("4.4.0");
  expect(permanent(hosts[0])).toBe("4.4.0");
  expect(hosts.map((h) => h.fingerprint()).slice(1)).toEqual(before.slice(1));
  expect(res.results[0].outputs?.results.value).toMatchObject({
    n1: { action: "revert", fromVersion: "4.4.16", version: "4.4.0" },
  });
  expect(res.results[0].outputs?.summary.value).toMatchObject({ n1: "4.4.16 -> 4.4.0" });
});

test("promote: true after a second trial makes the canary permanent with `emqx install` and rolls out the rest", async () => {
  // GIVEN the canary on trial again
  let calls = hosts.map((h) => h.calls().length);
  const trial = await run(["up"], "4.4.16", false);
  expect(trial.results[0]).toMatchObject({ ok: true });
  expect(nodeCalls(hosts[0], calls[0])).toEqual(["upgrade --no-permanent 4.4.16"]);
  expect(hosts.map(running)).toEqual(["4.4.16", "4.4.0", "4.4.0"]);

  // WHEN it is promoted
  calls = hosts.map((h) => h.calls().length);
  const res = await run(["up"], "4.4.16", true);

  // THEN the canary is made permanent without a second upgrade, then n2 and n3 follow in their batches
  expect(res.results[0]).toMatchObject({ ok: true });
  const [c1, c2, c3] = hosts.map((h, i) => nodeCalls(h, calls[i]));
  expect([c1, c2, c3]).toEqual([["install 4.4.16"], ["upgrade 4.4.16"], ["upgrade 4.4.16"]]);
  const at = (h: TestHost, i: number, argv: string) =>
    h
      .calls()
      .slice(calls[i])
      .find((c) => c.argv.join(" ") === argv) as EmulatorCall;
  const end = (c: EmulatorCall) => c.ts + c.durationMs;
  expect(at(hosts[1], 1, "upgrade 4.4.16").ts).toBeGreaterThanOrEqual(end(at(hosts[0], 0, "install 4.4.16")));
  expect(at(hosts[2], 2, "upgrade 4.4.16").ts).toBeGreaterThanOrEqual(end(at(hosts[1], 1, "upgrade 4.4.16")));
  expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16", "4.4.16"]);
  expect(hosts.map(permanent)).toEqual(["4.4.16", "4.4.16", "4.4.16"]);
  expect(res.results[0].outputs?.results.value).toMatchObject({
    n1: { action: "make-permanent" },
    n2: { action: "upgrade" },
    n3: { action: "upgrade" },
  });
  expect(res.results[0].outputs?.plan.value).toMatchObject({
    n1: { held: false },
    n2: { held: false },
    n3: { held: false },
  });
});

test("a second up after the promotion reports no changes and touches no host", async () => {
  const before = hosts.map((h) => h.fingerprint());
  const res = await run([{ op: "up", expectNoChanges: true }], "4.4.16", true);
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(Object.keys(res.results[0].summary ?? {})).toEqual(["same"]);
  expect(hosts.map((h) => h.fingerprint())).toEqual(before);
});
