// create/update on one node: lock, read, refuse before any write, upload, run EMQX, verify.
// Every refusal happens before the first byte is written; after that, an error says what the
// node runs now.
import type { Duplex } from "stream";
import {
  describeInstalled,
  EmqxProviderError,
  HostStateError,
  isRefusal,
  NodeChangedError,
  recordNodeState,
  UnsupportedUpgradeError,
} from "../errors";
import { stripHostPrefix } from "../plan/host-prefix";
import { matchesEmqxZipGlob } from "../plan/package-name";
import type { ResolvedRelease } from "../plan/inputs";
import { InstalledRelease, PackageFacts, PlanAction, runningVersion } from "../plan/upgrade-plan";
import type { HostFacts } from "../plan/host-facts";
import { preflightRefusals } from "../plan/preflight";
import type { ClientImpactOutcome } from "../plan/client-impact";
import type { HealthGateOutcome, RolledBack } from "../plan/release-result";
import { uninstallPreviousRefusal } from "../plan/uninstall-previous";
import { EmqxCli } from "./cli";
import { decideOrRefuse } from "./decide-release";
import { hasCtlCommand } from "../plan/version";
import { ImpactBefore, readBefore, runClientImpactGate } from "./client-impact";
import { runHealthGate } from "./health-gate";
import { acquireHostLock, CLEAR_LOCK_ENV, HostLock, LOCK_DIR_NAME, PGID_FILE } from "./host-lock";
import type { ProbeResult } from "./host-probe";
import { rollBackAfterFailedGate } from "./rollback";
import { removeNewUntarDirs } from "./untar-cleanup";

/** Sends the package into `<remoteDir>/<finalName>` (verified, skipped when already there) and logs
 * what it did. */
export type PackageUploader = (f: {
  remoteDir: string;
  finalName: string;
  runAs?: string;
  /** The download tools the node has (host probe), for a package the node fetches itself. */
  downloaders: Array<"curl" | "wget">;
}) => Promise<{ skipped: boolean; bytesSent: number }>;

/** The package as check described it. */
export interface LocalPackage extends PackageFacts {
  /** The local path, or the URL the node downloads it from. */
  path: string;
  sha256: string;
  /** Size of the zip; with `uncompressedBytes`, what the free-space check needs (skipped when unknown). */
  sizeBytes?: number;
  /** Sum of the zip's uncompressed entries (provider/package/read-package). */
  uncompressedBytes?: number;
}

/** What the node runs, as recorded in outputs. */
export interface NodeState {
  rootDir: string;
  installedVersions: InstalledRelease[];
  currentVersion: string;
  permanentVersion: string;
  hostFacts: HostFacts;
}

/** The result of applying a release. */
export interface ApplyOutcome extends NodeState {
  action: PlanAction["kind"];
  previousVersion?: string;
  bytesSent: number;
  /** The health gate's outcome, when the release declares one. */
  gate?: HealthGateOutcome;
  /** The client-impact gate's outcome and the rollback, when the release declares them. */
  clientImpact?: ClientImpactOutcome;
  rolledBack?: RolledBack;
  rollbackRefused?: string;
}

/** Collaborators: the CLI on the node, the uploader, a progress logger, and a way to reach the
 * node again when the connection is lost (to release the host lock). */
export interface ApplyContext {
  cli: EmqxCli;
  reconnect?: () => Promise<{ cli: EmqxCli; close(): Promise<void> }>;
  upload: PackageUploader;
  log: (line: string) => void;
  who: string;
  /** A TCP channel to host:port on the node, through the SSH connection (the client-impact probe). */
  forward?: (host: string, port: number) => Promise<Duplex>;
}

/** Reads what the node runs now: root, releases, facts. No side effect. */
export async function readNodeState(cli: EmqxCli): Promise<NodeState> {
  const rootDir = await cli.rootDir();
  const installed = await cli.versions();
  const running = runningVersion(installed);
  if (!running)
    throw new HostStateError({
      host: cli.host,
      reason: "`emqx versions` lists no permanent or current release: check the node by hand",
    });
  const probe = await cli.probe(rootDir, running);
  return stateOf(rootDir, installed, probe.facts);
}

