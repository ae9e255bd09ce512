// The `lastResult` output of an EmqxRelease: what its last create/update did on the node. The
// fleet's gates read it; `diff` retries a host whose last result failed.
import type { ClientImpactOutcome } from "./client-impact";

/** The health gate's outcome as recorded in outputs (the gate's inputs: plan/health-gate.ts). */
export interface HealthGateOutcome {
  passed: boolean;
  durationMs: number;
  attempts: number;
  /** What passed, or what was wrong at the last attempt: e.g. "node reports 4.4.0, not 4.4.16". */
  detail: string;
}

/** What the last create/update did. */
export interface ReleaseResult {
  /** upgrade, downgrade, make-permanent, adopt, revert; "none" when it failed before deciding. */
  action: string;
  fromVersion: string;
  toVersion: string;
  /** What the node runs afterwards, as read from it ("" when it could not be read). */
  version: string;
  durationMs: number;
  finishedAt: string;
  gate?: HealthGateOutcome;
  /** Set when the operation failed; the host is then retried by the next `up`. */
  error?: string;
  /** The client-impact gate's outcome, when the release declares one. */
  clientImpact?: ClientImpactOutcome;
  /** A gate failed right after the upgrade and `onGateFailure: "downgrade"` took the node back. */
  rolledBack?: RolledBack;
  /** `onGateFailure: "downgrade"` was asked for but could not be done: why. */
  rollbackRefused?: string;
}

/** The automatic downgrade after a failed gate. */
export interface RolledBack {
  /** The release the failed upgrade installed. */
  from: string;
  /** The release the node runs again. */
  to: string;
  durationMs: number;
}

/** True when the result asks for another attempt: an error, or a health gate that did not pass. */
export function resultFailed(result: unknown): boolean {
  if (!result || typeof result !== "object") return false;
  const r = result as Partial<ReleaseResult>;
  return (
    typeof r.error === "string" || (r.gate !== undefined && r.gate.passed === false) || r.clientImpact?.passed === false
  );
}

/** True when the last result rolled the node back: the next `up` leaves it alone unless the
 * declaration changed or `retryAfterRollback` is set (plan/diff). */
export function resultRolledBack(result: unknown): boolean {
  return !!result && typeof result === "object" && (result as Partial<ReleaseResult>).rolledBack !== undefined;
}
