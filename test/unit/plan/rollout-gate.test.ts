import { failureOf, judgeRollout, GateMember } from "../../../provider/plan/rollout-gate";
import type { ReleaseResult } from "../../../provider/plan/release-result";

const ok = (version = "4.4.16"): ReleaseResult => ({
  action: "upgrade",
  fromVersion: "4.4.15",
  toVersion: version,
  version,
  durationMs: 10,
  finishedAt: "t",
  gate: { passed: true, durationMs: 1, attempts: 1, detail: "node reports 4.4.16" },
});
const failed = (error: string): ReleaseResult => ({
  action: "none",
  fromVersion: "4.4.15",
  toVersion: "4.4.16",
  version: "4.4.15",
  durationMs: 10,
  finishedAt: "t",
  error,
});
const unhealthy = (detail: string): ReleaseResult => ({
  ...ok(),
  gate: { passed: false, durationMs: 3000, attempts: 2, detail },
});

// Row: [case, result, expected reason fragment or undefined when the host is fine]
const FAILURE_ROWS: [string, ReleaseResult | undefined, string | undefined][] = [
  ["an upgrade that passed its gate", ok(), undefined],
  ["an upgrade without a gate", { ...ok(), gate: undefined }, undefined],
  ["an error", failed("exit 2: Unpack failed"), "exit 2: Unpack failed"],
  [
    "a gate that did not pass",
    unhealthy("cluster has stopped nodes: emqx@b"),
    "health gate failed: cluster has stopped nodes: emqx@b",
  ],
  ["no result at all", undefined, "no result recorded"],
  [
    "a client-impact gate that failed, rolled back",
    {
      ...ok(),
      clientImpact: {
        passed: false,
        couldNotTell: false,
        durationMs: 1,
        attempts: 1,
        checks: [],
        detail: "connections failed: live connections 3 -> 0 (-100%)",
      },
      rolledBack: { from: "4.4.16", to: "4.4.15", durationMs: 9 },
    },
    "client-impact gate failed: connections failed: live connections 3 -> 0 (-100%); rolled back from 4.4.16 to 4.4.15 (the next up leaves this host alone until the declaration changes or retryAfterRollback is set)",
  ],
  [
    "a health gate that failed, rollback refused",
    { ...unhealthy("node reports 4.4.15"), rollbackRefused: "4.4.15 is no longer installed" },
    "health gate failed: node reports 4.4.15; not rolled back: 4.4.15 is no longer installed",
  ],
  [
    "a client-impact gate that passed",
    {
      ...ok(),
      clientImpact: { passed: true, couldNotTell: false, durationMs: 1, attempts: 1, checks: [], detail: "x" },
    },
    undefined,
  ],
];

test.each(FAILURE_ROWS)("failureOf: %s", (_name, result, expected) => {
  const why = failureOf(result);
  if (expected === undefined) expect(why).toBeUndefined();
  else expect(why).toContain(expected);
});

const members = (results: Array<[number, ReleaseResult | undefined]>): GateMember[] =>
  results.map(([batch, result], i) => ({ name: `h${i + 1}`, batch, result }));

test("judgeRollout: every host healthy: no halt", () => {
  const v = judgeRollout("f", 1, 3, members([[1, ok()]]), 0);
  expect(v).toEqual({ failed: [], halt: false, message: "f: batch 1 of 3 done, every host healthy" });
});

test("judgeRollout: fails the rollout when failures exceed maxFailures, naming each host and what to do", () => {
  const v = judgeRollout(
    "f",
    2,
    3,
    members([
      [1, ok()],
      [2, failed("exit 2\nthe node now lists: 4.4.15 permanent")],
      [2, ok()],
    ]),
    0,
  );
  expect(v.halt).toBe(true);
  expect(v.failed).toEqual([{ name: "h2", batch: 2, why: "exit 2 / the node now lists: 4.4.15 permanent" }]);
  expect(v.message).toContain("f: rollout halted after batch 2 of 3: 1 failed host(s), more than maxFailures 0");
  expect(v.message).toContain("h2 (batch 2): exit 2 / the node now lists");
  expect(v.message).toContain("1 later batch(es) were not started");
  expect(v.message).toContain("run `pulumi up` again");
});

test("judgeRollout: failures within the budget go on, and are reported", () => {
  const v = judgeRollout(
    "f",
    2,
    2,
    members([
      [1, ok()],
      [2, unhealthy("node reports 4.4.15")],
    ]),
    1,
  );
  expect(v.halt).toBe(false);
  expect(v.message).toContain("1 failed host(s), within maxFailures 1");
});

test("judgeRollout: failures of earlier batches count against the same budget", () => {
  const results = members([
    [1, failed("a")],
    [2, failed("b")],
    [3, ok()],
  ]);
  expect(judgeRollout("f", 1, 3, results, 1).halt).toBe(false);
  expect(judgeRollout("f", 2, 3, results, 1).halt).toBe(true);
});

test("judgeRollout: members of later batches are not judged yet", () => {
  expect(
    judgeRollout(
      "f",
      1,
      2,
      members([
        [1, ok()],
        [2, undefined],
      ]),
      0,
    ).halt,
  ).toBe(false);
});