function stateOf(rootDir: string, installed: InstalledRelease[], facts: HostFacts): NodeState {
  return {
    rootDir,
    installedVersions: installed,
    currentVersion: runningVersion(installed) as string,
    permanentVersion: installed.find((r) => r.status === "permanent")?.version ?? "",
    hostFacts: facts,
  };
}

/** What an operation has done so far: it decides what an error says and whether the lock stays. */
interface Progress {
  /** An EMQX command that changes the node was sent: from then on a lost connection leaves the
   * lock in place, since that command may still run on the node. */
  changing: boolean;
  /** The first byte was written (the upload, or a revert's restart): from then on every error, a
   * refusal too (sudo refusing the health gate's command), says what the node lists now. */
  wrote: boolean;
  /** The release command that timed out, if one did: the lock then stays. */
  keepLock?: string;
  /** The client-impact gate's "before"; its probe client is ended when the operation ends. */
  impactBefore?: ImpactBefore;
}

/** The node as read under the lock, before anything is written, and what the plan decided. */
interface NodeBefore {
  rootDir: string;
  running: string;
  installed: InstalledRelease[];
  probe: ProbeResult;
  /** The target is not unpacked on the node yet: the package is uploaded and unpacked. */
  unpacks: boolean;
}

/** Applies the declared release to the node: lock, read, refuse before any write, then the action
 * the plan decided (adopt, revert, or a hot change: upgrade, downgrade, make-permanent). */
export async function applyRelease(ctx: ApplyContext, want: ResolvedRelease, pkg: LocalPackage): Promise<ApplyOutcome> {
  const { cli, log } = ctx;
  log("read node");
  const rootDir = await cli.rootDir();
  const lock = await acquireHostLock(cli, rootDir, {
    operation: "upgrade",
    version: want.version,
    who: ctx.who,
    holdMs: want.upgradeTimeoutMs + 20 * want.commandTimeoutMs,
  });
  const progress: Progress = { changing: false, wrote: false };
  try {
    const { node, action } = await readAndDecide(ctx, want, pkg, rootDir);
    if (action.kind === "adopt") return await adopt(ctx, want, node);
    if (action.kind === "revert") return await revert(ctx, want, node, progress);
    return await hotChange(ctx, want, pkg, node, action, progress);
  } catch (e) {
    // A refusal before the first write changed nothing and says so; anything else gets what the
    // node lists now (best effort).
    if (EmqxProviderError.isInstance(e) && (progress.wrote || !isRefusal(e)))
      recordNodeState(e, await cli.versions().catch(() => null));
    throw e;
  } finally {
    await progress.impactBefore?.probe?.end();
    if (progress.keepLock)
      ctx.log(
        `${progress.keepLock} timed out while EMQX may still be switching: the host lock ${lock.owner.id} stays until someone checks the node (\`emqx versions\`), then sets ${CLEAR_LOCK_ENV}=${lock.owner.id} for the next run`,
      );
    else await releaseLock(ctx, lock, progress.changing);
  }
}

/** Reads the node (releases, probe), decides the action and runs the pre-flight checks: every
 * refusal happens here, before anything is written. */
async function readAndDecide(
  ctx: ApplyContext,
  want: ResolvedRelease,
  pkg: LocalPackage,
  rootDir: string,
): Promise<{ node: NodeBefore; action: PlanAction }> {
  const { cli, log } = ctx;
  const host = cli.host;
  const installed = await cli.versions();
  const running = runningVersion(installed);
  if (!running)
    throw new HostStateError({
      host,
      reason: "`emqx versions` lists no permanent or current release: check the node by hand",
    });
  const probe = await cli.probe(rootDir, running, want.version);
  const action = decideOrRefuse(
    {
      target: want.version,
      permanent: want.permanent,
      allowDowngrade: want.allowDowngrade,
      running,
      installed,
      facts: probe.facts,
      pkg: { ...pkg, property: want.packageUrl !== undefined ? "packageUrl" : "packagePath" },
      edition: want.edition,
    },
    host,
    "; nothing was changed",
  );
  const targetStatus = installed.find((r) => r.version === want.version)?.status;
  const unpacks = targetStatus === undefined || targetStatus === "unpacked";
  if (action.kind !== "adopt") log("pre-flight");
  preflight(host, running, want, action, probe, { rootDir, installed, unpacks, pkg });
  return { node: { rootDir, running, installed, probe, unpacks }, action };
}

