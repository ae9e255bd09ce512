// The client-impact verdict: did the node's MQTT clients stay connected through a hot upgrade?
// Compares what the node said before the upgrade with what it says after, check by check, each
// passed, failed or inconclusive (the node could not answer, or not yet), and reports every number
// it compared. EMQX promises "most" clients, not all (docs/emqx-4.4-observability.md §1): the
// limits are inputs, and their defaults allow for ordinary churn.

/** What the node said at one moment. A part it could not say is undefined, with the reason in
 * `unreadable` (e.g. `emqx ctl broker stats` failed, or a 4.3 node has no live_connections.count). */
export interface NodeSnapshot {
  /** `live_connections.count` of `broker stats` (docs/emqx-4.4-observability.md §2.3). */
  liveConnections?: number;
  /** Per listener: its connections now and its shutdown_count summed over reasons (docs/emqx-4.4-observability.md §2.4). */
  listeners?: Array<{ id: string; currentConn: number; shutdowns: number; shutdownCount: Record<string, number> }>;
  /** `uptime` of `broker`, in seconds (docs/emqx-4.4-observability.md §2.2). */
  uptimeSeconds?: number;
  /** Names of the plugins `plugins list` shows active, sorted (docs/emqx-4.4-observability.md §2.5). */
  activePlugins?: string[];
  /** The gate's own MQTT session (when it has one): still open, closed, or not answering. */
  probe?: ProbeObservation;
  unreadable: Partial<Record<"stats" | "listeners" | "broker" | "plugins", string>>;
}

/** What the gate's own MQTT client saw (emqx/probe-client). */
export type ProbeObservation =
  { state: "open"; roundTripMs: number } | { state: "closed"; reason: string } | { state: "no answer"; reason: string };

/** The limits, defaults applied. */
export interface ClientImpactLimits {
  /** Live connections may drop by at most this share of the count before. */
  maxConnectionDropPercent: number;
  /** Each listener's shutdown_count may grow by at most this share of its connections before
   * (at least 1: one client leaving is always tolerated). */
  maxShutdownGrowthPercent: number;
  /** The same plugins must be active after as before. */
  requireSamePlugins: boolean;
}

/** Passed, failed, or not known yet (Argo Rollouts' Inconclusive, docs/emqx-4.4-observability.md §7). */
export type ImpactVerdict = "passed" | "failed" | "inconclusive";

/** One check with the numbers it compared. */
export interface ClientImpactCheck {
  name: "connections" | "shutdowns" | "uptime" | "plugins" | "probe";
  verdict: ImpactVerdict;
  /** The value before and after: a count, seconds, per-listener counts, or plugin names. */
  before?: number | string[] | Record<string, number>;
  after?: number | string[] | Record<string, number>;
  /** What was seen, in words: "live connections 3 -> 0 (-100%), more than the 10% allowed". */
  detail: string;
}

/** Judges the snapshots: failed when a check failed, else inconclusive when one could not tell,
 * else passed. */
export function judgeClientImpact(
  before: NodeSnapshot,
  after: NodeSnapshot,
  limits: ClientImpactLimits,
): { verdict: ImpactVerdict; checks: ClientImpactCheck[] } {
  const checks = [
    connectionsCheck(before, after, limits),
    shutdownsCheck(before, after, limits),
    uptimeCheck(before, after),
  ];
  if (limits.requireSamePlugins) checks.push(pluginsCheck(before, after));
  if (before.probe) checks.push(probeCheck(after.probe));
  const verdict: ImpactVerdict = checks.some((c) => c.verdict === "failed")
    ? "failed"
    : checks.some((c) => c.verdict === "inconclusive")
      ? "inconclusive"
      : "passed";
  return { verdict, checks };
}

/** One line for logs and messages: every check's detail, failed ones first. */
export function describeChecks(checks: ClientImpactCheck[]): string {
  const order: Record<ImpactVerdict, number> = { failed: 0, inconclusive: 1, passed: 2 };
  return [...checks]
    .sort((a, b) => order[a.verdict] - order[b.verdict])
    .map((c) => `${c.name} ${c.verdict}: ${c.detail}`)
    .join("; ");
}

/** "could not tell" for a part either snapshot lacks, naming why. */
function unknown(
  name: ClientImpactCheck["name"],
  part: keyof NodeSnapshot["unreadable"],
  before: NodeSnapshot,
  after: NodeSnapshot,
): ClientImpactCheck {
  const why = after.unreadable[part] ?? before.unreadable[part] ?? "no answer";
  const when = after.unreadable[part] !== undefined ? "after" : "before";
  return { name, verdict: "inconclusive", detail: `could not tell (${when} the upgrade: ${why})` };
}

function connectionsCheck(before: NodeSnapshot, after: NodeSnapshot, limits: ClientImpactLimits): ClientImpactCheck {
  const b = before.liveConnections;
  const a = after.liveConnections;
  if (b === undefined || a === undefined) return unknown("connections", "stats", before, after);
  const base = { name: "connections" as const, before: b, after: a };
  if (b === 0)
    return { ...base, verdict: "passed", detail: `live connections ${b} -> ${a} (none before, nothing to lose)` };
  const dropPercent = Math.max(0, ((b - a) / b) * 100);
  const shown = `live connections ${b} -> ${a} (${a >= b ? "+" : "-"}${round(Math.abs(((a - b) / b) * 100))}%)`;
  if (dropPercent > limits.maxConnectionDropPercent)
    return {
      ...base,
      verdict: "failed",
      detail: `${shown}, a drop of more than the ${limits.maxConnectionDropPercent}% allowed (maxConnectionDropPercent)`,
    };
  return { ...base, verdict: "passed", detail: `${shown}, within the ${limits.maxConnectionDropPercent}% allowed` };
}

