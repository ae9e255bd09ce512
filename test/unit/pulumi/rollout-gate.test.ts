// The gate's provider called directly: diff, the halt, and the pause between batches.
import { RolloutHaltedError } from "../../../provider/errors";
import { RolloutGateProvider } from "../../../provider/pulumi/rollout-gate";

const ok = {
  action: "upgrade",
  fromVersion: "4.4.15",
  toVersion: "4.4.16",
  version: "4.4.16",
  durationMs: 1,
  finishedAt: "t",
};
const gate = (over: Record<string, unknown> = {}) => ({
  fleet: "f",
  batch: 1,
  batchCount: 2,
  maxFailures: 0,
  pauseSeconds: 0,
  members: [{ name: "a", batch: 1, result: ok }],
  ...over,
});

let logs: string[];
beforeEach(() => {
  logs = [];
  jest.spyOn(console, "log").mockImplementation((line: string) => void logs.push(line));
});
afterEach(() => jest.restoreAllMocks());

test("diff: a new result of any member re-runs the gate; the same results do not", async () => {
  const p = new RolloutGateProvider();
  expect(await p.diff("id", gate(), gate())).toEqual({ changes: false });
  expect(
    await p.diff("id", gate(), gate({ members: [{ name: "a", batch: 1, result: { ...ok, finishedAt: "t2" } }] })),
  ).toEqual({ changes: true });
  expect(await p.diff("id", gate(), gate({ maxFailures: 1 }))).toEqual({ changes: true });
});

test("create passes a healthy batch, logs it and records no failed host", async () => {
  const r = await new RolloutGateProvider().create(gate());
  expect(r.id).toBe("f-gate-1");
  expect(r.outs.failedHosts).toEqual([]);
  expect(logs).toEqual(["[EmqxFleet] f: batch 1 of 2 done, every host healthy"]);
});

test("fails with RolloutHaltedError naming the failed hosts when over the budget", async () => {
  const members = [{ name: "a", batch: 1, result: { ...ok, error: "exit 2" } }];
  const e = await new RolloutGateProvider().update("id", gate(), gate({ members })).catch((x) => x);
  expect(RolloutHaltedError.isInstance(e)).toBe(true);
  expect(e).toMatchObject({ name: "RolloutHaltedError", fleet: "f", batch: 1, failedHosts: ["a"] });
  expect(e.message).toContain("a (batch 1): exit 2");
});

test("pauses pauseSeconds after a batch that passed", async () => {
  jest.useFakeTimers();
  try {
    let done = false;
    const pending = new RolloutGateProvider().create(gate({ pauseSeconds: 30 })).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(29_000);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    await pending;
    expect(done).toBe(true);
    expect(logs).toContain("[EmqxFleet] f: pausing 30 s before batch 2");
  } finally {
    jest.useRealTimers();
  }
});
