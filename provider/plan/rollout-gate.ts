// The judgement between two batches: how many hosts of the batches so far failed (their upgrade or
// their health gate), and whether that is over the rollout's failure budget.
import type { ClientImpactOutcome } from "./client-impact";
import type { HealthGateOutcome, ReleaseResult } from "./release-result";

/** One host's result as the gate sees it. */
export interface GateMember {
  name: string;
  batch: number;
  /** The host's `lastResult` output; undefined when the host has no result yet. */
  result?: ReleaseResult;
}

/** What the gate decided. */
export interface GateVerdict {
  failed: Array<{ name: string; batch: number; why: string }>;
  /** True when the failures exceed the budget: the rollout halts here. */
  halt: boolean;
  message: string;
}

function gateWhy(gate: HealthGateOutcome | undefined): string | undefined {
  return gate && !gate.passed ? `health gate failed: ${gate.detail}` : undefined;
}

/** Why a host counts as failed, or undefined when it is fine. */
export function failureOf(result: ReleaseResult | undefined): string | undefined {
  if (!result) return "no result recorded (the host was not upgraded)";
  const why = result.error ?? gateWhy(result.gate) ?? clientImpactWhy(result.clientImpact);
  return why === undefined ? undefined : why + rollbackNote(result);
}

function clientImpactWhy(impact: ClientImpactOutcome | undefined): string | undefined {
  return impact && !impact.passed ? `client-impact gate failed: ${impact.detail}` : undefined;
}

/** What `onGateFailure: "downgrade"` did about a failed gate: rolled back, or why not. */
function rollbackNote(r: ReleaseResult): string {
  if (r.rolledBack) {
    return `; rolled back from ${r.rolledBack.from} to ${r.rolledBack.to} (the next up leaves this host alone until the declaration changes or retryAfterRollback is set)`;
  }
  return r.rollbackRefused ? `; not rolled back: ${r.rollbackRefused}` : "";
}

/** Judges the members of batches 1..`batch` against `maxFailures`. */
export function judgeRollout(
  fleet: string,
  batch: number,
  batchCount: number,
  members: GateMember[],
  maxFailures: number,
): GateVerdict {
  const failed = members
    .filter((m) => m.batch <= batch)
    .map((m) => ({ name: m.name, batch: m.batch, why: failureOf(m.result)?.replace(/\s*\n\s*/g, " / ") }))
    .filter((f): f is { name: string; batch: number; why: string } => f.why !== undefined);
  const halt = failed.length > maxFailures;
  const list = failed.map((f) => `  ${f.name} (batch ${f.batch}): ${f.why}`).join("\n");
  const rest = batchCount - batch;
  const message = halt
    ? `${fleet}: rollout halted after batch ${batch} of ${batchCount}: ${failed.length} failed host(s), more than maxFailures ${maxFailures}:\n${list}\n` +
      `${rest} later batch(es) were not started. Fix the failed hosts and run \`pulumi up\` again: hosts already at the target are left as they are, the failed ones are retried.`
    : failed.length > 0
      ? `${fleet}: batch ${batch} of ${batchCount} done with ${failed.length} failed host(s), within maxFailures ${maxFailures}:\n${list}`
      : `${fleet}: batch ${batch} of ${batchCount} done, every host healthy`;
  return { failed, halt, message };
}