/** The node already runs the target as declared: nothing to change; the health gate still runs. */
async function adopt(ctx: ApplyContext, want: ResolvedRelease, node: NodeBefore): Promise<ApplyOutcome> {
  ctx.log(`already at ${want.version}: adopting, nothing to do`);
  const gate = await healthGate(ctx, want, node.probe.facts.binScriptsVersion);
  return { ...stateOf(node.rootDir, node.installed, node.probe.facts), action: "adopt", bytesSent: 0, gate };
}

/** The node runs a --no-permanent release and the target is still permanent: restart it, so it
 * boots the target (docs/emqx-4.4-hot-upgrade.md §4). */
async function revert(
  ctx: ApplyContext,
  want: ResolvedRelease,
  node: NodeBefore,
  progress: Progress,
): Promise<ApplyOutcome> {
  const { cli, log } = ctx;
  log(
    `revert: ${node.running} was installed with --no-permanent and ${want.version} is still permanent: restarting the node so it boots ${want.version} (MQTT clients reconnect)`,
  );
  progress.changing = progress.wrote = true;
  await cli.restart();
  log("verify");
  const after = await verifyNode(cli, node.rootDir, want.version, true);
  const gate = await healthGate(ctx, want, after.facts.binScriptsVersion);
  return {
    ...stateOf(node.rootDir, after.installed, after.facts),
    action: "revert",
    previousVersion: node.running,
    bytesSent: 0,
    gate,
  };
}

/** upgrade, downgrade or make-permanent (`emqx install`): upload when the target is not unpacked,
 * run the release command, verify, run the gates (rolling back when they fail and it is asked
 * for), then uninstall the previous release when asked. */
async function hotChange(
  ctx: ApplyContext,
  want: ResolvedRelease,
  pkg: LocalPackage,
  node: NodeBefore,
  action: Exclude<PlanAction, { kind: "adopt" | "revert" }>,
  progress: Progress,
): Promise<ApplyOutcome> {
  const { cli, log } = ctx;
  const { rootDir, running, probe } = node;
  const bytesSent = node.unpacks ? await uploadPackage(ctx, want, pkg, node, progress) : 0;
  // The client-impact gate's "before", read right before the hot code change.
  const impactSpec =
    want.clientImpact && (action.kind === "upgrade" || action.kind === "downgrade")
      ? { ...want.clientImpact, binScriptsVersion: probe.facts.binScriptsVersion }
      : undefined;
  progress.impactBefore = impactSpec ? await readBefore(cli, impactSpec, log, ctx.forward) : undefined;
  await runReleaseCommand(ctx, want, pkg, node, action, progress);

  log("verify");
  const permanentChange = action.kind === "make-permanent" || action.permanent;
  const after = await verifyNode(cli, rootDir, want.version, want.permanent, { binScripts: permanentChange });
  // Gates before uninstallPrevious: a failed gate may need the previous release to go back to.
  const gate = await healthGate(ctx, want, after.facts.binScriptsVersion);
  const clientImpact =
    impactSpec && progress.impactBefore
      ? await runClientImpactGate(cli, impactSpec, progress.impactBefore, log)
      : undefined;
  const outcome = { action: action.kind, previousVersion: running, bytesSent, gate, clientImpact };
  if ((gate && !gate.passed) || (clientImpact && !clientImpact.passed)) {
    const rb = await rollBackAfterFailedGate(ctx, want, {
      rootDir,
      action: action.kind,
      from: want.version,
      to: running,
      installed: after.installed,
      facts: after.facts,
    });
    const state = rb.after
      ? stateOf(rootDir, rb.after.installed, rb.after.facts)
      : stateOf(rootDir, after.installed, after.facts);
    if (want.uninstallPrevious) log("uninstallPrevious skipped: a gate failed");
    return { ...state, ...outcome, rolledBack: rb.rolledBack, rollbackRefused: rb.rollbackRefused };
  }
  const installed = want.uninstallPrevious ? await uninstallPrevious(ctx, want, node, action, after) : after.installed;
  return { ...stateOf(rootDir, installed, after.facts), ...outcome };
}

