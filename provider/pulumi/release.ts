// EmqxRelease: the declared EMQX 4.4 release of one node, as a Pulumi dynamic resource.
// This module runs in the user's program; only the provider object is serialized into state.
import * as pulumi from "@pulumi/pulumi";
import { CONNECTION_SECRET_FIELDS, type ConnectionInputs } from "../plan/connection";
import type { HealthGateInputs } from "../plan/health-gate";
import type { ReleaseResult } from "../plan/release-result";
import { packageDigest } from "./package-digest";
import { EmqxReleaseProvider } from "./release-provider";
import type { PropertyBag } from "./release-state";

/** One value as a pulumi.Input; a list takes an Input for each element too. `[V]` keeps a union
 * such as `boolean` whole (an Output<boolean> must fit). */
type InputOf<V> = [V] extends [(infer E)[]] ? pulumi.Input<pulumi.Input<E>[]> : pulumi.Input<V>;
/** Every field of `T` as a pulumi.Input; optional fields stay optional and keep their TSDoc. */
type Inputs<T> = { [K in keyof T]: InputOf<Exclude<T[K], undefined>> };

/** How to reach one node over SSH: the fields, defaults and docs of plan/connection.ts
 * `ConnectionInputs`, each a pulumi.Input. Same names as @pulumi/command's `remote.ConnectionArgs`. */
export type ConnectionArgs = Inputs<Omit<ConnectionInputs, "proxy">>;

/** Inputs of EmqxRelease. */
export interface EmqxReleaseArgs {
  /** The node, optionally behind one bastion (`proxy`). Changing host or port replaces the resource. */
  connection: pulumi.Input<ConnectionArgs & { proxy?: pulumi.Input<ConnectionArgs> }>;
  /** EMQX 4.4 version the node must run, e.g. "4.4.16". */
  version: pulumi.Input<string>;
  /** Local path of the package zip, named as EMQX names it
   * (`emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip`, Enterprise `emqx-ee-...`); the runner
   * uploads it to the node. Give this or `packageUrl`. */
  packagePath?: pulumi.Input<string>;
  /** http(s) URL of the package zip, its path ending in the package's name; the node downloads it
   * itself (curl or wget), so the runner sends no package bytes. Needs `packageSha256`. `check`
   * (preview) reads the zip's central directory, `emqx.rel` and `relup` by HTTP range requests.
   * Give this or `packagePath`. A URL with a query string (a presigned URL) is kept secret in state.
   * @example "https://packages.internal/emqx/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip" */
  packageUrl?: pulumi.Input<string>;
  /** Request headers of the download, e.g. `{ Authorization: "Bearer ..." }`: kept secret in state,
   * never in argv on the node or in logs. @default none */
  packageHeaders?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** HTTP proxy the node downloads `packageUrl` through, e.g. "http://proxy.internal:3128".
   * @default the download tool's own (http_proxy/https_proxy of the SSH session) */
  packageProxy?: pulumi.Input<string>;
  /** "ce" or "ee". @default taken from the package name */
  edition?: pulumi.Input<"ce" | "ee">;
  /** Pinned sha256 of the package (also checked against a `<zip>.sha256` file beside a
   * `packagePath`); required with `packageUrl`, where each node checks its download against it.
   * @default not pinned (the sidecar, when present, is still checked) */
  packageSha256?: pulumi.Input<string>;
  /** Make the release permanent (`emqx upgrade`), or keep the old one permanent so a restart
   * reverts (`emqx upgrade --no-permanent`). @default true */
  permanent?: pulumi.Input<boolean>;
  /** The EMQX CLI on the node. @default "emqx" */
  emqxPath?: pulumi.Input<string>;
  /** Run the CLI and own the upload as this user, through `sudo -n -u`. @default the SSH user */
  runAs?: pulumi.Input<string>;
  /** Allow a version lower than the running one (EMQX recommends against it). @default false */
  allowDowngrade?: pulumi.Input<boolean>;
  /** Uninstall releases marked `old` after a successful upgrade. @default false */
  uninstallPrevious?: pulumi.Input<boolean>;
  /** Timeout of each non-upgrade command. @default 60000 */
  commandTimeoutMs?: pulumi.Input<number>;
  /** Timeout of `emqx upgrade`/`downgrade`/`install`; above EMQX's own 300 s RPC timeout. @default 600000 */
  upgradeTimeoutMs?: pulumi.Input<number>;
  /** Checked on the node right after each create/update (also when it adopts a node already at the
   * target): the node reports `version`, `command` succeeds, and with `requireClusterRunning` no
   * member of its cluster is stopped. Polled until `deadlineSeconds`; not passing fails the
   * operation (the node keeps the new release: the next `up` checks again). @default none */
  healthGate?: pulumi.Input<HealthGateArgs>;
  // --- client impact and rollback (docs/emqx-4.4-observability.md) ---
  /** Did the MQTT clients stay connected? Read the node before a hot upgrade or downgrade and after
   * it (`emqx ctl broker stats`, `listeners`, `broker`, `plugins list`) and compare: live
   * connections, each listener's shutdown_count, uptime (a restart), active plugins. Every number
   * is recorded in `lastResult.clientImpact`. A gate that cannot tell by its deadline fails.
   * @default none (not checked) */
  clientImpact?: pulumi.Input<ClientImpactArgs>;
  /** What a failed gate (health or client impact) right after an upgrade does: `"halt"` leaves the
   * node on the new release; `"downgrade"` runs `emqx downgrade <previous>` when the previous
   * release is still installed and the relup covers the way back (else it halts and says why),
   * and records `lastResult.rolledBack`. In an EmqxFleet, a rolled-back node is not upgraded again
   * by the next `up` unless the declaration changes or `retryAfterRollback` is set; a standalone
   * EmqxRelease fails its `up` instead (the state keeps the previous outputs, so a rerun tries
   * again). @default "halt" */
  onGateFailure?: pulumi.Input<"halt" | "downgrade">;
  /** In an EmqxFleet: try a node that was rolled back again, with the same declaration. @default false */
  retryAfterRollback?: pulumi.Input<boolean>;
  /** @internal EmqxFleet: record a failure in `lastResult` instead of failing the resource, so the
   * fleet's gate judges it against maxFailures. */
  __recordFailure?: boolean;
}

