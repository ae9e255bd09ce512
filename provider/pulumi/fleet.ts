// EmqxFleet: one EmqxRelease per host, rolled out in batches from CI. A canary batch first, then
// batches of `batchSize`, each closed by an EmqxRolloutGate that judges the results against
// `maxFailures`, pauses, and halts the rollout by failing (every later batch depends on it, so the
// engine leaves those hosts untouched; the next `up` retries the failed hosts and goes on).
import * as pulumi from "@pulumi/pulumi";
import { InvalidInputError } from "../errors";
import { checkReleaseInputs } from "../plan/check-inputs";
import { checkFleetHosts, duplicateEndpoints, groupRefusals } from "../plan/fleet-inputs";
import { engineParallelism, parallelismWarning, planRollout, RolloutOptions, RolloutPlan } from "../plan/rollout";
import type { Refusal } from "../plan/upgrade-plan";
import {
  ClientImpactArgs,
  ConnectionArgs,
  EmqxRelease,
  EmqxReleaseArgs,
  HealthGateArgs,
  ReleaseResultOutput,
} from "./release";
import { EmqxRolloutGate } from "./rollout-gate";

/** One node of the fleet. */
export interface FleetHostArgs {
  /** Unique in the fleet; the node's resource is named `<fleet>-<name>`. */
  name: string;
  /** How to reach the node; fields left out come from `connectionDefaults`. */
  connection: pulumi.Input<Partial<ConnectionArgs> & { proxy?: pulumi.Input<ConnectionArgs> }>;
  /** Nodes with the same cluster name are upgraded at most `rollout.maxParallelPerCluster` at a
   * time. @default none (the node is its own cluster) */
  cluster?: string;
  /** This node's EMQX CLI, when it differs from the fleet's `emqxPath` (a zip install among
   * deb/rpm ones). @default the fleet's emqxPath */
  emqxPath?: pulumi.Input<string>;
}

/** The rollout knobs (see RolloutOptions), plus the canary's trial mode. */
export interface FleetRolloutArgs extends RolloutOptions {
  /**
   * `false` makes the canary batch a trial: its nodes are upgraded with `--no-permanent` (a restart
   * brings back the old release) and every later host is held where it is. Then either promote
   * (set `promote: true`: the canary runs `emqx install`, the rest roll out) or revert (declare the
   * previous version again: the canary restarts into its permanent release).
   * @default true
   */
  promote?: boolean;
}

/** Inputs of EmqxFleet. */
export interface EmqxFleetArgs {
  hosts: FleetHostArgs[];
  /** Connection fields shared by every host (user, privateKey, proxy, ...). @default none */
  connectionDefaults?: pulumi.Input<Partial<ConnectionArgs> & { proxy?: pulumi.Input<ConnectionArgs> }>;
  version: pulumi.Input<string>;
  /** See EmqxRelease: the runner uploads this zip to every node. Give this or `packageUrl`. */
  packagePath?: pulumi.Input<string>;
  /** See EmqxRelease: every node downloads the zip itself (needs `packageSha256`); the runner sends
   * no package bytes. Give this or `packagePath`. */
  packageUrl?: pulumi.Input<string>;
  /** See EmqxRelease. Required with `packageUrl`. @default not pinned */
  packageSha256?: pulumi.Input<string>;
  /** See EmqxRelease (secret request headers of the download). @default none */
  packageHeaders?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** See EmqxRelease. @default the download tool's own */
  packageProxy?: pulumi.Input<string>;
  /** @default from the package name */
  edition?: pulumi.Input<"ce" | "ee">;
  /** @default true */
  permanent?: pulumi.Input<boolean>;
  /** @default "emqx" */
  emqxPath?: pulumi.Input<string>;
  /** @default the SSH user */
  runAs?: pulumi.Input<string>;
  /** @default { canary: 1, batchSize: 1, maxParallelPerCluster: 1, pauseSeconds: 0, maxFailures: 0, promote: true } */
  rollout?: FleetRolloutArgs;
  /** Checked on each node right after its upgrade. @default { deadlineSeconds: 120 } (version only) */
  healthGate?: HealthGateArgs;
  /** Client-impact gate of each node (see EmqxRelease). @default none */
  clientImpact?: pulumi.Input<ClientImpactArgs>;
  /** See EmqxRelease: with "downgrade", a node whose gate failed is rolled back, and the fleet's
   * gate counts it as failed (the rollout halts past maxFailures). @default "halt" */
  onGateFailure?: pulumi.Input<"halt" | "downgrade">;
  /** See EmqxRelease. @default false */
  retryAfterRollback?: pulumi.Input<boolean>;
}

