// judgeClientImpact: each check passed, failed or inconclusive, with the numbers it compared
// (docs/emqx-4.4-observability.md §2, §7).
import { describeChecks, judgeClientImpact, NodeSnapshot } from "../../../provider/plan/client-impact";

const LIMITS = { maxConnectionDropPercent: 10, maxShutdownGrowthPercent: 10, requireSamePlugins: true };
const listener = (id: string, currentConn: number, shutdownCount: Record<string, number> = {}) => ({
  id,
  currentConn,
  shutdownCount,
  shutdowns: Object.values(shutdownCount).reduce((a, b) => a + b, 0),
});
const snap = (o: Partial<NodeSnapshot> = {}): NodeSnapshot => ({
  liveConnections: 100,
  listeners: [listener("mqtt:tcp:external", 100, { closed: 2 }), listener("mqtt:ws:external", 0)],
  uptimeSeconds: 500,
  activePlugins: ["emqx_dashboard", "emqx_management"],
  unreadable: {},
  ...o,
});

// Row: [case, after (before is snap()), expected verdict per check, a phrase of the failing detail]
const ROWS: [string, Partial<NodeSnapshot>, Record<string, string>, RegExp | undefined][] = [
  [
    "nothing changed passes",
    {},
    { connections: "passed", shutdowns: "passed", uptime: "passed", plugins: "passed" },
    undefined,
  ],
  ["a 10% drop is within the default", { liveConnections: 90 }, { connections: "passed" }, undefined],
  [
    "fails an 11% drop",
    { liveConnections: 89 },
    { connections: "failed" },
    /live connections 100 -> 89 \(-11%\), a drop of more than the 10% allowed/,
  ],
  ["more connections after is fine", { liveConnections: 130 }, { connections: "passed" }, undefined],
  [
    "10 more shutdowns on 100 connections is within 10%",
    { listeners: [listener("mqtt:tcp:external", 90, { closed: 12 }), listener("mqtt:ws:external", 0)] },
    { shutdowns: "passed" },
    undefined,
  ],
  [
    "fails 11 more shutdowns on 100 connections",
    { listeners: [listener("mqtt:tcp:external", 90, { closed: 2, killed: 11 }), listener("mqtt:ws:external", 0)] },
    { shutdowns: "failed" },
    /mqtt:tcp:external shutdown_count 2 -> 13 \(killed \+11\): 11 connections ended, more than the 10 allowed/,
  ],
  [
    "one shutdown on an idle listener is tolerated",
    { listeners: [listener("mqtt:tcp:external", 100, { closed: 2 }), listener("mqtt:ws:external", 0, { closed: 1 })] },
    { shutdowns: "passed" },
    undefined,
  ],
  [
    "fails a listener that is gone",
    { listeners: [listener("mqtt:tcp:external", 100, { closed: 2 })] },
    { shutdowns: "failed" },
    /listener mqtt:ws:external is gone/,
  ],
  [
    "fails a listener whose count went down (restarted)",
    { listeners: [listener("mqtt:tcp:external", 100), listener("mqtt:ws:external", 0)] },
    { shutdowns: "failed" },
    /went down from 2 to 0: the listener was restarted/,
  ],
  [
    "fails an uptime that went back (a restart)",
    { uptimeSeconds: 3 },
    { uptime: "failed" },
    /uptime went back from 500 s to 3 s: the node restarted/,
  ],
  [
    "fails a plugin that stopped",
    { activePlugins: ["emqx_management"] },
    { plugins: "failed" },
    /no longer active: emqx_dashboard/,
  ],
  [
    "fails a plugin that started",
    { activePlugins: ["emqx_dashboard", "emqx_management", "emqx_recon"] },
    { plugins: "failed" },
    /now active: emqx_recon/,
  ],
  [
    "cannot tell without stats after",
    { liveConnections: undefined, unreadable: { stats: "`broker stats` exited 1" } },
    { connections: "inconclusive" },
    /could not tell \(after the upgrade: `broker stats` exited 1\)/,
  ],
  [
    "cannot tell without listeners after",
    { listeners: undefined, unreadable: { listeners: "`listeners` timed out" } },
    { shutdowns: "inconclusive" },
    /could not tell/,
  ],
];
test.each(ROWS)("%s", (_c, after, verdicts, detail) => {
  const r = judgeClientImpact(snap(), snap(after), LIMITS);
  for (const [name, verdict] of Object.entries(verdicts))
    expect({ name, verdict: r.checks.find((c) => c.name === name)?.verdict }).toEqual({ name, verdict });
  const failed = Object.values(verdicts).includes("failed");
  const unknown = Object.values(verdicts).includes("inconclusive");
  expect(r.verdict).toBe(failed ? "failed" : unknown ? "inconclusive" : "passed");
  if (detail) expect(describeChecks(r.checks)).toMatch(detail);
});

