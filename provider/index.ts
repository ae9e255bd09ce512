// The one public entry point of pulumi-emqx-release.
export { EmqxRelease, EmqxReleaseArgs, ConnectionArgs, InstalledVersion } from "./pulumi/release";
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
  HostLockedError,
} from "./errors";
