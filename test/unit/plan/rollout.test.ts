import {
  engineParallelism,
  parallelismWarning,
  planRollout,
  resolveCount,
  resolveRollout,
  ROLLOUT_DEFAULTS,
  RolloutHost,
  RolloutPlan,
  widestBatch,
} from "../../../provider/plan/rollout";

const hosts = (n: number, cluster?: (i: number) => string | undefined): RolloutHost[] =>
  Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, cluster: cluster?.(i) }));

// Row: [case, value, total, rounding, expected count or a fragment of the refusal]
const COUNT_ROWS: [string, unknown, number, "up" | "down", number | string][] = [
  ["a whole number", 3, 10, "up", 3],
  ["zero", 0, 10, "down", 0],
  ["25% of 10 rounded up", "25%", 10, "up", 3],
  ["25% of 10 rounded down", "25%", 10, "down", 2],
  ["100%", "100%", 7, "up", 7],
  ["1% of 3 rounded up is 1", "1%", 3, "up", 1],
  ["fails for a negative number", -1, 10, "up", "whole number >= 0"],
  ["fails for a fraction", 1.5, 10, "up", "whole number >= 0"],
  ["fails for 101%", "101%", 10, "up", "percentage"],
  ["fails for a percentage with a space", "25 %", 10, "up", "percentage"],
  ["fails for a number in a string", "3", 10, "up", "percentage"],
  ["fails for a fractional percentage", "2.5%", 10, "up", "percentage"],
];

test.each(COUNT_ROWS)("resolveCount: %s", (_name, value, total, round, expected) => {
  const r = resolveCount(value, total, round);
  if (typeof expected === "number") expect(r).toBe(expected);
  else expect(r).toContain(expected);
});

test("resolveCount: a long hostile string is refused quickly (regex anchored, bounded)", () => {
  expect(resolveCount(`${"9".repeat(100_000)}%`, 10, "up")).toContain("percentage");
});

test("resolveRollout applies every default", () => {
  expect(resolveRollout(undefined, 5)).toEqual({ ...ROLLOUT_DEFAULTS });
});

// Row: [case, options, host count, expected property refused]
const REFUSAL_ROWS: [string, object, number, string][] = [
  ["fails for a negative canary", { canary: -1 }, 4, "rollout.canary"],
  ["fails for maxParallelPerCluster 0", { maxParallelPerCluster: 0 }, 4, "rollout.maxParallelPerCluster"],
  ["fails for a fractional pause", { pauseSeconds: 0.5 }, 4, "rollout.pauseSeconds"],
  ["fails for a batch size of 0", { batchSize: 0 }, 4, "rollout.batchSize"],
  ["fails for 0% batches", { batchSize: "0%" }, 4, "rollout.batchSize"],
  ["fails for maxFailures 'many'", { maxFailures: "many" }, 4, "rollout.maxFailures"],
];

test.each(REFUSAL_ROWS)("resolveRollout: %s", (_name, options, n, property) => {
  const r = resolveRollout(options, n);
  expect(Array.isArray(r)).toBe(true);
  expect((r as { property: string }[]).map((x) => x.property)).toEqual([property]);
});

// Row: [case, hosts, options, expected batches, expected `after` per host (only non-empty ones)]
const PLAN_ROWS: [string, RolloutHost[], object, string[][], Record<string, string[]>][] = [
  ["defaults: canary 1, then one at a time", hosts(3), {}, [["h1"], ["h2"], ["h3"]], {}],
  ["canary 1, batches of 2", hosts(5), { batchSize: 2 }, [["h1"], ["h2", "h3"], ["h4", "h5"]], {}],
  [
    "no canary, batches of 50%",
    hosts(4),
    { canary: 0, batchSize: "50%" },
    [
      ["h1", "h2"],
      ["h3", "h4"],
    ],
    {},
  ],
  ["canary larger than the fleet", hosts(2), { canary: 5 }, [["h1", "h2"]], {}],
  ["one host", hosts(1), { batchSize: 10 }, [["h1"]], {}],
  [
    "one cluster, batches of 4, one member at a time: a chain",
    hosts(5, () => "c"),
    { batchSize: 4 },
    [["h1"], ["h2", "h3", "h4", "h5"]],
    { h3: ["h2"], h4: ["h3"], h5: ["h4"] },
  ],
  [
    "one cluster, two at a time: two lanes",
    hosts(5, () => "c"),
    { canary: 0, batchSize: 5, maxParallelPerCluster: 2 },
    [["h1", "h2", "h3", "h4", "h5"]],
    { h3: ["h1"], h4: ["h2"], h5: ["h3"] },
  ],
  [
    "two clusters interleaved: each chained on its own",
    hosts(4, (i) => (i % 2 === 0 ? "a" : "b")),
    { canary: 0, batchSize: 4 },
    [["h1", "h2", "h3", "h4"]],
    { h3: ["h1"], h4: ["h2"] },
  ],
  ["hosts without a cluster never wait", hosts(3), { canary: 0, batchSize: 3 }, [["h1", "h2", "h3"]], {}],
];