/** Uploads the package into releases/ (verified), after refusing other zips there that EMQX's glob
 * would pick instead. Returns the bytes sent. */
async function uploadPackage(
  ctx: ApplyContext,
  want: ResolvedRelease,
  pkg: LocalPackage,
  node: NodeBefore,
  progress: Progress,
): Promise<number> {
  const { rootDir, probe } = node;
  const others = probe.releaseFiles.filter((f) => matchesEmqxZipGlob(f, want.version) && f !== pkg.name.fileName);
  if (others.length > 0) {
    throw new HostStateError({
      host: ctx.cli.host,
      reason: `${rootDir}/releases holds ${others.join(", ")}, which EMQX's glob emqx-*${want.version}*.zip also matches; EMQX would unpack the last one in sort order, not ${pkg.name.fileName}. This provider does not delete files it did not upload: move those files out of releases/ (or run \`emqx uninstall\` for releases you no longer need) and rerun; nothing was changed`,
    });
  }
  ctx.log("upload");
  progress.wrote = true;
  const up = await ctx.upload({
    remoteDir: `${rootDir}/releases`,
    finalName: pkg.name.fileName,
    runAs: want.runAs ?? uploadOwner(ctx.cli, probe),
    downloaders: probe.downloaders,
  });
  // The uploader logs what it did (sent, or skipped as already there): once, not here again.
  return up.bytesSent;
}

/** `emqx upgrade|downgrade [--no-permanent] <V>` or `emqx install <V>` (make-permanent), recording
 * its process group under the lock; then removes what the unpack left in /tmp. */
async function runReleaseCommand(
  ctx: ApplyContext,
  want: ResolvedRelease,
  pkg: LocalPackage,
  node: NodeBefore,
  action: Exclude<PlanAction, { kind: "adopt" | "revert" }>,
  progress: Progress,
): Promise<void> {
  const command = action.kind === "make-permanent" ? "install" : action.kind;
  const permanent = action.kind === "make-permanent" ? true : action.permanent;
  ctx.log(`${command} ${want.version}${permanent ? "" : " --no-permanent"}`);
  try {
    progress.changing = progress.wrote = true;
    await ctx.cli.releaseCommand(command, want.version, permanent, `${node.rootDir}/${LOCK_DIR_NAME}/${PGID_FILE}`);
  } catch (e) {
    // Timed out: release_handler may still be switching inside the node; the lock stays.
    if ((e as { timedOut?: unknown }).timedOut === true) progress.keepLock = `\`emqx ${command} ${want.version}\``;
    throw e;
  } finally {
    if (node.unpacks) await cleanUp(ctx, node.probe.untarDirs, pkg.sha256);
  }
}

/** uninstallPrevious: uninstalls the releases now `old`, unless plan/uninstall-previous refuses
 * (logged). Returns what the node lists afterwards. */
async function uninstallPrevious(
  ctx: ApplyContext,
  want: ResolvedRelease,
  node: NodeBefore,
  action: PlanAction,
  after: { installed: InstalledRelease[]; probe: ProbeResult },
): Promise<InstalledRelease[]> {
  const old = after.installed.filter((r) => r.status === "old").map((r) => r.version);
  const refusal = uninstallPreviousRefusal({
    host: ctx.cli.host,
    action: action.kind,
    from: node.running,
    to: want.version,
    ertsBefore: node.probe.ertsVersion,
    ertsAfter: after.probe.ertsVersion,
    old,
  });
  if (refusal) {
    ctx.log(refusal);
    return after.installed;
  }
  for (const v of old) {
    ctx.log(`uninstall ${v}`);
    await ctx.cli.releaseCommand("uninstall", v);
  }
  return ctx.cli.versions();
}

