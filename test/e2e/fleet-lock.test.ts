// The host lock across pipelines: two real `pulumi up` runs on two stacks (each with its own
// backend, as two CI pipelines would have) whose fleets cover the same two emulated EMQX 4.4.0
// nodes. Stack A is held inside `emqx upgrade` on its canary (the emulator holds the
// release_handler call); stack B starts then, fails within seconds naming A's lock, and changes
// nothing; A completes. Rerun afterwards, B adopts what A did.
import * as fs from "fs";
import * as path from "path";
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions, type EmulatorCall } from "../../sandbox/emulator/install";
import {
  compiledPath,
  newStackDir,
  runStack,
  type RunStackOptions,
  type RunStackResult,
  type StackDirs,
} from "../../sandbox/run-stack";
import { packageShelf, startTestHost, type TestHost, shareClientKey } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 6 * 60 * 1000;
/** How long the emulator holds the canary's `emqx upgrade` inside release_handler. */
const HOLD_MS = 25_000;
const NAMES = ["n1", "n2"];
const LOCK_DIR = ".emqx-release.lock";

const hosts: TestHost[] = [];
let dirsA: StackDirs;
let dirsB: StackDirs;
let programModule: string;
let packagePath: string;

/** Release-changing calls of a host. */
function releaseCalls(h: TestHost): EmulatorCall[] {
  return h.calls().filter((c) => /^(upgrade|install|downgrade|uninstall)$/.test(c.argv[0]));
}

function running(h: TestHost): string | undefined {
  const releases = emulatorVersions(h.root);
  return (releases.find((r) => r.status === "current") ?? releases.find((r) => r.status === "permanent"))?.version;
}

/** `pulumi up` of one pipeline's stack: fleet `fleetName` over both hosts, to 4.4.16. */
function up(
  stackName: string,
  fleetName: string,
  dirs: StackDirs,
  onLine?: RunStackOptions["onLine"],
): Promise<RunStackResult> {
  const config = {
    fleetName: { value: fleetName },
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
    version: { value: "4.4.16" },
    packagePath: { value: packagePath },
    rollout: { value: JSON.stringify({ canary: 1, batchSize: 1 }) },
  };
  return runStack(
    { projectName: "emqx-fleet-lock-e2e", stackName, programModule, config, ops: ["up"] },
    { dirs, timeoutMs: TIMEOUT_MS, onLine },
  );
}

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/fleet/index.ts");
  dirsA = newStackDir("fleet-lock-a");
  dirsB = newStackDir("fleet-lock-b");
  for (let i = 0; i < NAMES.length; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${51 + i}`));
  // Both fleets start with n1 (the canary), so only n1's upgrade needs holding.
  hosts[0].setFaults({ holdMs: { upgrade: HOLD_MS } });
  // One privateKey for the fleet (connectionDefaults): every host accepts the first host's client key.
  shareClientKey(hosts);
  packagePath = await packageShelf().build({ version: "4.4.16" });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  dirsA?.cleanup();
  dirsB?.cleanup();
});

test("fails a second pipeline's up within seconds, naming the holder, while the first is inside `emqx upgrade`; the first completes", async () => {
  const n1 = hosts[0];
  // GIVEN pipeline A's up, held inside `emqx upgrade` on its canary n1
  let b: Promise<RunStackResult> | undefined;
  let bStartedAt = 0;
  let bEndedAt = 0;
  let holder: { id: string; pid: number } | undefined;
  const a = await up("pipeline-a", "emqx-a", dirsA, (line) => {
    if (b === undefined && line.includes(`[EmqxRelease host=${n1.connection.host}] upgrade 4.4.16`)) {
      // (the provider takes the lock before it prints this line)
      holder = JSON.parse(fs.readFileSync(path.join(n1.root, LOCK_DIR, "owner"), "utf8")) as {
        id: string;
        pid: number;
      };
      // WHEN pipeline B's up over the same hosts starts
      bStartedAt = Date.now();
      b = up("pipeline-b", "emqx-b", dirsB).finally(() => {
        bEndedAt = Date.now();
      });
    }
  });
  const aEndedAt = Date.now();
  expect(b).toBeDefined();
  expect(holder).toBeDefined();
  const bRes = await (b as Promise<RunStackResult>);

  // THEN B failed, naming A's lock (its pid and id) in the fleet gate's halt
  expect(bRes.results[0]).toMatchObject({ op: "up", ok: false });
  const bOut = bRes.stdout + bRes.stderr;
  expect(bRes.results[0].error).toContain(
    "emqx-b: rollout halted after batch 1 of 2: 1 failed host(s), more than maxFailures 0",
  );
  expect(bOut).toMatch(
    new RegExp(
      `n1 \\(batch 1\\): ${n1.connection.host.replace(/\./g, "\\.")}: another operation holds the host lock: \\S+ \\(pid ${holder?.pid}, upgrade 4\\.4\\.16, since `,
    ),
  );
  expect(bOut).toContain(`lock ${holder?.id} in `);
  expect(bOut).toContain("1 later batch(es) were not started");

  // ... A completed: each host upgraded once, by A, so B ran no release command anywhere
  expect(a.results[0]).toMatchObject({ op: "up", ok: true });
  for (const h of hosts) expect(releaseCalls(h).map((c) => c.argv.join(" "))).toEqual(["upgrade 4.4.16"]);
  expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16"]);
  for (const h of hosts) expect(emulatorVersions(h.root)).toContainEqual({ version: "4.4.16", status: "permanent" });
  expect(a.results[0].outputs?.summary.value).toEqual({ n1: "4.4.0 -> 4.4.16", n2: "4.4.0 -> 4.4.16" });
  for (const h of hosts) expect(fs.existsSync(path.join(h.root, LOCK_DIR))).toBe(false);

  // ... and B did not wait for A: it ended well within the hold, before A's upgrade of n1 was over
  const aUpgradeOfN1 = releaseCalls(n1)[0];
  expect(bEndedAt - bStartedAt).toBeLessThan(HOLD_MS);
  expect(bEndedAt).toBeLessThan(aUpgradeOfN1.ts + aUpgradeOfN1.durationMs);
  expect(bEndedAt).toBeLessThan(aEndedAt);
});

test("a rerun of the second pipeline after the first finished adopts every host without a release command", async () => {
  const before = hosts.map((h) => releaseCalls(h).length);
  const res = await up("pipeline-b", "emqx-b", dirsB);
  expect(res.results[0]).toMatchObject({ op: "up", ok: true });
  expect(res.results[0].outputs?.results.value).toMatchObject({
    n1: { action: "adopt", version: "4.4.16" },
    n2: { action: "adopt", version: "4.4.16" },
  });
  expect(hosts.map((h) => releaseCalls(h).length)).toEqual(before);
});
