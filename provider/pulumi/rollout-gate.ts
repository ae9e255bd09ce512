// EmqxRolloutGate: the resource between two batches of an EmqxFleet rollout (and after the last).
// It depends on every host of its batch, so the engine runs it once the batch is done; it judges
// the results of all batches so far against maxFailures, halts the rollout by failing (every later
// batch depends on it, so the engine leaves them untouched), and otherwise pauses `pauseSeconds`
// before the next batch starts.
import * as pulumi from "@pulumi/pulumi";
import { RolloutHaltedError } from "../errors";
import { sameValue } from "../plan/diff";
import { GateMember, judgeRollout } from "../plan/rollout-gate";
import type { ReleaseResult } from "../plan/release-result";

/** Inputs of one gate. */
export interface RolloutGateInputs {
  fleet: string;
  /** 1-based number of the batch this gate closes. */
  batch: number;
  batchCount: number;
  maxFailures: number;
  /** Pause after this batch; 0 after the last one. */
  pauseSeconds: number;
  /** Every host of batches 1..batch with its `lastResult`. */
  members: Array<{ name: string; batch: number; result?: ReleaseResult }>;
  /** The hosts of this batch and their clusters: known at preview, so `pulumi preview --json`
   * (and the plan-summary CLI reading it) can tell each host's batch. Not judged, not diffed. */
  batchHosts?: Array<{ name: string; cluster?: string }>;
}

/** A gate's state: its inputs echoed, and the hosts it counted as failed. */
export interface RolloutGateState extends RolloutGateInputs {
  failedHosts: string[];
}

/** The inputs a change of which runs the gate again (`batchHosts` is for preview readers only). */
const JUDGED_INPUTS = ["fleet", "batch", "batchCount", "maxFailures", "pauseSeconds", "members"] as const;

/** The gate's provider: plain object, serialized into state by value. EmqxFleet is the only
 * writer of its inputs (no user input reaches it unchecked), so the engine's bags are read as
 * RolloutGateInputs as they are. */
export class RolloutGateProvider {
  async diff(_id: string, olds: RolloutGateInputs, news: RolloutGateInputs): Promise<{ changes: boolean }> {
    return { changes: JUDGED_INPUTS.some((k) => !sameValue(olds[k], news[k])) };
  }

  async create(inputs: RolloutGateInputs): Promise<{ id: string; outs: RolloutGateState }> {
    const outs = await this.judge(inputs);
    return { id: `${inputs.fleet}-gate-${inputs.batch}`, outs };
  }

  async update(_id: string, _olds: RolloutGateInputs, news: RolloutGateInputs): Promise<{ outs: RolloutGateState }> {
    return { outs: await this.judge(news) };
  }

  private async judge(i: RolloutGateInputs): Promise<RolloutGateState> {
    const verdict = judgeRollout(i.fleet, i.batch, i.batchCount, i.members as GateMember[], i.maxFailures);
    if (verdict.halt)
      throw new RolloutHaltedError({
        fleet: i.fleet,
        batch: i.batch,
        failedHosts: verdict.failed.map((f) => f.name),
        message: verdict.message,
      });
    console.log(`[EmqxFleet] ${verdict.message}`);
    if (i.pauseSeconds > 0) {
      console.log(`[EmqxFleet] ${i.fleet}: pausing ${i.pauseSeconds} s before batch ${i.batch + 1}`);
      await new Promise((resolve) => setTimeout(resolve, i.pauseSeconds * 1000));
    }
    return { ...i, failedHosts: verdict.failed.map((f) => f.name) };
  }
}

const PROVIDER = new RolloutGateProvider();

/** The gate after one batch of an EmqxFleet rollout. Created by EmqxFleet, not by users. */
export class EmqxRolloutGate extends pulumi.dynamic.Resource {
  /** Hosts of batches 1..batch whose upgrade or health gate failed (within maxFailures). */
  public readonly failedHosts!: pulumi.Output<string[]>;

  constructor(
    name: string,
    args: { [K in keyof RolloutGateInputs]: pulumi.Input<RolloutGateInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(PROVIDER, name, { ...args, failedHosts: undefined }, opts, "emqx", "EmqxRolloutGate");
  }
}
