// The dynamic provider behind EmqxRelease. Plain class (no #private, no instance state): Pulumi
// serializes it by value into state and runs it in its own process. Each method delegates to
// plan/ (rules), emqx/ (CLI on the node) and ssh/ (transport).
// `import x = require()` keeps a plain require, which Pulumi serializes as a module reference;
// `import * as` (__importStar) is copied by value, and @pulumi/pulumi 3.100.0 (the oldest of the
// peer range) then refuses the provider: os.userInfo is native code. test/e2e/package-install.test.ts.
import os = require("os");
import {
  HostLockedError,
  InvalidInputError,
  NodeChangedError,
  SshConnectError,
  UnsupportedUpgradeError,
  messageOf,
} from "../errors";
import { ApplyOutcome, applyRelease, readNodeState, LocalPackage } from "../emqx/apply-release";
import { EmqxCli } from "../emqx/cli";
import { commandOutputWanted } from "../emqx/output-log";
import { acquireHostLock } from "../emqx/host-lock";
import { checkReleaseInputs, isUnknown } from "../plan/check-inputs";
import { diffRelease } from "../plan/diff";
import { DEFAULTS, ReleaseInputs, ResolvedRelease, resolveInputs } from "../plan/inputs";
import { parsePackageName } from "../plan/package-name";
import type { ReleaseResult } from "../plan/release-result";
import { planRelease } from "../plan/upgrade-plan";
import { connectSsh } from "../ssh/connect";
import type { SshSession } from "../ssh/session";
import { downloadVerified } from "../ssh/download";
import { uploadVerified } from "../ssh/upload";
import { CheckedPackage, checkPackage } from "../package/package-check";
import { checkRemotePackage } from "../package/remote-package";
import type { Refusal } from "../plan/upgrade-plan";

type Props = Record<string, unknown>;

/** The provider object; constructible with no arguments so tests can call its methods directly. */
export class EmqxReleaseProvider {
  /** Test-only: replaces the resolved upgradeTimeoutMs, so a test can watch an `emqx upgrade`
   * outlive it without waiting 300 s. EmqxRelease constructs its provider without it and the
   * upgradeTimeoutMs input keeps its floor above EMQX's own 300 s RPC timeout. */
  private readonly testUpgradeTimeoutMs: number | undefined;

  constructor(testOnly: { upgradeTimeoutMs?: number } = {}) {
    this.testUpgradeTimeoutMs = testOnly.upgradeTimeoutMs;
  }

