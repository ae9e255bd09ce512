// create/update on one node: lock, read, refuse before any write, upload, run EMQX, verify.
// Every refusal happens before the first byte is written; after that, an error says what the
// node runs now.
import { EmqxProviderError, HostStateError, UnsupportedUpgradeError } from "../errors";
import { matchesEmqxZipGlob } from "../plan/package-name";
import type { ResolvedRelease } from "../plan/inputs";
import { InstalledRelease, PackageFacts, PlanAction, planRelease, runningVersion } from "../plan/upgrade-plan";
import type { HostFacts } from "../plan/host-facts";
import type { HealthGateOutcome } from "../plan/release-result";
import { EmqxCli, hasCtlCommand } from "./cli";
import { runHealthGate } from "./health-gate";
import { acquireHostLock } from "./host-lock";

/** Sends the package into `<remoteDir>/<finalName>` (verified, skipped when already there). */
export type PackageUploader = (f: { remoteDir: string; finalName: string; runAs?: string }) => Promise<{ skipped: boolean; bytesSent: number }>;

/** The package as check described it. */
export interface LocalPackage extends PackageFacts {
  path: string;
  sha256: string;
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
}

/** Collaborators: the CLI on the node, the uploader, a progress logger. */
export interface ApplyContext {
  cli: EmqxCli;
  upload: PackageUploader;
  log: (line: string) => void;
  who: string;
}

