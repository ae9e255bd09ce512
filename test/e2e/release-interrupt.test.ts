// An interrupted `pulumi up`: Ctrl-C twice while EMQX is inside `emqx upgrade` (the emulator holds
// the release_handler call, which runs on the node and finishes without the CLI, as a real node's
// does). The recovery steps of the README ("Interrupted runs") then reach the declared target with
// exactly one upgrade in the node's call log.
import * as fs from "fs";
import * as path from "path";
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import {
  compiledPath,
  newStackDir,
  runStack,
  type OpName,
  type OpSpec,
  type RunStackResult,
  type StackDirs,
} from "../../sandbox/run-stack";
import { packageShelf, startTestHost, type TestHost } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 5 * 60 * 1000;
const HOLD_MS = 8000;

let host: TestHost;
let dirs: StackDirs;
let programModule: string;
let packagePath: string;

async function run(
  ops: Array<OpName | OpSpec>,
  opts: { env?: Record<string, string>; onLine?: Parameters<typeof runStack>[1]["onLine"] } = {},
): Promise<RunStackResult> {
  const config = {
    hosts: {
      value: JSON.stringify([
        {
          name: "node-1",
          host: host.connection.host,
          port: host.connection.port,
          hostKey: host.connection.hostKey,
          emqxPath: host.emqxPath,
        },
      ]),
    },
    privateKey: { value: host.connection.privateKey, secret: true },
    version: { value: "4.4.16" },
    packagePath: { value: packagePath },
  };
  return runStack(
    { projectName: "emqx-release-e2e", stackName: "interrupt", programModule, config, ops, env: opts.env },
    { dirs, timeoutMs: TIMEOUT_MS, onLine: opts.onLine },
  );
}

function upgradeCalls(): string[] {
  return host
    .calls()
    .map((c) => c.argv.join(" "))
    .filter((c) => /^(upgrade|install|downgrade)\b/.test(c));
}

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("test/e2e/fixtures/release-program.ts");
  dirs = newStackDir("interrupt");
  host = await startTestHost({ version: "4.4.0" }, "127.0.0.23");
  host.setFaults({ holdMs: { upgrade: HOLD_MS } });
  packagePath = await packageShelf().build({ version: "4.4.16" });
});

afterAll(async () => {
  await host?.stop();
  dirs?.cleanup();
});

test("after Ctrl-C twice during `emqx upgrade`, the README's recovery reaches 4.4.16 with exactly one upgrade", async () => {
  // GIVEN an up that is inside `emqx upgrade` (the emulator holds it for HOLD_MS)
  let interrupts = 0;
  const interrupted = await run(["up"], {
    onLine: (line, _stream, driver) => {
      if (interrupts === 0 && line.includes(`[EmqxRelease host=${host.connection.host}] upgrade 4.4.16`)) {
        interrupts = 1;
        // WHEN the user presses Ctrl-C twice
        setTimeout(() => driver.interrupt(), 500);
        setTimeout(() => {
          interrupts = 2;
          driver.interrupt();
        }, 1500);
      }
    },
  });
  expect(interrupts).toBe(2);
  expect(interrupted.results[0]).toMatchObject({ op: "up", ok: false, interrupted: true });

  // The node finishes the switch on its own (release_handler runs in the node, not in the CLI).
  const deadline = Date.now() + HOLD_MS + 30_000;
  while (
    !emulatorVersions(host.root).some(
      (r) => r.version === "4.4.16" && (r.status === "current" || r.status === "permanent"),
    ) &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(emulatorVersions(host.root)).toContainEqual(expect.objectContaining({ version: "4.4.16" }));

  // THEN the README's steps: 1. refresh, clearing the create the engine did not see finish
  const refreshed = await run(["refresh-clear-pending"]);
  expect(refreshed.results[0]).toMatchObject({ ok: true });

  // 2. up: the killed run's host lock is still there, and the error names it
  const locked = await run(["up"]);
  expect(locked.results[0]).toMatchObject({ ok: false });
  const all = locked.stdout + locked.stderr;
  expect(all).toMatch(/another operation holds the host lock: .* \(pid \d+, upgrade 4\.4\.16, since /);
  const lockId = /rerun with EMQX_RELEASE_CLEAR_LOCK=([0-9a-f]+)/.exec(all)?.[1];
  expect(lockId).toBeDefined();

  // 3. having checked `emqx versions` shows no upgrade in progress, up again naming the lock
  const recovered = await run(["up"], { env: { EMQX_RELEASE_CLEAR_LOCK: lockId as string } });
  expect(recovered.results[0]).toMatchObject({ ok: true, summary: { create: 1 } });
  expect(recovered.results[0].outputs?.nodes.value).toEqual({
    "node-1": { current: "4.4.16", permanent: "4.4.16", lastAction: expect.stringMatching(/^(adopt|make-permanent)$/) },
  });

  expect(upgradeCalls().filter((c) => c.startsWith("upgrade"))).toEqual(["upgrade 4.4.16"]);
  expect(emulatorVersions(host.root)).toContainEqual({ version: "4.4.16", status: "permanent" });
  expect(fs.existsSync(path.join(host.root, ".emqx-release.lock"))).toBe(false);

  const settled = await run([{ op: "up", expectNoChanges: true }]);
  expect(settled.results[0]).toMatchObject({ ok: true, summary: { same: 2 } });
});
