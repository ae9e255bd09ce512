// Decides what one EmqxRelease must do on a node, and refuses what EMQX cannot do safely.
// Pure: every fact comes in as an argument (from state at plan time, from the host in create).
import { Edition, PackageName } from "./package-name";
import { HostFacts } from "./host-facts";
import { checkVersionFamily, compareVersions, parseEmqxVersion } from "./version";

/** One release as `emqx versions` lists it. */
export interface InstalledRelease {
  version: string;
  status: "permanent" | "current" | "old" | "unpacked";
}

/** What the package offers, from its name and its relup term. */
export interface PackageFacts {
  name: PackageName;
  /** Versions the package's relup can upgrade from (its "up" list); null when it has no relup. */
  relupUpFrom: string[] | null;
  /** The input that names the package, which refusals about the package point at.
   * @default "packagePath" */
  property?: PackageProperty;
}

/** The inputs a package can be named by. */
export type PackageProperty = "packagePath" | "packageUrl";

/** The EMQX command to run, or "adopt" when the node already runs the target as wanted. */
export type PlanAction =
  | { kind: "adopt" }
  | { kind: "upgrade"; permanent: boolean }
  | { kind: "downgrade"; permanent: boolean }
  | { kind: "make-permanent" }
  /** The node runs a release installed with --no-permanent and the target is its permanent one:
   * restart it, so it boots the permanent release (EMQX's documented way back, docs/emqx-4.4-hot-upgrade.md §4). */
  | { kind: "revert" };

/** Everything the rules look at. */
export interface PlanInput {
  target: string;
  permanent: boolean;
  allowDowngrade: boolean;
  /** What the node runs now (the `current` release, else the `permanent` one). */
  running: string;
  installed: InstalledRelease[];
  facts: HostFacts;
  pkg: PackageFacts;
  /** Declared edition, when set. */
  edition?: Edition;
}

/** A refusal: which input to change and why. */
export interface Refusal {
  property: string;
  reason: string;
}

/** The version the node runs: the `current` release if one is installed but not permanent,
 * else the `permanent` one. */
export function runningVersion(installed: InstalledRelease[]): string | undefined {
  const current = installed.find((r) => r.status === "current");
  if (current) return current.version;
  return installed.find((r) => r.status === "permanent")?.version;
}

/** Refusals that compare the package with the node (OS, arch, OTP major, edition). */
export function checkPackageFitsHost(
  pkg: PackageName,
  facts: HostFacts,
  host: string,
  property: PackageProperty = "packagePath",
): Refusal[] {
  const out: Refusal[] = [];
  const fix = "use the package built for this node";
  if (pkg.edition !== facts.edition) {
    out.push({
      property,
      reason: `${host} runs EMQX ${facts.edition === "ee" ? "Enterprise" : "(open source)"} but ${pkg.fileName} is ${pkg.edition === "ee" ? "an Enterprise" : "an open-source"} package: hot upgrade between EMQX and EMQX Enterprise is not allowed; use the ${facts.edition === "ee" ? "emqx-ee-" : "emqx-"}... package`,
    });
  }
  if (pkg.otpMajor !== facts.otpMajor) {
    out.push({
      property,
      reason: `${host} runs OTP ${facts.otpMajor} but ${pkg.fileName} is built for OTP ${pkg.otpMajor}: the OTP major must match; ${fix} (otp${facts.otpMajor}...)`,
    });
  }
  if (pkg.os !== facts.osId) {
    out.push({
      property,
      reason: `${host} is ${facts.osId} but ${pkg.fileName} is built for ${pkg.os}: ${fix} (...-${facts.osId}-${facts.arch}.zip)`,
    });
  }
  if (pkg.arch !== facts.arch) {
    out.push({
      property,
      reason: `${host} is ${facts.arch} but ${pkg.fileName} is built for ${pkg.arch}: ${fix} (...-${facts.arch}.zip)`,
    });
  }
  return out;
}

