// The one public entry point of pulumi-emqx-release.
export {
  EmqxRelease,
  EmqxReleaseArgs,
  ConnectionArgs,
  InstalledVersion,
  HealthGateArgs,
  ClientImpactArgs,
  ReleaseResultOutput,
} from "./pulumi/release";
export {
  EmqxFleet,
  EmqxFleetArgs,
  FleetHostArgs,
  FleetRolloutArgs,
  FleetPlanEntry,
  FleetResultEntry,
} from "./pulumi/fleet";
export { EmqxRolloutGate } from "./pulumi/rollout-gate";
export { EmqxReleaseProvider } from "./pulumi/release-provider";
export {
  EmqxProviderError,
  SshConnectError,
  RemoteCommandError,
  EmqxOutputParseError,
  UnsupportedUpgradeError,
  InvalidInputError,
  PackageError,
  HostStateError,
  NodeChangedError,
  HostLockedError,
  RolloutHaltedError,
} from "./errors";
