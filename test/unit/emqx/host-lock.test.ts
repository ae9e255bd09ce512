// The host lock's scripts run by a real local `sh` (mkdir is the atomic step), through the same
// Runner seam SSH implements. Clearing a lock by EMQX_RELEASE_CLEAR_LOCK is tested with the
// provider in test/integration/release-provider.test.ts.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostLockedError } from "../../../provider/errors";
import { EmqxCli } from "../../../provider/emqx/cli";
import { acquireHostLock, LOCK_DIR_NAME, LockOwner } from "../../../provider/emqx/host-lock";
import type { CommandResult, Runner } from "../../../provider/runner";

/** Runs argv on this machine, without a shell (argv[0] is the program). */
class LocalRunner implements Runner {
  readonly host = "node-a";
  readonly calls: string[][] = [];
  run(argv: string[]): Promise<CommandResult> {
    this.calls.push(argv);
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr, timedOut: false }));
    });
  }
}

const NO_ENV = {};
let root: string;
let runner: LocalRunner;
let cli: EmqxCli;
const lockDir = () => path.join(root, LOCK_DIR_NAME);
const ownerOnDisk = (): LockOwner => JSON.parse(fs.readFileSync(path.join(lockDir(), "owner"), "utf8"));
const take = (who: string, holdMs = 600_000) =>
  acquireHostLock(cli, root, { operation: "upgrade", version: "4.4.16", who, holdMs, env: NO_ENV });

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "host-lock-"));
  runner = new LocalRunner();
  cli = new EmqxCli(runner, { emqxPath: "emqx", commandTimeoutMs: 10_000, upgradeTimeoutMs: 400_000 });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test("takes the lock as a directory in the EMQX root holding who, what and until when", async () => {
  const before = Date.now();
  const lock = await take("ci@runner-1", 90_000);
  expect(ownerOnDisk()).toEqual(lock.owner);
  expect(lock.owner).toMatchObject({ who: "ci@runner-1", pid: process.pid, operation: "upgrade", version: "4.4.16" });
  expect(lock.owner.id).toMatch(/^[0-9a-f]{16}$/);
  const started = Date.parse(lock.owner.startedAt);
  expect(started).toBeGreaterThanOrEqual(before - 1000);
  expect(Date.parse(lock.owner.staleAfter) - started).toBe(90_000);
});

test("fails for a second operation while the lock is held, naming the holder, and leaves the lock alone", async () => {
  const first = await take("ci@runner-1");
  const err = await take("laptop@alice").catch((e) => e);
  expect(HostLockedError.isInstance(err)).toBe(true);
  expect(err).toMatchObject({ host: "node-a", lockId: first.owner.id });
  expect(err.holder).toBe(`ci@runner-1 (pid ${process.pid}, upgrade 4.4.16, since ${first.owner.startedAt})`);
  expect(err.message).toMatch(
    /^node-a: another operation holds the host lock: ci@runner-1 \(pid \d+, upgrade 4\.4\.16, since /,
  );
  expect(err.message).toContain(`lock ${first.owner.id} in ${lockDir()}`);
  expect(ownerOnDisk().id).toBe(first.owner.id);
});

test("of two operations started at once exactly one gets the lock", async () => {
  const results = await Promise.allSettled([take("a"), take("b"), take("c")]);
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  const losers = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  expect(losers.map((r) => HostLockedError.isInstance(r.reason))).toEqual([true, true]);
});

test("release removes the lock, so the next operation gets it", async () => {
  const first = await take("ci@runner-1");
  await first.release();
  expect(fs.existsSync(lockDir())).toBe(false);
  const second = await take("ci@runner-2");
  expect(ownerOnDisk().who).toBe("ci@runner-2");
  await second.release();
});

test("release leaves a lock that is no longer ours (someone cleared it and took it since)", async () => {
  const first = await take("ci@runner-1");
  const theirs: LockOwner = { ...first.owner, id: "feedfacecafebeef", who: "ops@bastion" };
  fs.writeFileSync(path.join(lockDir(), "owner"), JSON.stringify(theirs));
  await first.release();
  expect(ownerOnDisk()).toEqual(theirs);
});

test("release is harmless when the lock directory is already gone", async () => {
  const first = await take("ci@runner-1");
  fs.rmSync(lockDir(), { recursive: true });
  await expect(first.release()).resolves.toBeUndefined();
  expect(fs.existsSync(lockDir())).toBe(false);
});

// Row: [case, what the owner file holds (undefined: no file)]
const FOREIGN: [string, string | undefined][] = [
  ["no owner file", undefined],
  ["an owner file that is not JSON", "locked by deploy.sh\n"],
  ["JSON without an id", '{"who":"x"}'],
];
test.each(FOREIGN)(
  "fails naming no owner for a lock directory with %s, and does not remove it",
  async (_name, ownerText) => {
    fs.mkdirSync(lockDir());
    if (ownerText !== undefined) fs.writeFileSync(path.join(lockDir(), "owner"), ownerText);
    const err = await take("ci@runner-1").catch((e) => e);
    expect(HostLockedError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ lockId: "", holder: "unknown" });
    expect(err.message).toContain(`node-a: ${lockDir()} exists but names no owner`);
    expect(err.message).toContain("remove that directory by hand");
    expect(fs.existsSync(lockDir())).toBe(true);
    expect(runner.calls).toHaveLength(1);
  },
);

test("fails with HostStateError, not a 'held' lock, when the lock directory cannot be created", async () => {
  const missing = path.join(root, "no-such-root");
  const e = await acquireHostLock(cli, missing, {
    operation: "upgrade",
    version: "4.4.16",
    who: "ci",
    holdMs: 1000,
    env: NO_ENV,
  }).catch((x) => x);
  expect(e).toMatchObject({ name: "HostStateError" });
  expect(e.message).toContain(`cannot create the host lock ${missing}/${LOCK_DIR_NAME}`);
  expect(e.message).toMatch(/No such file or directory/);
  expect(e.message).toContain(`check that ${missing} exists`);
});

test("clears a lock whose id EMQX_RELEASE_CLEAR_LOCK names, even before it is stale; any other id leaves it", async () => {
  const held = await take("ci@runner-1", 600_000);
  const other = await acquireHostLock(cli, root, {
    operation: "upgrade",
    version: "4.4.16",
    who: "ci@runner-2",
    holdMs: 1000,
    env: { EMQX_RELEASE_CLEAR_LOCK: "not-it" },
  }).catch((x) => x);
  expect(HostLockedError.isInstance(other)).toBe(true);
  expect(other.message).toContain(`rerun with EMQX_RELEASE_CLEAR_LOCK=${held.owner.id}`);
  const cleared = await acquireHostLock(cli, root, {
    operation: "upgrade",
    version: "4.4.16",
    who: "ci@runner-2",
    holdMs: 1000,
    env: { EMQX_RELEASE_CLEAR_LOCK: held.owner.id },
  });
  expect(ownerOnDisk()).toEqual(cleared.owner);
});
