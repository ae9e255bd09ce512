// The dynamic provider behind EmqxRelease. Plain class (no #private, no instance state): Pulumi
// serializes it by value into state and runs it in its own process. Each method delegates to
// plan/ (rules), emqx/ (CLI on the node) and ssh/ (transport).
// `import x = require()` keeps a plain require, which Pulumi serializes as a module reference;
// `import * as` (__importStar) is copied by value, and @pulumi/pulumi 3.100.0 (the oldest of the
// peer range) then refuses the provider: os.userInfo is native code. test/e2e/package-install.test.ts.
import os = require("os");
import { HostLockedError, InvalidInputError, NodeChangedError, SshConnectError, messageOf } from "../errors";
import { ApplyOutcome, applyRelease, readNodeState, LocalPackage, NodeState } from "../emqx/apply-release";
import { EmqxCli } from "../emqx/cli";
import { refuseFromState } from "../emqx/decide-release";
import { commandOutputWanted } from "../emqx/output-log";
import { uninstallRelease } from "../emqx/uninstall-release";
import { checkReleaseInputs, isUnknown } from "../plan/check-inputs";
import { diffRelease } from "../plan/diff";
import { DEFAULTS, ResolvedRelease, resolveInputs } from "../plan/inputs";
import { parsePackageName } from "../plan/package-name";
import type { ReleaseResult } from "../plan/release-result";
import type { HostFacts } from "../plan/host-facts";
import { connectSsh } from "../ssh/connect";
import type { SshSession } from "../ssh/session";
import { downloadVerified } from "../ssh/download";
import { uploadVerified } from "../ssh/upload";
import { CheckedPackage, checkPackage } from "../package/package-check";
import { checkRemotePackage } from "../package/remote-package";
import type { Refusal } from "../plan/upgrade-plan";
import {
  PropertyBag,
  RecordedState,
  recordedState,
  ReleaseOutputs,
  ReleaseProps,
  releaseProps,
  ReleaseProviderInputs,
  ReleaseState,
} from "./release-state";

/** The provider object; constructible with no arguments so tests can call its methods directly.
 * The engine's bags become typed inputs and state in pulumi/release-state.ts, and only there. */
export class EmqxReleaseProvider {
  /** Test-only: replaces the resolved upgradeTimeoutMs, so a test can watch an `emqx upgrade`
   * outlive it without waiting 300 s. EmqxRelease constructs its provider without it and the
   * upgradeTimeoutMs input keeps its floor above EMQX's own 300 s RPC timeout. */
  private readonly testUpgradeTimeoutMs: number | undefined;

  constructor(testOnly: { upgradeTimeoutMs?: number } = {}) {
    this.testUpgradeTimeoutMs = testOnly.upgradeTimeoutMs;
  }

  /** Refuses malformed inputs and packages that do not fit the request; reads only local files.
   * The one method that takes the bags as they are: it is what judges them. */
  async check(
    olds: PropertyBag,
    news: PropertyBag,
  ): Promise<{ inputs: PropertyBag; failures: { property: string; reason: string }[] }> {
    const prior = olds && typeof olds.version === "string" ? olds : undefined;
    const failures = checkReleaseInputs(news, prior);
    const inputs: PropertyBag = { ...news };
    delete inputs.__packageDigest;
    const pkgPath = news.packagePath;
    const version = news.version;
    if (failures.length === 0 && typeof news.packageUrl === "string") {
      const remote = await checkUrlPackage(news);
      if (Array.isArray(remote)) failures.push(...remote);
      else if (remote) inputs.__package = remote;
    } else if (
      failures.length === 0 &&
      typeof pkgPath === "string" &&
      typeof version === "string" &&
      !isUnknown(pkgPath) &&
      !isUnknown(version)
    ) {
      const digest =
        typeof news.__packageDigest === "string" && !isUnknown(news.__packageDigest) ? news.__packageDigest : undefined;
      const pin =
        typeof news.packageSha256 === "string" && !isUnknown(news.packageSha256) ? news.packageSha256 : undefined;
      const checked = await checkPackage(pkgPath, version, pin, digest);
      if (Array.isArray(checked)) failures.push(...checked);
      // A package without relup is no refusal by itself: the target may already be on the
      // node as an old release. create decides, with the node's facts.
      else inputs.__package = checked;
    }
    return { inputs, failures };
  }

