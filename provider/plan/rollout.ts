// How a fleet is cut into a rollout: a canary batch, then batches of `batchSize`, and inside a batch
// at most `maxParallelPerCluster` nodes of one cluster at a time. Pure: names in, plan out.
//
// Worked example: hosts a1 a2 a3 b1 b2 (a* in cluster "a", b* in "b"), canary 1, batchSize 2,
// maxParallelPerCluster 1 => batch 1: [a1]; batch 2: [a2, a3] with a3 waiting for a2 (same cluster);
// batch 3: [b1, b2] with b2 waiting for b1.
import type { Refusal } from "./upgrade-plan";

/** The rollout knobs as a user writes them, named after the rollout tools users know: `canary` and
 * `maxParallelPerCluster` after Nomad's `update` block (`canary`, `max_parallel`), `batchSize` after Ansible's
 * `serial`, `maxFailures` after AWS SSM Run Command's `MaxErrors`. */
export interface RolloutOptions {
  /** Hosts in the first batch, alone. 0 = no canary batch. @default 1 */
  canary?: number;
  /** Hosts per later batch: a number, or "N%" of all hosts (rounded up). @default 1 */
  batchSize?: number | string;
  /** Nodes of one cluster upgraded at the same time inside a batch. @default 1 */
  maxParallelPerCluster?: number;
  /** Pause after each batch but the last. @default 0 */
  pauseSeconds?: number;
  /** Failed hosts tolerated over the whole rollout before it halts: a number, or "N%" of all hosts
   * (rounded down). @default 0 (the first failure halts) */
  maxFailures?: number | string;
}

/** The knobs with every default applied and percentages turned into host counts. */
export interface ResolvedRollout {
  canary: number;
  batchSize: number;
  maxParallelPerCluster: number;
  pauseSeconds: number;
  maxFailures: number;
}

/** Defaults of RolloutOptions, named so docs, code and tests agree. */
export const ROLLOUT_DEFAULTS = {
  canary: 1,
  batchSize: 1,
  maxParallelPerCluster: 1,
  pauseSeconds: 0,
  maxFailures: 0,
} as const;

/** One host of the fleet as the plan sees it. */
export interface RolloutHost {
  name: string;
  cluster?: string;
}

/** Where a host falls in the rollout. */
export interface PlannedHost {
  name: string;
  /** 1-based batch number (the canary batch is 1 when there is one). */
  batch: number;
  cluster?: string;
  /** Hosts of the same batch and cluster this one starts after (maxParallelPerCluster). */
  after: string[];
}

/** The whole rollout: batches of host names in order, and each host's place. */
export interface RolloutPlan {
  rollout: ResolvedRollout;
  batches: string[][];
  hosts: PlannedHost[];
}

const PERCENT_RE = /^(\d{1,3})%$/;

/** A count given as a whole number or "N%" of `total`; `round` says which way a percentage goes. */
export function resolveCount(value: unknown, total: number, round: "up" | "down"): number | string {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0
      ? value
      : `must be a whole number >= 0 or "N%", got ${JSON.stringify(value)}`;
  }
  const m = typeof value === "string" ? PERCENT_RE.exec(value) : null;
  if (!m || Number(m[1]) > 100)
    return `must be a whole number >= 0 or a percentage from "0%" to "100%", got ${JSON.stringify(value)}`;
  const exact = (total * Number(m[1])) / 100;
  return round === "up" ? Math.ceil(exact) : Math.floor(exact);
}