function shutdownsCheck(before: NodeSnapshot, after: NodeSnapshot, limits: ClientImpactLimits): ClientImpactCheck {
  if (!before.listeners || !after.listeners) return unknown("shutdowns", "listeners", before, after);
  const b: Record<string, number> = {};
  const a: Record<string, number> = {};
  const problems: string[] = [];
  const seen: string[] = [];
  for (const l of before.listeners) {
    b[l.id] = l.shutdowns;
    const now = after.listeners.find((x) => x.id === l.id);
    if (!now) {
      problems.push(`listener ${l.id} is gone`);
      continue;
    }
    a[l.id] = now.shutdowns;
    const grown = now.shutdowns - l.shutdowns;
    const allowed = Math.max(1, Math.floor((l.currentConn * limits.maxShutdownGrowthPercent) / 100));
    const reasons = Object.entries(now.shutdownCount)
      .map(([r, n]) => [r, n - (l.shutdownCount[r] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r} +${n}`)
      .join(", ");
    if (grown < 0)
      problems.push(
        `${l.id} shutdown_count went down from ${l.shutdowns} to ${now.shutdowns}: the listener was restarted`,
      );
    else if (grown > allowed)
      problems.push(
        `${l.id} shutdown_count ${l.shutdowns} -> ${now.shutdowns} (${reasons}): ${grown} connections ended, more than the ${allowed} allowed (${limits.maxShutdownGrowthPercent}% of its ${l.currentConn} connections, at least 1)`,
      );
    else if (grown > 0) seen.push(`${l.id} +${grown} (${reasons}), within ${allowed}`);
  }
  const base = { name: "shutdowns" as const, before: b, after: a };
  if (problems.length > 0) return { ...base, verdict: "failed", detail: problems.join("; ") };
  return {
    ...base,
    verdict: "passed",
    detail:
      seen.length > 0
        ? `shutdown_count grew: ${seen.join("; ")}`
        : `no listener's shutdown_count grew (${before.listeners.length} listener${before.listeners.length === 1 ? "" : "s"})`,
  };
}

function uptimeCheck(before: NodeSnapshot, after: NodeSnapshot): ClientImpactCheck {
  const b = before.uptimeSeconds;
  const a = after.uptimeSeconds;
  if (b === undefined || a === undefined) return unknown("uptime", "broker", before, after);
  const base = { name: "uptime" as const, before: b, after: a };
  if (a < b)
    return {
      ...base,
      verdict: "failed",
      detail: `uptime went back from ${b} s to ${a} s: the node restarted, every client was disconnected`,
    };
  return { ...base, verdict: "passed", detail: `uptime ${b} s -> ${a} s, no restart` };
}

function pluginsCheck(before: NodeSnapshot, after: NodeSnapshot): ClientImpactCheck {
  const b = before.activePlugins;
  const a = after.activePlugins;
  if (!b || !a) return unknown("plugins", "plugins", before, after);
  const base = { name: "plugins" as const, before: b, after: a };
  const stopped = b.filter((p) => !a.includes(p));
  const started = a.filter((p) => !b.includes(p));
  if (stopped.length === 0 && started.length === 0)
    return { ...base, verdict: "passed", detail: `the same ${b.length} plugins active` };
  const parts = [
    stopped.length > 0 ? `no longer active: ${stopped.join(", ")}` : "",
    started.length > 0 ? `now active: ${started.join(", ")}` : "",
  ].filter(Boolean);
  return {
    ...base,
    verdict: "failed",
    detail: `plugins changed (${parts.join("; ")}); set requireSamePlugins: false if that is expected`,
  };
}

// The probe session opened before the upgrade must still be open: a closed one is a dropped client.
function probeCheck(p: ProbeObservation | undefined): ClientImpactCheck {
  if (!p)
    return {
      name: "probe",
      verdict: "inconclusive",
      detail: "could not tell (the probe was not read after the upgrade)",
    };
  if (p.state === "closed")
    return {
      name: "probe",
      verdict: "failed",
      detail: `the gate's own MQTT session, open before the upgrade, was closed: ${p.reason}`,
    };
  if (p.state === "no answer")
    return {
      name: "probe",
      verdict: "inconclusive",
      detail: `could not tell (the gate's own MQTT session did not answer: ${p.reason})`,
    };
  return {
    name: "probe",
    verdict: "passed",
    detail: `the gate's own MQTT session stayed open (QoS 1 round trip ${p.roundTripMs} ms)`,
  };
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** The gate's result as recorded in `lastResult.clientImpact`. */
export interface ClientImpactOutcome {
  passed: boolean;
  /** True when the gate failed only because it could not tell by its deadline. */
  couldNotTell: boolean;
  durationMs: number;
  attempts: number;
  /** Every check at the last attempt, with its before/after numbers. */
  checks: ClientImpactCheck[];
  detail: string;
}