  /** Refuses malformed inputs and packages that do not fit the request; reads only local files. */
  async check(olds: Props, news: Props): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }> {
    const prior = olds && typeof olds.version === "string" ? olds : undefined;
    const failures = checkReleaseInputs(news, prior);
    const inputs: Props = { ...news };
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
    olds: Props,
    news: Props,
  ): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
    const pkg = news.__package as CheckedPackage | undefined;
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
      refuseFromState(olds, news, pkg);
    }
    return d;
  }

  /** Upgrades the node to the declared release. */
  async create(inputs: Props): Promise<{ id: string; outs: Props }> {
    const want = this.resolve(inputs, undefined);
    const outs = await this.apply(inputs, want, undefined);
    return { id: `${want.target.host}:${want.target.port}`, outs };
  }

  /** Same as create, keeping the host key recorded on first contact. */
  async update(_id: string, olds: Props, news: Props): Promise<{ outs: Props }> {
    const want = this.resolve(news, olds);
    return { outs: await this.apply(news, want, olds) };
  }

  /** Reports what the node runs now (`pulumi refresh`). */
  async read(id: string, props: Props): Promise<{ id: string; props: Props }> {
    return { id, props: { ...props, ...(await this.readNode(this.resolve(props, props))) } };
  }

  /** What the node runs now, and the host key seen: one connection, no side effect. */
  private async readNode(want: ResolvedRelease): Promise<Props> {
    const session = await this.connect(want);
    try {
      return { ...(await readNodeState(cliFor(session, want))), hostKeyFingerprint: session.hostKeyFingerprint };
    } finally {
      await session.close();
    }
  }

  /** Uninstalls the declared release when it is no longer in use; leaves a running one alone. */
  async delete(_id: string, props: Props): Promise<void> {
    const want = this.resolve(props, props);
    const log = logger(want.target.host);
    const session = await this.connect(want);
    try {
      const cli = cliFor(session, want);
      const rootDir = await cli.rootDir();
      const lock = await acquireHostLock(cli, rootDir, {
        operation: "uninstall",
        version: want.version,
        who: whoAmI(),
        holdMs: 20 * want.commandTimeoutMs,
      });
      try {
        const status = (await cli.versions()).find((r) => r.version === want.version)?.status;
        if (status === "old" || status === "unpacked") {
          log(`uninstall ${want.version} (${status})`);
          await cli.releaseCommand("uninstall", want.version);
        } else if (status === undefined) {
          log(`${want.version} is not installed: nothing to uninstall`);
        } else {
          log(
            `${want.version} is the ${status} release: EMQX cannot uninstall the running release, so the broker is left as it is`,
          );
        }
      } finally {
        await lock.release().catch(() => undefined);
      }
    } finally {
      await session.close();
    }
  }

  private resolve(inputs: Props, olds: Props | undefined): ResolvedRelease {
    const failures = checkReleaseInputs(inputs);
    if (failures.length) throw new InvalidInputError(failures[0]);
    const c = inputs.connection as ReleaseInputs["connection"];
    const trustOnFirstUse = !c.hostKey && !c.knownHosts;
    const pinned =
      trustOnFirstUse && olds && typeof olds.hostKeyFingerprint === "string"
        ? { target: olds.hostKeyFingerprint }
        : undefined;
    const resolved = resolveInputs(inputs as unknown as ReleaseInputs, pinned);
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
  private async apply(inputs: Props, want: ResolvedRelease, olds: Props | undefined): Promise<Props> {
    const started = Date.now();
    const fromVersion = typeof olds?.currentVersion === "string" ? olds.currentVersion : "";
    const outs: Props = { ...inputs };
    delete outs.__package;
    let applied: { props: Props; outcome: ApplyOutcome };
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
    return { ...outs, ...applied.props, lastResult };
  }

  /** What the node runs, for a failure record; the previous outputs when the node cannot be read. */
  private async readQuietly(want: ResolvedRelease, olds: Props | undefined, reachable: boolean): Promise<Props> {
    const keep = (k: string) => (olds && olds[k] !== undefined ? olds[k] : "");
    const fallback: Props = {
      rootDir: keep("rootDir"),
      installedVersions: olds?.installedVersions ?? [],
      currentVersion: keep("currentVersion"),
      permanentVersion: keep("permanentVersion"),
      previousVersion: keep("previousVersion"),
      hostFacts: olds?.hostFacts ?? {},
      packageSha256: keep("packageSha256"),
      hostKeyFingerprint: keep("hostKeyFingerprint"),
      lastAction: keep("lastAction"),
    };
    if (!reachable) return fallback;
    return { ...fallback, ...(await this.readNode(want).catch(() => ({}))) };
  }

  private async applyOnce(inputs: Props, want: ResolvedRelease): Promise<{ props: Props; outcome: ApplyOutcome }> {
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
      const props: Props = {
        rootDir: outcome.rootDir,
        installedVersions: outcome.installedVersions,
        currentVersion: outcome.currentVersion,
        permanentVersion: outcome.permanentVersion,
        previousVersion: outcome.previousVersion ?? (inputs.previousVersion as string | undefined) ?? "",
        hostFacts: outcome.hostFacts,
        packageSha256: pkg.sha256,
        hostKeyFingerprint: session.hostKeyFingerprint,
        lastAction: outcome.action,
      };
      return { props, outcome };
    } finally {
      await session.close();
    }
  }
}

/** check's look at a packageUrl: undefined while something it needs is unknown (preview). */
async function checkUrlPackage(news: Props): Promise<CheckedPackage | Refusal[] | undefined> {
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
async function localPackage(inputs: Props, want: ResolvedRelease): Promise<LocalPackage> {
  let checked = inputs.__package as CheckedPackage | undefined;
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

/** Plan-time refusals from the facts the last create/update/refresh recorded. */
function refuseFromState(olds: Props, news: Props, pkg: CheckedPackage): void {
  const name = parsePackageName(pkg.fileName);
  if (typeof name === "string") return;
  const host = String((olds.connection as Props | undefined)?.host ?? "the node");
  const decided = planRelease(
    {
      target: news.version as string,
      permanent: news.permanent !== false,
      allowDowngrade: news.allowDowngrade === true,
      running: olds.currentVersion as string,
      installed: (olds.installedVersions as never) ?? [],
      facts: olds.hostFacts as never,
      pkg: { name, relupUpFrom: pkg.relupUpFrom },
      edition: news.edition as "ce" | "ee" | undefined,
    },
    host,
  );
  if ("refusals" in decided) {
    throw new UnsupportedUpgradeError({
      from: olds.currentVersion as string,
      to: news.version as string,
      host,
      property: decided.refusals[0].property,
      reason: decided.refusals.map((r) => r.reason).join("; "),
    });
  }
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
