// Host facts in EMQX's own terms: the <os> and <arch> tokens of its package names, the OTP major.

/** What the provider knows about a node, recorded in state after every create/update/read. */
export interface HostFacts {
  /** EMQX's OS token from /etc/os-release, e.g. "ubuntu20.04", "el8", "debian12". */
  osId: string;
  /** `uname -m` mapped to EMQX's arch token: amd64, arm64 or arm. */
  arch: string;
  /** OTP major of the running node, from its ERTS version (erts 12.x is OTP 24). */
  otpMajor: number;
  /** Edition of the installed broker, from EMQX_DESCRIPTION in releases/emqx_vars. */
  edition: "ce" | "ee";
  /** Version of the bin scripts in use (bin/emqx, install_upgrade.escript): the last REL_VSN
   * permafied, whose checks and bugs apply to the next upgrade (docs/emqx-4.4-hot-upgrade.md §1.2, §4). */
  binScriptsVersion: string;
  /** The running release's relup down list (versions it can hot-downgrade to). */
  relupDownTo: string[];
}

/** Maps `uname -m` to EMQX's arch token; undefined for an architecture EMQX does not build for. */
export function mapArch(unameMachine: string): string | undefined {
  const m = unameMachine.trim();
  if (m === "x86_64" || m === "amd64") return "amd64";
  if (m === "aarch64" || m === "arm64") return "arm64";
  if (/^armv[67]/.test(m)) return "arm";
  return undefined;
}

// An array, not a Set: module-level values are serialized by value with the provider, and a
// serialized Set loses its internal slots ("Set.prototype.has called on incompatible receiver").
const EL_FAMILY = ["rhel", "centos", "rocky", "almalinux", "ol"];

/** EMQX's <os> token from /etc/os-release text, as EMQX's get-distro.sh derives it; undefined when
 * ID or VERSION_ID is missing. @example osIdFromOsRelease('ID=ubuntu\nVERSION_ID="20.04"') // "ubuntu20.04" */
export function osIdFromOsRelease(text: string): string | undefined {
  const fields: Record<string, string> = {};
  for (const line of text.replace(/\r/g, "").split("\n")) {
    const m = /^([A-Z_]{1,40})=("?)([^"\n]{0,200})\2\s*$/.exec(line);
    if (m) fields[m[1]] = m[3];
  }
  const id = (fields.ID || "").toLowerCase();
  const versionId = fields.VERSION_ID || "";
  if (!id || !versionId) return undefined;
  const major = versionId.split(".")[0];
  if (EL_FAMILY.includes(id)) return `el${major}`;
  if (id === "debian" || id === "raspbian") return `${id}${major}`;
  return `${id}${versionId}`;
}

/** OTP major for an ERTS version: ERTS 12 shipped with OTP 24, 13 with 25, and so on. */
export function otpMajorFromErts(ertsVersion: string): number | undefined {
  const m = /^([0-9]{1,3})\./.exec(ertsVersion.trim());
  if (!m) return undefined;
  const ertsMajor = Number(m[1]);
  return ertsMajor >= 11 ? ertsMajor + 12 : undefined;
}

/** Edition from EMQX_DESCRIPTION ("EMQX Enterprise", "EMQX Broker", "EMQ X Broker"). */
export function editionFromDescription(description: string | undefined): "ce" | "ee" {
  return description !== undefined && /enterprise/i.test(description) ? "ee" : "ce";
}