/** Decides the action for `input`, or the refusals that forbid it. */
export function planRelease(input: PlanInput, host: string): { action: PlanAction } | { refusals: Refusal[] } {
  const { target, running, installed } = input;
  const targetStatus = installed.find((r) => r.version === target)?.status;
  // Already there: adopt (permanent wanted and permanent+running, or current and not wanted permanent).
  if (running === target) {
    if (targetStatus === "permanent" || (targetStatus === "current" && !input.permanent))
      return { action: { kind: "adopt" } };
    if (targetStatus === "current" && input.permanent) return { action: { kind: "make-permanent" } };
  }
  // Back from a trial (--no-permanent) to the release the node still boots: a restart, no relup.
  const runningStatus = installed.find((r) => r.version === running)?.status;
  if (running !== target && targetStatus === "permanent" && runningStatus === "current") {
    return { action: { kind: "revert" } };
  }
  const refusals: Refusal[] = [];
  const from = parseEmqxVersion(running);
  const to = parseEmqxVersion(target);
  if (typeof to === "string") return { refusals: [{ property: "version", reason: to }] };
  if (typeof from === "string") {
    // An untagged build (4.4.0-a6d2367f, docs/emqx-4.4-hot-upgrade.md §3.1) has no published relup path from it.
    const reason = /untagged build/.test(from)
      ? `${host} runs ${running}, an untagged build (git sha suffix): EMQX publishes no hot upgrade from untagged builds; install a tagged release with a rolling upgrade (stop, install the package, start) first`
      : `${host} reports running version ${JSON.stringify(running)}, which is not an EMQX version: check the node by hand`;
    return { refusals: [{ property: "version", reason }] };
  }
  const family = checkVersionFamily(from, to);
  if (family) return { refusals: [{ property: "version", reason: `${host}: ${family}` }] };
  refusals.push(...checkPackageFitsHost(input.pkg.name, input.facts, host, input.pkg.property));
  if (input.edition && input.edition !== input.facts.edition) {
    refusals.push({
      property: "edition",
      reason: `${host} runs EMQX ${input.facts.edition.toUpperCase()} but edition is "${input.edition}": hot upgrade between EMQX and EMQX Enterprise is not allowed`,
    });
  }
  const direction = compareVersions(target, running);
  if (direction < 0) {
    if (!input.allowDowngrade) {
      refusals.push({
        property: "version",
        reason: `${host} runs ${running}, newer than ${target}: that is a downgrade, which EMQX recommends against; set allowDowngrade: true to do it anyway`,
      });
    } else if (targetStatus !== "old" && !input.facts.relupDownTo.includes(target)) {
      refusals.push({
        property: "version",
        reason: `${host} cannot hot-downgrade from ${running} to ${target}: ${target} is not an old release on the node and ${running}'s relup has no down path to it; pick a version listed as old by \`emqx versions\``,
      });
    }
    return refusals.length ? { refusals } : { action: { kind: "downgrade", permanent: input.permanent } };
  }
  if (targetStatus !== "old") {
    const up = input.pkg.relupUpFrom;
    if (up === null) {
      refusals.push({
        property: input.pkg.property ?? "packagePath",
        reason: `${input.pkg.name.fileName} has no relup file, so it cannot hot-upgrade anything (the first EMQX release for a platform ships none); install it with a rolling upgrade instead`,
      });
    } else if (!up.includes(running)) {
      refusals.push({
        property: "version",
        reason: `${input.pkg.name.fileName} cannot hot-upgrade from ${running}: its relup covers ${summarize(up)}; upgrade to a version whose relup covers ${running} first`,
      });
    }
  }
  return refusals.length ? { refusals } : { action: { kind: "upgrade", permanent: input.permanent } };
}

function summarize(versions: string[]): string {
  if (versions.length === 0) return "no versions";
  return versions.length > 6
    ? `${versions.slice(0, 3).join(", ")}, ... ${versions[versions.length - 1]} (${versions.length} versions)`
    : versions.join(", ");
}