/** The health gate of one node: the fields, defaults and docs of plan/health-gate.ts
 * `HealthGateInputs`, each a pulumi.Input. */
export type HealthGateArgs = Inputs<HealthGateInputs>;

/** The client-impact gate of one node. EMQX promises that "most" clients stay connected through a
 * hot upgrade (docs/emqx-4.4-observability.md §1), so the defaults tolerate ordinary churn. */
export interface ClientImpactArgs {
  /** How long the gate may take to tell (it waits 2 s for EMQX's 1 s stats tick first). @default 60 */
  deadlineSeconds?: pulumi.Input<number>;
  /** Live connections (`live_connections.count`) may drop by at most this percentage. @default 10 */
  maxConnectionDropPercent?: pulumi.Input<number>;
  /** Each listener's shutdown_count may grow by at most this percentage of its connections before
   * (at least 1). @default 10 */
  maxShutdownGrowthPercent?: pulumi.Input<number>;
  /** The same plugins must be active after the upgrade. @default true */
  requireSamePlugins?: pulumi.Input<boolean>;
  /** The gate's own MQTT client: opened before the upgrade to an MQTT listener on the node through
   * a forwarded channel of the SSH connection (no port opened; needs sshd's AllowTcpForwarding),
   * kept through the upgrade; the gate fails when that session was closed. `true` is EMQX's
   * internal listener 127.0.0.1:11883 (anonymous clients allowed). @default none (no probe) */
  probe?: pulumi.Input<boolean | { host?: pulumi.Input<string>; port?: pulumi.Input<number> }>;
}

/** What the last create/update did on the node (see `lastResult`): action, from/to version, what
 * the node runs afterwards, duration, health gate, and `error` when it failed inside a fleet. */
export type ReleaseResultOutput = ReleaseResult;

/** One release (one installed version, one `{version, status}` line of `emqx versions`). */
export interface InstalledVersion {
  version: string;
  status: "permanent" | "current" | "old" | "unpacked";
}

// The provider every EmqxRelease carries: Pulumi serializes it into each resource's inputs and
// state, the engine moves that text through every step and writes it into every snapshot it
// saves, so its size is paid per host, per step (BENCHMARKS.md, the preview section). Each method builds an
// EmqxReleaseProvider from its module and calls it: from an installed library Pulumi serializes
// that module as a require() (under 1 KiB), where the class by value was 20 KiB. One object for
// every EmqxRelease: Pulumi caches its serialization by identity. Exported for the benchmark and tests.
export const RELEASE_PROVIDER = {
  check: (olds: PropertyBag, news: PropertyBag) => new EmqxReleaseProvider().check(olds, news),
  diff: (id: string, olds: PropertyBag, news: PropertyBag) => new EmqxReleaseProvider().diff(id, olds, news),
  create: (inputs: PropertyBag) => new EmqxReleaseProvider().create(inputs),
  update: (id: string, olds: PropertyBag, news: PropertyBag) => new EmqxReleaseProvider().update(id, olds, news),
  read: (id: string, props: PropertyBag) => new EmqxReleaseProvider().read(id, props),
  delete: (id: string, props: PropertyBag) => new EmqxReleaseProvider().delete(id, props),
};