/** Where a host falls in the rollout (the `plan` output). */
export interface FleetPlanEntry {
  batch: number;
  cluster?: string;
  /** Hosts of the same batch and cluster this one waits for. */
  after: string[];
  to: string;
  /** True while the host is held by a canary trial (`rollout.promote: false`). */
  held: boolean;
}

/** One host's result after `up` (the `results` output). */
export interface FleetResultEntry extends ReleaseResultOutput {
  batch: number;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !pulumi.Output.isInstance(v) &&
    typeof (v as { then?: unknown }).then !== "function"
  );
}

/** `connectionDefaults` under the host's own fields. */
function mergeConnection(
  defaults: EmqxFleetArgs["connectionDefaults"],
  own: FleetHostArgs["connection"],
): EmqxReleaseArgs["connection"] {
  if (defaults === undefined) return own as EmqxReleaseArgs["connection"];
  if (isPlainObject(defaults) && isPlainObject(own)) return { ...defaults, ...own } as EmqxReleaseArgs["connection"];
  return pulumi.all([defaults, own]).apply(([d, o]) => ({ ...d, ...o })) as unknown as EmqxReleaseArgs["connection"];
}

// Inputs the fleet holds still on hosts after the canary during a trial (`promote: false`).
const HELD_INPUTS = [
  "version",
  "packagePath",
  "packageUrl",
  "packageSha256",
  "permanent",
  "edition",
  "__packageDigest",
];

/** A fleet of EMQX 4.4 nodes upgraded in a canary-first, batched, health-gated rollout. */
export class EmqxFleet extends pulumi.ComponentResource {
  /** The node resources by host name. */
  public readonly releases: Record<string, EmqxRelease>;
  /** The gates, one after each batch. */
  public readonly gates: EmqxRolloutGate[];
  /** Per host: its batch, what it waits for, the target, whether it is held. Known in preview. */
  public readonly plan: pulumi.Output<Record<string, FleetPlanEntry>>;
  /** Per host after `up`: action, from/to, what it runs, duration, health gate, error. */
  public readonly results: pulumi.Output<Record<string, FleetResultEntry>>;
  /** Per host, its last change: `"4.4.0 -> 4.4.16"`, `"unchanged (4.4.16)"` when its last operation
   * found it at the target, or `"failed: ..."`. A host no `up` touched since keeps its earlier entry. */
  public readonly summary: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EmqxFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("emqx:index:EmqxFleet", name, {}, opts);
    const hostRefusals = checkFleetHosts(args.hosts);
    if (hostRefusals.length > 0)
      throw new InvalidInputError({
        property: `EmqxFleet ${name}: ${hostRefusals[0].property}`,
        reason: hostRefusals.map((r) => `${r.property} ${r.reason}`).join("; "),
      });
    const planned = planRollout(args.hosts, args.rollout);
    if (Array.isArray(planned))
      throw new InvalidInputError({
        property: `EmqxFleet ${name}: ${planned[0].property}`,
        reason: planned.map((r) => `${r.property} ${r.reason}`).join("; "),
      });
    const plan: RolloutPlan = planned;
    const promote = args.rollout?.promote ?? true;
    const connections = new Map(
      args.hosts.map((h) => [h.name, mergeConnection(args.connectionDefaults, h.connection)] as const),
    );

    this.reportRefusals(name, args, connections);
    const slow = parallelismWarning(plan, engineParallelism());
    if (slow) void pulumi.log.warn(`EmqxFleet ${name}: ${slow}`, this);