/** Releases the host lock. When the connection was lost before any EMQX command changed the node
 * (an upload cut off), over a new connection, so that the rerun is not locked out; after such a
 * command the lock stays (the rerun names it and says how to clear it once the node is checked). */
async function releaseLock(ctx: ApplyContext, lock: HostLock, changing: boolean): Promise<void> {
  try {
    await lock.release();
    return;
  } catch {
    // the connection is gone
  }
  if (changing) {
    ctx.log(
      `the connection was lost after an EMQX command was sent: the host lock ${lock.owner.id} stays until someone checks the node`,
    );
    return;
  }
  if (!ctx.reconnect) {
    ctx.log(
      `the connection was lost and the host lock ${lock.owner.id} could not be released: the next run reports it`,
    );
    return;
  }
  try {
    const fresh = await ctx.reconnect();
    try {
      await lock.releaseWith(fresh.cli);
    } finally {
      await fresh.close();
    }
    ctx.log(
      `the connection was lost before EMQX was asked to change anything: host lock ${lock.owner.id} released over a new connection`,
    );
  } catch {
    ctx.log(
      `the connection was lost and the host lock ${lock.owner.id} could not be released: the next run reports it`,
    );
  }
}

/** Refuses, before anything is written, what a careful operator would not start (plan/preflight). */
function preflight(
  host: string,
  running: string,
  want: ResolvedRelease,
  action: PlanAction,
  probe: ProbeResult,
  n: { rootDir: string; installed: InstalledRelease[]; unpacks: boolean; pkg: LocalPackage },
): void {
  const permanentVersion = n.installed.find((r) => r.status === "permanent")?.version ?? "";
  const refusals = preflightRefusals({
    host,
    target: want.version,
    action: action.kind,
    unpacks: n.unpacks,
    permanentVersion,
    targetStatus: n.installed.find((r) => r.version === want.version)?.status,
    binScriptsVersion: probe.facts.binScriptsVersion,
    // The probe compared bin/emqx with bin/emqx-<running>: meaningful when running = permanent.
    binEmqxIsPermanent: running === permanentVersion ? probe.binEmqxIsRunning : undefined,
    description: probe.description,
    rootDir: n.rootDir,
    dataDir: probe.dataDir || `${n.rootDir}/data`,
    hotPatches: probe.hotPatches,
    diskFree: probe.diskFree,
    targetDirFiles: probe.targetDirFiles,
    pkg: { fileName: n.pkg.name.fileName, sizeBytes: n.pkg.sizeBytes, uncompressedBytes: n.pkg.uncompressedBytes },
    download: want.packageUrl !== undefined ? { tools: probe.downloaders } : undefined,
  });
  if (refusals.length === 0) return;
  // Each reason names the host; the error names it once.
  const reason = refusals.map((r) => stripHostPrefix(host, r.reason)).join("; ") + "; nothing was changed";
  if (refusals.some((r) => r.kind === "unsupported"))
    throw new UnsupportedUpgradeError({ from: running, to: want.version, host, reason });
  throw new HostStateError({ host, reason });
}

/** Who must own the upload when `runAs` is not set: EMQX re-runs itself as RUNNER_USER (deb/rpm:
 * `emqx`), which must be able to read it (docs/emqx-4.4-hot-upgrade.md §1.1 step 4, §5.1, Appendix B 5). */
function uploadOwner(cli: EmqxCli, probe: ProbeResult): string | undefined {
  return cli.runsAs === undefined && probe.runnerUser !== undefined && probe.user !== probe.runnerUser
    ? probe.runnerUser
    : undefined;
}