test.each(PLAN_ROWS)("planRollout: %s", (_name, hs, options, batches, after) => {
  const plan = planRollout(hs, options);
  if (Array.isArray(plan)) throw new Error(`refused: ${JSON.stringify(plan)}`);
  expect(plan.batches).toEqual(batches);
  const waits = Object.fromEntries(plan.hosts.filter((h) => h.after.length > 0).map((h) => [h.name, h.after]));
  expect(waits).toEqual(after);
  // Every host is planned once, in the batch the batches list says.
  for (const [i, names] of batches.entries())
    for (const n of names) expect(plan.hosts.find((h) => h.name === n)?.batch).toBe(i + 1);
});

test("planRollout: the batch a host falls in depends only on its position, not on its name", () => {
  const a = planRollout(hosts(4), { batchSize: 2 });
  const renamed = planRollout(
    hosts(4).map((h) => ({ name: `x-${h.name}` })),
    { batchSize: 2 },
  );
  expect(Array.isArray(a) || Array.isArray(renamed)).toBe(false);
  expect((a as { hosts: { batch: number }[] }).hosts.map((h) => h.batch)).toEqual(
    (renamed as { hosts: { batch: number }[] }).hosts.map((h) => h.batch),
  );
});

test("planRollout fails with the rollout refusals", () => {
  expect(planRollout(hosts(2), { batchSize: "x" })).toEqual([
    expect.objectContaining({ property: "rollout.batchSize" }),
  ]);
});

describe("the engine's parallelism against the widest batch", () => {
  const plan = (n: number, rollout: object, cluster?: (i: number) => string | undefined) =>
    planRollout(hosts(n, cluster), rollout) as RolloutPlan;

  test("widestBatch counts the hosts a batch starts at once; maxParallelPerCluster chains the rest", () => {
    expect(widestBatch(plan(40, { canary: 0, batchSize: 10 }))).toBe(10);
    expect(widestBatch(plan(40, { canary: 1, batchSize: 5 }))).toBe(5);
    expect(widestBatch(plan(12, { canary: 0, batchSize: 12 }, (i) => `c${i % 2}`))).toBe(2);
    expect(widestBatch(plan(12, { canary: 0, batchSize: 12, maxParallelPerCluster: 3 }, (i) => `c${i % 2}`))).toBe(6);
  });

  test("warns when a batch starts more hosts than the engine runs at once, saying which --parallel to use", () => {
    const p = plan(40, { canary: 0, batchSize: 10 });
    expect(parallelismWarning(p, 8)).toMatch(
      /a batch starts 10 hosts at once, but the engine runs at most 8 .* the other 2 wait for a slot .* `pulumi up --parallel 10`/,
    );
    expect(parallelismWarning(p, 10)).toBeUndefined();
    expect(parallelismWarning(p, undefined)).toBeUndefined();
    expect(parallelismWarning(plan(40, { canary: 0, batchSize: 8 }), 8)).toBeUndefined();
  });

  test("engineParallelism reads what the language host passes the program (PULUMI_NODEJS_PARALLEL)", () => {
    expect(engineParallelism({ PULUMI_NODEJS_PARALLEL: "8" })).toBe(8);
    expect(engineParallelism({})).toBeUndefined();
    expect(engineParallelism({ PULUMI_NODEJS_PARALLEL: "-1" })).toBeUndefined();
  });
});
