// The `lastResult` output of an EmqxRelease: what its last create/update did on the node. The
// fleet's gates read it; `diff` retries a host whose last result failed.

/** The health gate's outcome as recorded in outputs. */
export interface HealthGateOutcome {
  passed: boolean;
  durationMs: number;
  attempts: number;
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
}

/** True when the result asks for another attempt: an error, or a health gate that did not pass. */
export function resultFailed(result: unknown): boolean {
  if (!result || typeof result !== "object") return false;
  const r = result as Partial<ReleaseResult>;
  return typeof r.error === "string" || (r.gate !== undefined && r.gate.passed === false);
}
