// EMQX version strings: strict parsing and the patch-only upgrade rules of EMQX 4.4 hot upgrade.
// `import x = require()` keeps a plain require: Pulumi serializes it as a module reference,
// where `import * as` (__importStar) would be copied by value.
import semver = require("semver");

/** A parsed EMQX version such as 4.4.16 or 4.4.17-rc.1. */
export interface EmqxVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
}

/** Longest version string we look at; anything longer is refused before any regex runs. */
const MAX_VERSION_LENGTH = 40;

// ASCII digits only (\d would not admit Unicode digits in JS, but say it plainly), no leading
// zeros, an optional pre-release of dot-separated alphanumerics: 4.4.16, 4.4.17-rc.1.
const VERSION_RE =
  /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+){0,4}))?$/;

// Untagged builds carry an 8-hex git sha as the pre-release (docs/emqx-4.4-hot-upgrade.md §3.1, §5.16): 4.4.0-a6d2367f.
const UNTAGGED_RE = /^[0-9a-f]{8}$/;

/** Parses an EMQX version; returns a reason string instead when it is not one. */
export function parseEmqxVersion(input: unknown): EmqxVersion | string {
  if (typeof input !== "string") return `must be a string such as "4.4.16", got ${typeof input}`;
  if (input.length > MAX_VERSION_LENGTH)
    return `is ${input.length} characters long; an EMQX version looks like "4.4.16"`;
  const m = VERSION_RE.exec(input);
  if (!m)
    return `${JSON.stringify(input)} is not an EMQX version: write it as MAJOR.MINOR.PATCH, e.g. "4.4.16" (no "v" prefix, no spaces)`;
  const prerelease = m[4];
  if (prerelease !== undefined && UNTAGGED_RE.test(prerelease)) {
    return `${JSON.stringify(input)} is an untagged build (git sha suffix): only tagged EMQX releases can be hot-upgraded; use a released version`;
  }
  return { raw: input, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease };
}

/** Compares two EMQX versions: negative when a < b. Pre-releases sort before their release. */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a, b, { loose: false });
}

/** True when bin scripts of `binScriptsVersion` are at least `min`. A version that does not parse
 * counts as new: bin scripts come from the node's own emqx_vars, and only 4.4 releases are older.
 * @example binScriptsAtLeast("4.4.3", "4.4.4") // false */
export function binScriptsAtLeast(binScriptsVersion: string, min: string): boolean {
  return typeof parseEmqxVersion(binScriptsVersion) === "string" || compareVersions(binScriptsVersion, min) >= 0;
}

/** `emqx ctl` exists in bin scripts from 4.4.4 on; older ones have only bin/emqx_ctl
 * (docs/emqx-4.4-hot-upgrade.md §1.2). */
export function hasCtlCommand(binScriptsVersion: string): boolean {
  return binScriptsAtLeast(binScriptsVersion, "4.4.4");
}

/** Why a hot upgrade from `from` to `to` is not allowed, or undefined when the versions allow it.
 * Direction (up/down) is decided elsewhere; this checks the family rules only.
 * @example checkVersionFamily("4.4.16", "4.3.5") // "... only between patch versions of 4.4 ..." */
export function checkVersionFamily(from: EmqxVersion, to: EmqxVersion): string | undefined {
  if (to.major >= 5) {
    return `EMQX ${to.raw} cannot be reached by a hot upgrade: EMQX 5 replaced hot upgrades with rolling upgrades (stop, install the new package, start, one node at a time); do that outside this resource`;
  }
  if (to.major !== 4 || to.minor !== 4) {
    return `EmqxRelease manages EMQX 4.4 only; ${to.raw} is not a 4.4 patch version`;
  }
  if (from.major !== to.major || from.minor !== to.minor) {
    return `cannot hot-upgrade from ${from.raw} to ${to.raw}: EMQX only hot-upgrades between patch versions of one minor release (${from.major}.${from.minor}.x); move to ${to.major}.${to.minor} with a rolling upgrade (stop, install, start) first`;
  }
  return undefined;
}
