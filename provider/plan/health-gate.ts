// The health gate, described once: the inputs a user writes (with their defaults and docs), the
// resolved shape the gate runs with, and the one function that applies the defaults.
// pulumi/release.ts derives HealthGateArgs from HealthGateInputs (each field a pulumi.Input),
// emqx/health-gate.ts runs a ResolvedHealthGate plus the node's facts, and
// test/unit/pulumi/release.types.test.ts fails to compile when the Pulumi args drift from these.

/** Defaults of the health gate's inputs, named so docs, code and tests agree. */
export const HEALTH_GATE_DEFAULTS = {
  deadlineSeconds: 120,
  requireClusterRunning: false,
} as const;

/** The health gate of one node, as a user writes it: checked on the node right after each
 * create/update (also when it adopts a node already at the target). */
export interface HealthGateInputs {
  /** How long the gate may take to pass. @default 120 */
  deadlineSeconds?: number;
  /** A command run on the node (as `runAs`), an argv list, no shell; exit 0 passes.
   * @example ["curl", "-fsS", "http://127.0.0.1:18083/status"] @default none */
  command?: string[];
  /** Every member of the node's cluster must be running (`emqx ctl cluster status`). @default false */
  requireClusterRunning?: boolean;
}

/** The health gate with every default applied: what the gate runs with. */
export interface ResolvedHealthGate {
  /** Give up when the checks have not all passed this long after the first attempt started. An
   * attempt in progress is not interrupted: its EMQX commands are bounded by the CLI's command
   * timeout, the user command by the time left. */
  deadlineSeconds: number;
  /** argv run on the node (as `runAs`, when set) that must exit 0. Never passed through a shell. */
  command?: string[];
  /** Require `stopped_nodes` of `emqx ctl cluster status` to be empty. */
  requireClusterRunning: boolean;
}

/** Applies every default of the health gate; no gate declared, no gate. */
export function resolveHealthGate(g: HealthGateInputs | undefined): ResolvedHealthGate | undefined {
  if (!g) return undefined;
  return {
    deadlineSeconds: g.deadlineSeconds ?? HEALTH_GATE_DEFAULTS.deadlineSeconds,
    command: g.command,
    requireClusterRunning: g.requireClusterRunning ?? HEALTH_GATE_DEFAULTS.requireClusterRunning,
  };
}