    this.releases = {};
    this.gates = [];
    const batchOf = new Map(plan.hosts.map((h) => [h.name, h] as const));
    const memberOf = new Map<string, pulumi.Output<{ name: string; batch: number; result: ReleaseResultOutput }>>();
    // During a trial (`promote: false`) the canary batch runs --no-permanent and every other is held.
    const isTrial = (batch: number) => !promote && batch === 1 && plan.rollout.canary > 0;
    const isHeld = (batch: number) => !promote && !isTrial(batch);
    plan.batches.forEach((names, index) => {
      const batch = index + 1;
      const trial = isTrial(batch);
      const held = isHeld(batch);
      for (const hostName of names) {
        const p = batchOf.get(hostName)!;
        const dependsOn: pulumi.Resource[] = [
          ...(index > 0 ? [this.gates[index - 1]] : []),
          ...p.after.map((a) => this.releases[a]),
        ];
        this.releases[hostName] = new EmqxRelease(
          `${name}-${hostName}`,
          {
            ...sharedReleaseArgs(args),
            connection: connections.get(hostName)!,
            permanent: trial ? false : args.permanent,
            emqxPath: args.hosts.find((h) => h.name === hostName)?.emqxPath ?? args.emqxPath,
            healthGate: args.healthGate ?? {},
            __recordFailure: true,
          },
          { parent: this, dependsOn, ignoreChanges: held ? HELD_INPUTS : undefined },
        );
      }
      // Each host's member entry is made once, when its batch is laid out, and shared by every
      // later gate: one Output per host, not one per host and gate (BENCHMARKS.md, the preview section).
      for (const hostName of names) {
        const h = batchOf.get(hostName)!;
        memberOf.set(
          hostName,
          this.releases[hostName].lastResult.apply((result) => ({ name: h.name, batch: h.batch, result })),
        );
      }
      const members = plan.hosts.filter((h) => h.batch <= batch).map((h) => memberOf.get(h.name)!);
      this.gates.push(
        new EmqxRolloutGate(
          `${name}-gate-${batch}`,
          {
            fleet: name,
            batch,
            batchCount: plan.batches.length,
            maxFailures: plan.rollout.maxFailures,
            pauseSeconds: batch < plan.batches.length ? plan.rollout.pauseSeconds : 0,
            members: pulumi.all(members),
            batchHosts: names.map((n) => ({
              name: n,
              ...(batchOf.get(n)?.cluster ? { cluster: batchOf.get(n)!.cluster } : {}),
            })),
          },
          { parent: this, dependsOn: names.map((n) => this.releases[n]) },
        ),
      );
    });

    this.plan = pulumi
      .output(args.version)
      .apply((to) =>
        Object.fromEntries(
          plan.hosts.map((h) => [
            h.name,
            { batch: h.batch, ...(h.cluster ? { cluster: h.cluster } : {}), after: h.after, to, held: isHeld(h.batch) },
          ]),
        ),
      );
    const entries = plan.hosts.map((h) =>
      this.releases[h.name].lastResult.apply((r) => [h.name, { ...r, batch: h.batch }] as const),
    );
    this.results = pulumi.all(entries).apply((list) => Object.fromEntries(list));
    this.summary = this.results.apply((results) =>
      Object.fromEntries(
        Object.entries(results).map(([host, r]) => [
          host,
          r.error
            ? `failed: ${r.error.split("\n")[0]}`
            : r.fromVersion === r.version
              ? `unchanged (${r.version})`
              : `${r.fromVersion} -> ${r.version}`,
        ]),
      ),
    );
    this.registerOutputs({ plan: this.plan, results: this.results, summary: this.summary });
  }

  /** Applies the pure input rules to every host at program time and logs every refusal at once:
   * the engine would stop at the first failing resource and hide the others. */
  private reportRefusals(
    name: string,
    args: EmqxFleetArgs,
    connections: Map<string, EmqxReleaseArgs["connection"]>,
  ): void {
    // Every input the fleet hands each EmqxRelease, checked by the same rules as its check().
    const shared = pulumi.all(sharedReleaseArgs(args));
    const perHost = args.hosts.map((h) =>
      pulumi.all([shared, connections.get(h.name)!, h.emqxPath]).apply(([inputs, connection, ownEmqxPath]) => ({
        name: h.name,
        connection: connection as Record<string, unknown>,
        refusals: checkReleaseInputs({
          ...Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)),
          connection,
          emqxPath: ownEmqxPath ?? inputs.emqxPath,
        }) as Refusal[],
      })),
    );
    pulumi.all(perHost).apply((list) => {
      const lines = groupRefusals(list);
      lines.push(
        ...duplicateEndpoints(
          list.map((h) => ({ name: h.name, host: h.connection?.host, port: h.connection?.port })),
        ).map((r) => `${r.property}: ${r.reason}`),
      );
      if (lines.length === 0) return;
      for (const line of lines) pulumi.log.error(`EmqxFleet ${name}: ${line}`, this);
      pulumi.log.error(
        `EmqxFleet ${name}: ${lines.length} refusal(s) above; no host was contacted. Fix the inputs and run \`pulumi preview\` again.`,
        this,
      );
    });
  }
}

/** The inputs the fleet hands every host's EmqxRelease as given (the constructor sets connection,
 * permanent, emqxPath and healthGate per host on top): one list, which reportRefusals checks. */
function sharedReleaseArgs(args: EmqxFleetArgs) {
  return {
    version: args.version,
    packagePath: args.packagePath,
    packageUrl: args.packageUrl,
    packageSha256: args.packageSha256,
    packageHeaders: args.packageHeaders,
    packageProxy: args.packageProxy,
    edition: args.edition,
    permanent: args.permanent,
    emqxPath: args.emqxPath,
    runAs: args.runAs,
    healthGate: args.healthGate,
    clientImpact: args.clientImpact,
    onGateFailure: args.onGateFailure,
    retryAfterRollback: args.retryAfterRollback,
  };
}