  /** Replace when the node changes, update when inputs or the node's state differ. Refuses, at
   * plan time, changes the state's host facts already show to be impossible. */
  async diff(
    _id: string,
    oldBag: PropertyBag,
    newBag: PropertyBag,
  ): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
    const olds = recordedState(oldBag);
    const news = recordedState(newBag);
    const pkg = news.__package;
    const d = diffRelease(olds, news, pkg?.sha256);
    const declaredChanged = news.version !== olds.version || (pkg !== undefined && pkg.sha256 !== olds.packageSha256);
    // Only a changed declaration is judged: refresh calls diff with the old declaration, which
    // must never throw (docs/pulumi-dynamic-providers.md §1.3).
    // A failure recorded before the node was ever read leaves currentVersion "": nothing to judge.
    if (
      d.changes &&
      d.replaces.length === 0 &&
      declaredChanged &&
      pkg &&
      olds.hostFacts &&
      typeof olds.currentVersion === "string" &&
      olds.currentVersion !== "" &&
      typeof news.version === "string"
    ) {
      refuseFromState(
        {
          host: String(olds.connection?.host ?? "the node"),
          currentVersion: olds.currentVersion,
          installedVersions: olds.installedVersions ?? [],
          hostFacts: olds.hostFacts as HostFacts,
        },
        {
          version: news.version,
          permanent: news.permanent !== false,
          allowDowngrade: news.allowDowngrade === true,
          edition: news.edition,
        },
        { ...pkg, property: news.packageUrl !== undefined ? "packageUrl" : "packagePath" },
      );
    }
    return d;
  }

  /** Upgrades the node to the declared release. */
  async create(bag: PropertyBag): Promise<{ id: string; outs: ReleaseState }> {
    const inputs = releaseProps(bag);
    const want = this.resolve(inputs, undefined);
    const outs = await this.apply(inputs, want, undefined);
    return { id: `${want.target.host}:${want.target.port}`, outs };
  }

  /** Same as create, keeping the host key recorded on first contact. */
  async update(_id: string, oldBag: PropertyBag, newBag: PropertyBag): Promise<{ outs: ReleaseState }> {
    const news = releaseProps(newBag);
    const olds = recordedState(oldBag);
    const want = this.resolve(news, olds);
    return { outs: await this.apply(news, want, olds) };
  }

  /** Reports what the node runs now (`pulumi refresh`). */
  async read(id: string, bag: PropertyBag): Promise<{ id: string; props: ReleaseProps }> {
    const props = releaseProps(bag);
    return { id, props: { ...props, ...(await this.readNode(this.resolve(props, props))) } };
  }

  /** What the node runs now, and the host key seen: one connection, no side effect. */
  private async readNode(want: ResolvedRelease): Promise<NodeState & { hostKeyFingerprint: string }> {
    const session = await this.connect(want);
    try {
      return { ...(await readNodeState(cliFor(session, want))), hostKeyFingerprint: session.hostKeyFingerprint };
    } finally {
      await session.close();
    }
  }

  /** Uninstalls the declared release when it is no longer in use; leaves a running one alone. */
  async delete(_id: string, bag: PropertyBag): Promise<void> {
    const props = releaseProps(bag);
    const want = this.resolve(props, props);
    const session = await this.connect(want);
    try {
      await uninstallRelease(cliFor(session, want), want, { who: whoAmI(), log: logger(want.target.host) });
    } finally {
      await session.close();
    }
  }

  /** Applies every default; `olds` gives the host key pinned on first contact. */
  private resolve(inputs: ReleaseProviderInputs, olds: RecordedState | undefined): ResolvedRelease {
    const c = inputs.connection;
    const trustOnFirstUse = !c.hostKey && !c.knownHosts;
    const pinned =
      trustOnFirstUse && olds && typeof olds.hostKeyFingerprint === "string"
        ? { target: olds.hostKeyFingerprint }
        : undefined;
    const resolved = resolveInputs(inputs, pinned);
    return this.testUpgradeTimeoutMs === undefined
      ? resolved
      : { ...resolved, upgradeTimeoutMs: this.testUpgradeTimeoutMs };
  }

  private async connect(want: ResolvedRelease): Promise<SshSession> {
    return connectSsh(want.target, logger(want.target.host));
  }

  /** create/update: applies the release and records `lastResult`. A failed health gate is an
   * error; inside a fleet (`__recordFailure`) every failure is recorded in `lastResult` instead,
   * with what the node runs now, so the fleet's gate can judge the batch against maxFailures and
   * the next `up` retries the host. */
  private async apply(
    inputs: ReleaseProps,
    want: ResolvedRelease,
    olds: RecordedState | undefined,
  ): Promise<ReleaseState> {
    const started = Date.now();
    const fromVersion = typeof olds?.currentVersion === "string" ? olds.currentVersion : "";
    const outs: ReleaseProps = { ...inputs };
    delete outs.__package;
    let applied: { outputs: Omit<ReleaseOutputs, "lastResult">; outcome: ApplyOutcome };
    try {
      applied = await this.applyOnce(inputs, want);
    } catch (e) {
      if (inputs.__recordFailure !== true) throw e;
      const message = messageOf(e);
      logger(want.target.host)(`failed, recorded for the fleet's gate: ${message}`);
      // Not read again: an unreachable node (that would double the retries), and a node another
      // operation holds (`emqx versions` would wait behind its upgrade). Others are read.
      const now = await this.readQuietly(want, olds, !SshConnectError.isInstance(e) && !HostLockedError.isInstance(e));
      return {
        ...outs,
        ...now,
        lastResult: {
          action: "none",
          fromVersion,
          toVersion: want.version,
          version: typeof now.currentVersion === "string" ? now.currentVersion : "",
          durationMs: Date.now() - started,
          finishedAt: new Date().toISOString(),
          error: message,
        },
      };
    }
    const { outcome } = applied;
    const lastResult: ReleaseResult = {
      action: outcome.action,
      fromVersion: outcome.previousVersion ?? outcome.currentVersion,
      toVersion: want.version,
      version: outcome.currentVersion,
      durationMs: Date.now() - started,
      finishedAt: new Date().toISOString(),
      ...(outcome.gate ? { gate: outcome.gate } : {}),
      ...(outcome.clientImpact ? { clientImpact: outcome.clientImpact } : {}),
      ...(outcome.rolledBack ? { rolledBack: outcome.rolledBack } : {}),
      ...(outcome.rollbackRefused ? { rollbackRefused: outcome.rollbackRefused } : {}),
    };
    if (outcome.gate && !outcome.gate.passed && inputs.__recordFailure !== true) {
      throw new NodeChangedError({
        host: want.target.host,
        installedVersions: outcome.installedVersions,
        reason: `the health gate did not pass within ${want.healthGate?.deadlineSeconds} s after ${outcome.action} to ${want.version}: ${outcome.gate.detail}. ${outcome.rolledBack ? `It was rolled back: the node runs ${outcome.rolledBack.to} again` : `The node runs ${outcome.currentVersion}; fix it and run \`pulumi up\` again (the gate is checked again, nothing is re-installed)`}`,
      });
    }
    if (outcome.clientImpact && !outcome.clientImpact.passed && inputs.__recordFailure !== true) {
      const now = outcome.rolledBack
        ? `It was rolled back: the node runs ${outcome.rolledBack.to} again`
        : `The node runs ${outcome.currentVersion}${outcome.rollbackRefused ? ` (not rolled back: ${outcome.rollbackRefused})` : ""}`;
      throw new NodeChangedError({
        host: want.target.host,
        installedVersions: outcome.installedVersions,
        reason: `the client-impact gate failed after ${outcome.action} to ${want.version}: ${outcome.clientImpact.detail}. ${now}`,
      });
    }
    return { ...outs, ...applied.outputs, lastResult };
  }

  /** What the node runs, for a failure record; the previous outputs when the node cannot be read. */
  private async readQuietly(
    want: ResolvedRelease,
    olds: RecordedState | undefined,
    reachable: boolean,
  ): Promise<Omit<ReleaseOutputs, "lastResult">> {
    const fallback: Omit<ReleaseOutputs, "lastResult"> = {
      rootDir: olds?.rootDir ?? "",
      installedVersions: olds?.installedVersions ?? [],
      currentVersion: olds?.currentVersion ?? "",
      permanentVersion: olds?.permanentVersion ?? "",
      previousVersion: olds?.previousVersion ?? "",
      hostFacts: olds?.hostFacts ?? {},
      packageSha256: olds?.packageSha256 ?? "",
      hostKeyFingerprint: olds?.hostKeyFingerprint ?? "",
      lastAction: olds?.lastAction ?? "",
    };
    if (!reachable) return fallback;
    return { ...fallback, ...(await this.readNode(want).catch(() => ({}))) };
  }

  private async applyOnce(
    inputs: ReleaseProps,
    want: ResolvedRelease,
  ): Promise<{ outputs: Omit<ReleaseOutputs, "lastResult">; outcome: ApplyOutcome }> {
    const log = logger(want.target.host);
    const pkg = await localPackage(inputs, want);
    const session = await this.connect(want);
    try {
      if (!want.target.hostKey && !want.target.knownHosts && !want.target.pinnedFingerprint) {
        log(
          `warning: no hostKey or knownHosts given; trusting the host key seen now (${session.hostKeyFingerprint}) and refusing any other from now on`,
        );
      }
      const cli = cliFor(session, want);
      const outcome: ApplyOutcome = await applyRelease(
        {
          cli,
          log,
          reconnect: async () => {
            const again = await this.connect(want);
            return { cli: cliFor(again, want), close: () => again.close() };
          },
          who: whoAmI(),
          forward: (host, port) => session.forwardOut(host, port),
          upload: async (f) => {
            if (want.packageUrl === undefined)
              return uploadVerified(session, {
                localPath: want.packagePath as string,
                remoteDir: f.remoteDir,
                finalName: f.finalName,
                sha256: pkg.sha256,
                runAs: f.runAs,
                sudoPassword: want.sudoPassword,
                log,
              });
            const got = await downloadVerified(session, {
              url: want.packageUrl,
              headers: want.packageHeaders,
              proxy: want.packageProxy,
              // pre-flight refused a node with neither (plan/preflight.ts)
              tool: f.downloaders[0] ?? "curl",
              remoteDir: f.remoteDir,
              finalName: f.finalName,
              sha256: pkg.sha256,
              stallTimeoutMs: want.commandTimeoutMs,
              timeoutMs: want.upgradeTimeoutMs,
              runAs: f.runAs,
              sudoPassword: want.sudoPassword,
              log,
            });
            return { skipped: got.skipped, bytesSent: 0 };
          },
        },
        want,
        pkg,
      );
      const outputs: Omit<ReleaseOutputs, "lastResult"> = {
        rootDir: outcome.rootDir,
        installedVersions: outcome.installedVersions,
        currentVersion: outcome.currentVersion,
        permanentVersion: outcome.permanentVersion,
        previousVersion: outcome.previousVersion ?? inputs.previousVersion ?? "",
        hostFacts: outcome.hostFacts,
        packageSha256: pkg.sha256,
        hostKeyFingerprint: session.hostKeyFingerprint,
        lastAction: outcome.action,
      };
      return { outputs, outcome };
    } finally {
      await session.close();
    }
  }
}

/** The inputs checkUrlPackage reads: from check's raw bag or from typed inputs alike. */
type UrlPackageFields = "packageUrl" | "version" | "packageSha256" | "packageHeaders" | "commandTimeoutMs";

/** check's look at a packageUrl: undefined while something it needs is unknown (preview). */
async function checkUrlPackage(news: { [K in UrlPackageFields]?: unknown }): Promise<
  CheckedPackage | Refusal[] | undefined
> {
  const { packageUrl, version, packageSha256, packageHeaders, commandTimeoutMs } = news;
  if ([packageUrl, version, packageSha256, packageHeaders].some(isUnknown)) return undefined;
  return checkRemotePackage({
    url: packageUrl as string,
    version: version as string,
    sha256: packageSha256 as string,
    headers: packageHeaders as Record<string, string> | undefined,
    idleTimeoutMs: typeof commandTimeoutMs === "number" ? commandTimeoutMs : DEFAULTS.commandTimeoutMs,
  });
}

/** The package as check recorded it, re-read when create runs without a check (tests, old state). */
async function localPackage(inputs: ReleaseProviderInputs, want: ResolvedRelease): Promise<LocalPackage> {
  let checked = inputs.__package;
  const property = want.packageUrl !== undefined ? "packageUrl" : "packagePath";
  if (!checked) {
    const r =
      want.packageUrl !== undefined
        ? await checkUrlPackage(inputs)
        : await checkPackage(want.packagePath as string, want.version, want.packageSha256, undefined);
    if (r === undefined) throw new InvalidInputError({ property, reason: "is not known" });
    if (Array.isArray(r)) throw new InvalidInputError(r[0]);
    checked = r;
  }
  const name = parsePackageName(checked.fileName);
  if (typeof name === "string") throw new InvalidInputError({ property, reason: name });
  return {
    path: want.packageUrl ?? (want.packagePath as string),
    sha256: checked.sha256,
    name,
    relupUpFrom: checked.relupUpFrom,
    sizeBytes: checked.sizeBytes,
    uncompressedBytes: checked.uncompressedBytes,
  };
}

function cliFor(session: SshSession, want: ResolvedRelease): EmqxCli {
  return new EmqxCli(session, {
    emqxPath: want.emqxPath,
    runAs: want.runAs,
    sudoPassword: want.sudoPassword,
    commandTimeoutMs: want.commandTimeoutMs,
    upgradeTimeoutMs: want.upgradeTimeoutMs,
    outputLog: commandOutputWanted(process.env) ? logger(want.target.host) : undefined,
  });
}

/** Progress lines: shown by the engine under the stack row (docs/pulumi-dynamic-providers.md §4). */
function logger(host: string): (line: string) => void {
  return (line) => console.log(`[EmqxRelease host=${host}] ${line}`);
}

function whoAmI(): string {
  let user = "unknown";
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `${user}@${os.hostname()}`;
}
