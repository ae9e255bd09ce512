// The resource's input shapes as the provider receives them (plain values, secrets unwrapped),
// and the one function that applies every default.
import { CONNECTION_DEFAULTS, ConnectionInputs, resolveTarget, SshTarget } from "./connection";
import { HealthGateInputs, ResolvedHealthGate, resolveHealthGate } from "./health-gate";

/** Client-impact gate: the node's clients before and after a hot upgrade (plan/client-impact). */
export interface ClientImpactInputs {
  deadlineSeconds?: number;
  maxConnectionDropPercent?: number;
  maxShutdownGrowthPercent?: number;
  requireSamePlugins?: boolean;
  probe?: boolean | { host?: string; port?: number };
}

/** EmqxRelease inputs as the provider receives them. */
export interface ReleaseInputs {
  connection: ConnectionInputs;
  version: string;
  /** One of packagePath and packageUrl (plan/package-source.ts). */
  packagePath?: string;
  packageUrl?: string;
  /** Request headers of the download (secrets). */
  packageHeaders?: Record<string, string>;
  packageProxy?: string;
  edition?: "ce" | "ee";
  packageSha256?: string;
  permanent?: boolean;
  emqxPath?: string;
  runAs?: string;
  allowDowngrade?: boolean;
  uninstallPrevious?: boolean;
  commandTimeoutMs?: number;
  upgradeTimeoutMs?: number;
  healthGate?: HealthGateInputs;
  clientImpact?: ClientImpactInputs;
  onGateFailure?: "halt" | "downgrade";
  retryAfterRollback?: boolean;
}

/** Defaults, named so docs, code and tests agree. */
export const DEFAULTS = {
  ...CONNECTION_DEFAULTS,
  permanent: true,
  emqxPath: "emqx",
  allowDowngrade: false,
  uninstallPrevious: false,
  commandTimeoutMs: 60_000,
  // EMQX's escript gives every RPC 300 s (docs/emqx-4.4-hot-upgrade.md §2.1); ours must outlast it to see its answer.
  upgradeTimeoutMs: 600_000,
  // EMQX promises "most" clients (docs/emqx-4.4-observability.md §1): tolerant by default.
  clientImpactDeadlineSeconds: 60,
  maxConnectionDropPercent: 10,
  maxShutdownGrowthPercent: 10,
  requireSamePlugins: true,
  // EMQX 4.4's internal listener: anonymous clients, loopback only (docs/emqx-4.4-observability.md §4).
  probeHost: "127.0.0.1",
  probePort: 11883,
  onGateFailure: "halt",
} as const;

/** Inputs with every default applied: the only shape the rest of the provider reads. */
export interface ResolvedRelease {
  target: SshTarget;
  version: string;
  /** Exactly one of packagePath and packageUrl is set. */
  packagePath?: string;
  packageUrl?: string;
  packageHeaders?: Record<string, string>;
  packageProxy?: string;
  edition?: "ce" | "ee";
  packageSha256?: string;
  permanent: boolean;
  emqxPath: string;
  runAs?: string;
  /** connection.sudoPassword (the target's, never the bastion's). */
  sudoPassword?: string;
  allowDowngrade: boolean;
  uninstallPrevious: boolean;
  commandTimeoutMs: number;
  upgradeTimeoutMs: number;
  healthGate?: ResolvedHealthGate;
  clientImpact?: {
    deadlineSeconds: number;
    maxConnectionDropPercent: number;
    maxShutdownGrowthPercent: number;
    requireSamePlugins: boolean;
    probe?: { host: string; port: number };
  };
  onGateFailure: "halt" | "downgrade";
}

/** Applies every default. `pinned` carries the fingerprints recorded on first contact (state),
 * used only when neither hostKey nor knownHosts is given. */
export function resolveInputs(i: ReleaseInputs, pinned?: { target?: string; proxy?: string }): ResolvedRelease {
  const commandTimeoutMs = i.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
  const c = i.connection;
  return {
    target: resolveTarget(c, commandTimeoutMs, pinned),
    version: i.version,
    packagePath: i.packagePath,
    packageUrl: i.packageUrl,
    packageHeaders: i.packageHeaders,
    packageProxy: i.packageProxy,
    edition: i.edition,
    packageSha256: i.packageSha256?.toLowerCase(),
    permanent: i.permanent ?? DEFAULTS.permanent,
    emqxPath: i.emqxPath ?? DEFAULTS.emqxPath,
    runAs: i.runAs,
    sudoPassword: c.sudoPassword,
    allowDowngrade: i.allowDowngrade ?? DEFAULTS.allowDowngrade,
    uninstallPrevious: i.uninstallPrevious ?? DEFAULTS.uninstallPrevious,
    commandTimeoutMs,
    upgradeTimeoutMs: i.upgradeTimeoutMs ?? DEFAULTS.upgradeTimeoutMs,
    healthGate: resolveHealthGate(i.healthGate),
    ...resolveClientImpact(i),
  };
}

/** The client-impact gate and what a failed gate does, defaults applied. */
function resolveClientImpact(i: ReleaseInputs): Pick<ResolvedRelease, "clientImpact" | "onGateFailure"> {
  const c = i.clientImpact;
  return {
    clientImpact: c
      ? {
          deadlineSeconds: c.deadlineSeconds ?? DEFAULTS.clientImpactDeadlineSeconds,
          maxConnectionDropPercent: c.maxConnectionDropPercent ?? DEFAULTS.maxConnectionDropPercent,
          maxShutdownGrowthPercent: c.maxShutdownGrowthPercent ?? DEFAULTS.maxShutdownGrowthPercent,
          requireSamePlugins: c.requireSamePlugins ?? DEFAULTS.requireSamePlugins,
          probe: c.probe
            ? { host: DEFAULTS.probeHost, port: DEFAULTS.probePort, ...(c.probe === true ? {} : c.probe) }
            : undefined,
        }
      : undefined,
    onGateFailure: i.onGateFailure ?? DEFAULTS.onGateFailure,
  };
}