/** Removes the /tmp/emqx_untar_* directory this operation's unpack left (best effort, logged). */
async function cleanUp(ctx: ApplyContext, before: string[], sha256: string): Promise<void> {
  const r = await removeNewUntarDirs(ctx.cli, before, sha256);
  if ("error" in r)
    ctx.log(`cleanup: could not remove EMQX's /tmp/emqx_untar_* directory (${r.error}); delete it by hand`);
  else if (r.removed.length > 0) ctx.log(`cleanup: removed ${r.removed.join(", ")} (left by EMQX's unpack)`);
}

/** Runs the release's health gate (if it declares one) on the node it just changed or adopted. */
async function healthGate(
  ctx: ApplyContext,
  want: ResolvedRelease,
  binScriptsVersion: string,
): Promise<HealthGateOutcome | undefined> {
  if (!want.healthGate) return undefined;
  ctx.log("health gate");
  const r = await runHealthGate(ctx.cli, { version: want.version, binScriptsVersion, ...want.healthGate }, ctx.log);
  return { passed: r.passed, durationMs: r.durationMs, attempts: r.attempts, detail: r.detail };
}

/** Checks the node really switched: `emqx versions`, the node's own report (`ctl status`), and
 * after a permanent change the last REL_VSN of releases/emqx_vars and bin/emqx = bin/emqx-<V>
 * (both catch a half-done permafy, docs/emqx-4.4-hot-upgrade.md §2.7). */
export async function verifyNode(
  cli: EmqxCli,
  rootDir: string,
  version: string,
  permanent: boolean,
  opts: { binScripts?: boolean } = {},
): Promise<{ installed: InstalledRelease[]; facts: HostFacts; probe: ProbeResult }> {
  const host = cli.host;
  const installed = await cli.versions();
  const status = installed.find((r) => r.version === version)?.status;
  const wanted = permanent ? ["permanent"] : ["current", "permanent"];
  if (!status || !wanted.includes(status) || runningVersion(installed) !== version) {
    throw new NodeChangedError({
      host,
      installedVersions: installed,
      reason: `after the upgrade \`emqx versions\` shows ${describeInstalled(installed)}, not ${version} ${permanent ? "permanent" : "current"}: check the node and the EMQX log`,
    });
  }
  const probe = await cli.probe(rootDir, version);
  // `emqx ctl status` from bin scripts 4.4.4 on, `emqx_ctl status` before (cli.ctlStatus picks).
  const st = await cli.ctlStatus(probe.facts.binScriptsVersion);
  if (st.version !== version) {
    throw new NodeChangedError({
      host,
      installedVersions: installed,
      reason: `the node reports ${st.version} (\`${hasCtlCommand(probe.facts.binScriptsVersion) ? "emqx ctl status" : "emqx_ctl status"}\`) although release_handler lists ${version}: the relup did not reload emqx_app; check the EMQX log`,
    });
  }
  const repair = `copy bin/<script>-${version} over bin/<script> for emqx, emqx_ctl, nodetool, cuttlefish and install_upgrade.escript, and append REL_VSN="${version}" to ${rootDir}/releases/emqx_vars if it is not the last REL_VSN (re-running the upgrade cannot repair it)`;
  if (permanent) {
    const last = probe.relVsnHistory[probe.relVsnHistory.length - 1];
    if (last !== version) {
      throw new NodeChangedError({
        host,
        installedVersions: installed,
        reason: `${version} is permanent but the last REL_VSN in ${rootDir}/releases/emqx_vars is ${JSON.stringify(last ?? "")}: a half-done permafy; the bin scripts and emqx_vars were not updated (${repair})`,
      });
    }
  }
  if (permanent && opts.binScripts && probe.binEmqxIsRunning !== true) {
    const what =
      probe.binEmqxIsRunning === false
        ? `${rootDir}/bin/emqx differs from bin/emqx-${version}`
        : `${rootDir}/bin/emqx or bin/emqx-${version} is missing`;
    throw new NodeChangedError({
      host,
      installedVersions: installed,
      reason: `${version} is permanent but ${what}: a half-done permafy; the next CLI call would still run the old scripts (${repair})`,
    });
  }
  return { installed, facts: probe.facts, probe };
}