/** Applies the defaults and checks every knob; refusals name the property under `rollout.`. */
export function resolveRollout(options: RolloutOptions | undefined, hostCount: number): ResolvedRollout | Refusal[] {
  const o = options ?? {};
  const refusals: Refusal[] = [];
  const whole = (property: keyof RolloutOptions, v: unknown, min: number, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      refusals.push({
        property: `rollout.${property}`,
        reason: `must be a whole number >= ${min}, got ${JSON.stringify(v)}`,
      });
      return fallback;
    }
    return v;
  };
  const canary = whole("canary", o.canary, 0, ROLLOUT_DEFAULTS.canary);
  const maxParallelPerCluster = whole(
    "maxParallelPerCluster",
    o.maxParallelPerCluster,
    1,
    ROLLOUT_DEFAULTS.maxParallelPerCluster,
  );
  const pauseSeconds = whole("pauseSeconds", o.pauseSeconds, 0, ROLLOUT_DEFAULTS.pauseSeconds);
  let batchSize: number = ROLLOUT_DEFAULTS.batchSize;
  if (o.batchSize !== undefined) {
    const b = resolveCount(o.batchSize, hostCount, "up");
    if (typeof b === "string") refusals.push({ property: "rollout.batchSize", reason: b });
    else if (b < 1)
      refusals.push({
        property: "rollout.batchSize",
        reason: `must come to at least 1 host, got ${JSON.stringify(o.batchSize)} of ${hostCount} hosts`,
      });
    else batchSize = b;
  }
  let maxFailures: number = ROLLOUT_DEFAULTS.maxFailures;
  if (o.maxFailures !== undefined) {
    const f = resolveCount(o.maxFailures, hostCount, "down");
    if (typeof f === "string") refusals.push({ property: "rollout.maxFailures", reason: f });
    else maxFailures = f;
  }
  if (refusals.length > 0) return refusals;
  return { canary: Math.min(canary, hostCount), batchSize, maxParallelPerCluster, pauseSeconds, maxFailures };
}

/** Cuts the hosts, in the order given, into batches and chains same-cluster hosts inside a batch. */
export function planRollout(hosts: RolloutHost[], options: RolloutOptions | undefined): RolloutPlan | Refusal[] {
  const rollout = resolveRollout(options, hosts.length);
  if (Array.isArray(rollout)) return rollout;
  const batches: string[][] = [];
  if (rollout.canary > 0) batches.push(hosts.slice(0, rollout.canary).map((h) => h.name));
  for (let i = rollout.canary; i < hosts.length; i += rollout.batchSize)
    batches.push(hosts.slice(i, i + rollout.batchSize).map((h) => h.name));

  const byName = new Map(hosts.map((h) => [h.name, h] as const));
  const planned: PlannedHost[] = [];
  batches.forEach((names, index) => {
    // Lane k of a cluster holds its members k, k+N, k+2N, ...: each waits for the one before it
    // in its lane, so at most N members of a cluster run at once.
    const seen = new Map<string, string[]>();
    for (const name of names) {
      const cluster = byName.get(name)?.cluster;
      const members = cluster === undefined ? [] : (seen.get(cluster) ?? []);
      const after =
        cluster !== undefined && members.length >= rollout.maxParallelPerCluster
          ? [members[members.length - rollout.maxParallelPerCluster]]
          : [];
      if (cluster !== undefined) seen.set(cluster, [...members, name]);
      planned.push({ name, batch: index + 1, cluster, after });
    }
  });
  return { rollout, batches, hosts: planned };
}

/** How many of a batch's hosts the rollout starts at once: the hosts that wait for no other
 * (maxParallelPerCluster chains the rest). */
export function widestBatch(plan: RolloutPlan): number {
  const heads = new Map<number, number>();
  for (const h of plan.hosts) if (h.after.length === 0) heads.set(h.batch, (heads.get(h.batch) ?? 0) + 1);
  return Math.max(0, ...heads.values());
}

/** The engine's parallelism as the language host hands it to the program (`pulumi up --parallel`,
 * whose default is 4 x the machine's CPUs); undefined outside the CLI. */
export function engineParallelism(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.PULUMI_NODEJS_PARALLEL);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A warning when the engine runs fewer resource operations at once than a batch starts: the
 * batch's other hosts wait for a slot, so it takes two rounds or more (BENCHMARKS.md, the rollout
 * section: at batch 10 under the default of 8, 8 hosts started together and 2 some 10 s later). */
export function parallelismWarning(plan: RolloutPlan, parallel: number | undefined): string | undefined {
  const widest = widestBatch(plan);
  if (parallel === undefined || parallel >= widest) return undefined;
  return `a batch starts ${widest} hosts at once, but the engine runs at most ${parallel} resource operations at a time (pulumi up --parallel, default 4 x CPUs): the other ${widest - parallel} wait for a slot and the batch takes longer; run \`pulumi up --parallel ${widest}\` (or more), or lower rollout.batchSize`;
}