/** Reads what the node runs now: root, releases, facts. No side effect. */
export async function readNodeState(cli: EmqxCli): Promise<NodeState> {
  const rootDir = await cli.rootDir();
  const installed = await cli.versions();
  const running = runningVersion(installed);
  if (!running) throw new HostStateError({ host: cli.host, reason: "`emqx versions` lists no permanent or current release: check the node by hand" });
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

/** Applies the declared release to the node. */
export async function applyRelease(ctx: ApplyContext, want: ResolvedRelease, pkg: LocalPackage): Promise<ApplyOutcome> {
  const { cli, log } = ctx;
  const host = cli.host;
  log("read node");
  const rootDir = await cli.rootDir();
  const lock = await acquireHostLock(cli, rootDir, {
    operation: "upgrade",
    version: want.version,
    who: ctx.who,
    holdMs: want.upgradeTimeoutMs + 20 * want.commandTimeoutMs,
  });
  try {
    const installed = await cli.versions();
    const running = runningVersion(installed);
    if (!running) throw new HostStateError({ host, reason: "`emqx versions` lists no permanent or current release: check the node by hand" });
    const probe = await cli.probe(rootDir, running);
    const decided = planRelease({ target: want.version, permanent: want.permanent, allowDowngrade: want.allowDowngrade, running, installed, facts: probe.facts, pkg, edition: want.edition }, host);
    if ("refusals" in decided) {
      throw new UnsupportedUpgradeError({ from: running, to: want.version, host, property: decided.refusals[0].property, reason: decided.refusals.map((r) => r.reason).join("; ") + "; nothing was changed" });
    }
    const action = decided.action;
    if (action.kind === "adopt") {
      log(`already at ${want.version}: adopting, nothing to do`);
      const gate = await healthGate(ctx, want, probe.facts.binScriptsVersion);
      return { ...stateOf(rootDir, installed, probe.facts), action: "adopt", bytesSent: 0, gate };
    }
    if (action.kind === "revert") {
      log(`revert: ${running} was installed with --no-permanent and ${want.version} is still permanent: restarting the node so it boots ${want.version} (MQTT clients reconnect)`);
      await cli.restart();
      log("verify");
      const after = await verifyNode(cli, rootDir, want.version, true);
      const gate = await healthGate(ctx, want, after.facts.binScriptsVersion);
      return { ...stateOf(rootDir, after.installed, after.facts), action: "revert", previousVersion: running, bytesSent: 0, gate };
    }
    const targetStatus = installed.find((r) => r.version === want.version)?.status;
    let bytesSent = 0;
    if (targetStatus === undefined || targetStatus === "unpacked") {
      const others = probe.releaseFiles.filter((f) => matchesEmqxZipGlob(f, want.version) && f !== pkg.name.fileName);
      if (others.length > 0) {
        throw new HostStateError({
          host,
          reason: `${rootDir}/releases holds ${others.join(", ")}, which EMQX's glob emqx-*${want.version}*.zip also matches; EMQX would unpack the last one in sort order, not ${pkg.name.fileName}. This provider does not delete files it did not upload: move those files out of releases/ (or run \`emqx uninstall\` for releases you no longer need) and rerun; nothing was changed`,
        });
      }
      log("upload");
      const up = await ctx.upload({ remoteDir: `${rootDir}/releases`, finalName: pkg.name.fileName, runAs: want.runAs });
      bytesSent = up.bytesSent;
      log(up.skipped ? "upload skipped: identical package already on the host" : `uploaded ${up.bytesSent} bytes`);
    }
    const command = action.kind === "make-permanent" ? "install" : action.kind;
    log(`${command} ${want.version}${action.kind !== "make-permanent" && !action.permanent ? " --no-permanent" : ""}`);
    await cli.releaseCommand(command, want.version, action.kind === "make-permanent" ? true : action.permanent);

    log("verify");
    const after = await verifyNode(cli, rootDir, want.version, want.permanent);
    let finalInstalled = after.installed;
    if (want.uninstallPrevious) {
      for (const old of finalInstalled.filter((r) => r.status === "old")) {
        log(`uninstall ${old.version}`);
        await cli.releaseCommand("uninstall", old.version);
      }
      finalInstalled = await cli.versions();
    }
    const gate = await healthGate(ctx, want, after.facts.binScriptsVersion);
    return { ...stateOf(rootDir, finalInstalled, after.facts), action: action.kind, previousVersion: running, bytesSent, gate };
  } catch (e) {
    throw await withNodeState(cli, e);
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Runs the release's health gate (if it declares one) on the node it just changed or adopted. */
async function healthGate(ctx: ApplyContext, want: ResolvedRelease, binScriptsVersion: string): Promise<HealthGateOutcome | undefined> {
  if (!want.healthGate) return undefined;
  ctx.log("health gate");
  const r = await runHealthGate(ctx.cli, { version: want.version, binScriptsVersion, ...want.healthGate }, ctx.log);
  return { passed: r.passed, durationMs: r.durationMs, attempts: r.attempts, detail: r.detail };
}

/** Checks the node really switched: `emqx versions`, the node's own report, and after a
 * permanent change the last REL_VSN of releases/emqx_vars (catches a half-done permafy). */
export async function verifyNode(cli: EmqxCli, rootDir: string, version: string, permanent: boolean): Promise<{ installed: InstalledRelease[]; facts: HostFacts }> {
  const host = cli.host;
  const installed = await cli.versions();
  const status = installed.find((r) => r.version === version)?.status;
  const wanted = permanent ? ["permanent"] : ["current", "permanent"];
  if (!status || !wanted.includes(status) || runningVersion(installed) !== version) {
    throw new HostStateError({ host, reason: `after the upgrade \`emqx versions\` shows ${describe(installed)}, not ${version} ${permanent ? "permanent" : "current"}: check the node and the EMQX log` });
  }
  const probe = await cli.probe(rootDir, version);
  if (hasCtlCommand(probe.facts.binScriptsVersion)) {
    const st = await cli.ctlStatus(probe.facts.binScriptsVersion);
    if (st.version !== version) {
      throw new HostStateError({ host, reason: `the node reports ${st.version} (\`emqx ctl status\`) although release_handler lists ${version}: the relup did not reload emqx_app; check the EMQX log` });
    }
  }
  if (permanent) {
    const last = probe.relVsnHistory[probe.relVsnHistory.length - 1];
    if (last !== version) {
      throw new HostStateError({ host, reason: `${version} is permanent but the last REL_VSN in ${rootDir}/releases/emqx_vars is ${JSON.stringify(last ?? "")}: a half-done permafy; the bin scripts and emqx_vars were not updated (copy bin/<script>-${version} over bin/<script> and append REL_VSN="${version}" to emqx_vars)` });
    }
  }
  return { installed, facts: probe.facts };
}

/** Adds what the node runs now to an error raised after the lock was taken (best effort). */
async function withNodeState(cli: EmqxCli, e: unknown): Promise<unknown> {
  if (!EmqxProviderError.isInstance(e) || e.name === "UnsupportedUpgradeError" || e.name === "HostStateError" && /nothing was changed/.test(e.message)) return e;
  try {
    const now = await cli.versions();
    e.message += `\nthe node now lists: ${describe(now)}`;
  } catch {
    e.message += "\nthe node's state could not be read afterwards: check `emqx versions` on the host";
  }
  return e;
}

function describe(installed: InstalledRelease[]): string {
  return installed.map((r) => `${r.version} ${r.status}`).join(", ") || "no release";
}