test("a failed check wins over one that cannot tell, and failed checks come first in the description", () => {
  const r = judgeClientImpact(
    snap(),
    snap({ liveConnections: 0, listeners: undefined, unreadable: { listeners: "no answer" } }),
    LIMITS,
  );
  expect(r.verdict).toBe("failed");
  expect(describeChecks(r.checks)).toMatch(/^connections failed: .*; shutdowns inconclusive: /);
});

test("every check carries its before and after numbers", () => {
  const r = judgeClientImpact(snap(), snap({ liveConnections: 97, uptimeSeconds: 530 }), LIMITS);
  expect(r.checks).toEqual([
    {
      name: "connections",
      verdict: "passed",
      before: 100,
      after: 97,
      detail: "live connections 100 -> 97 (-3%), within the 10% allowed",
    },
    {
      name: "shutdowns",
      verdict: "passed",
      before: { "mqtt:tcp:external": 2, "mqtt:ws:external": 0 },
      after: { "mqtt:tcp:external": 2, "mqtt:ws:external": 0 },
      detail: "no listener's shutdown_count grew (2 listeners)",
    },
    { name: "uptime", verdict: "passed", before: 500, after: 530, detail: "uptime 500 s -> 530 s, no restart" },
    {
      name: "plugins",
      verdict: "passed",
      before: ["emqx_dashboard", "emqx_management"],
      after: ["emqx_dashboard", "emqx_management"],
      detail: "the same 2 plugins active",
    },
  ]);
});

test("no live connections before passes whatever comes after, and requireSamePlugins: false drops the plugins check", () => {
  const r = judgeClientImpact(snap({ liveConnections: 0 }), snap({ liveConnections: 0, activePlugins: [] }), {
    ...LIMITS,
    requireSamePlugins: false,
  });
  expect(r.verdict).toBe("passed");
  expect(r.checks.map((c) => c.name)).toEqual(["connections", "shutdowns", "uptime"]);
});

// Row: [case, what the probe saw after the upgrade, verdict, detail]
const PROBE_ROWS: [string, NodeSnapshot["probe"], string, RegExp][] = [
  [
    "passes a probe session that stayed open",
    { state: "open", roundTripMs: 12 },
    "passed",
    /stayed open \(QoS 1 round trip 12 ms\)/,
  ],
  [
    "fails a probe session that was closed",
    { state: "closed", reason: "the broker closed the connection" },
    "failed",
    /was closed: the broker closed the connection/,
  ],
  [
    "cannot tell when the probe does not answer",
    { state: "no answer", reason: "no PUBACK within 5000 ms" },
    "inconclusive",
    /did not answer: no PUBACK/,
  ],
];
test.each(PROBE_ROWS)("%s", (_c, probe, verdict, detail) => {
  const r = judgeClientImpact(snap({ probe: { state: "open", roundTripMs: 3 } }), snap({ probe }), LIMITS);
  const c = r.checks.find((x) => x.name === "probe");
  expect(c?.verdict).toBe(verdict);
  expect(c?.detail).toMatch(detail);
});

test("no probe check without a probe before the upgrade", () => {
  expect(
    judgeClientImpact(snap(), snap({ probe: { state: "closed", reason: "x" } }), LIMITS).checks.map((c) => c.name),
  ).not.toContain("probe");
});

test("a before snapshot that could not be read makes the check say so", () => {
  const r = judgeClientImpact(
    snap({ uptimeSeconds: undefined, unreadable: { broker: "`broker` exited 1" } }),
    snap(),
    LIMITS,
  );
  expect(r.checks.find((c) => c.name === "uptime")?.detail).toBe(
    "could not tell (before the upgrade: `broker` exited 1)",
  );
});