/** A packageUrl with a query string (a presigned URL's signature, a token) is a secret in state;
 * a plain URL stays readable in the plan. */
function secretIfSigned(url: pulumi.Input<string>): pulumi.Input<string> {
  const signed = (u: string) => /\?./.test(u);
  if (typeof url === "string") return signed(url) ? pulumi.secret(url) : url;
  return pulumi.output(url).apply((u): pulumi.Output<string> => (signed(u) ? pulumi.secret(u) : pulumi.output(u)));
}

/** Wraps credential fields in pulumi.secret so they are encrypted in state, in inputs and outputs. */
function secretCredentials(conn: EmqxReleaseArgs["connection"]): EmqxReleaseArgs["connection"] {
  if (pulumi.Output.isInstance(conn) || typeof (conn as { then?: unknown }).then === "function")
    return pulumi.secret(conn as pulumi.Input<ConnectionArgs>);
  const c = { ...(conn as ConnectionArgs & { proxy?: pulumi.Input<ConnectionArgs> }) } as Record<string, unknown>;
  for (const k of CONNECTION_SECRET_FIELDS) if (c[k] !== undefined) c[k] = pulumi.secret(c[k] as pulumi.Input<string>);
  if (c.proxy !== undefined) c.proxy = secretCredentials(c.proxy as EmqxReleaseArgs["connection"]);
  return c as unknown as EmqxReleaseArgs["connection"];
}

/** The EMQX 4.4 release one node runs. create/update hot-upgrade it over SSH; `pulumi preview`
 * refuses unsafe changes; `pulumi refresh` shows what the node really runs. */
export class EmqxRelease extends pulumi.dynamic.Resource {
  /** The version the node runs now (its `current` release, else its `permanent` one). */
  public readonly currentVersion!: pulumi.Output<string>;
  /** The version the node boots next time. */
  public readonly permanentVersion!: pulumi.Output<string>;
  /** Every release `emqx versions` lists. */
  public readonly installedVersions!: pulumi.Output<InstalledVersion[]>;
  /** What the node ran before the last change. */
  public readonly previousVersion!: pulumi.Output<string>;
  /** The EMQX install root on the node. */
  public readonly rootDir!: pulumi.Output<string>;
  /** sha256 of the package that was installed. */
  public readonly packageSha256!: pulumi.Output<string>;
  /** SHA256 fingerprint of the node's SSH host key as seen on the last contact. */
  public readonly hostKeyFingerprint!: pulumi.Output<string>;
  /** osId, arch, otpMajor, edition, binScriptsVersion, relupDownTo of the node. */
  public readonly hostFacts!: pulumi.Output<Record<string, unknown>>;
  /** What the last create/update did: upgrade, downgrade, make-permanent or adopt. */
  public readonly lastAction!: pulumi.Output<string>;
  /** The declared version (echoed input). */
  public readonly version!: pulumi.Output<string>;
  /** What the last create/update did: action, from/to version, duration, health gate. */
  public readonly lastResult!: pulumi.Output<ReleaseResultOutput>;

  constructor(name: string, args: EmqxReleaseArgs, opts?: pulumi.CustomResourceOptions) {
    const props: Record<string, unknown> = {
      // Inputs left undefined (a fleet passes every optional one) are dropped: each key of props
      // becomes an output property with its own promises in the program (BENCHMARKS.md, the preview section).
      ...Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)),
      connection: secretCredentials(args.connection),
      ...(args.packageHeaders !== undefined ? { packageHeaders: pulumi.secret(args.packageHeaders) } : {}),
      ...(args.packageUrl !== undefined ? { packageUrl: secretIfSigned(args.packageUrl) } : {}),
      // Hashed here, once per (path, size, mtime) in this process, not once per node in check.
      ...(args.packagePath !== undefined
        ? { __packageDigest: pulumi.output(args.packagePath).apply((p) => packageDigest(p)) }
        : {}),
      currentVersion: undefined,
      permanentVersion: undefined,
      installedVersions: undefined,
      previousVersion: undefined,
      rootDir: undefined,
      hostKeyFingerprint: undefined,
      hostFacts: undefined,
      lastAction: undefined,
      lastResult: undefined,
    };
    if (args.packageSha256 === undefined) props.packageSha256 = undefined;
    super(
      RELEASE_PROVIDER,
      name,
      props,
      {
        ...opts,
        additionalSecretOutputs: [
          ...(opts?.additionalSecretOutputs ?? []),
          "connection",
          "packageHeaders",
          ...(typeof args.packageUrl === "string" && /\?./.test(args.packageUrl) ? ["packageUrl"] : []),
        ],
      },
      "emqx",
      "EmqxRelease",
    );
  }
}
