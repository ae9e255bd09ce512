// EMQX package file names: emqx[-ee]-<version>-otp<otp>-<os>-<arch>.zip (docs/emqx-4.4-hot-upgrade.md §3.1).
import { EmqxVersion, parseEmqxVersion } from "./version";

/** EMQX edition: open source (ce) or Enterprise (ee). */
export type Edition = "ce" | "ee";

/** What a package file name says about the package. */
export interface PackageName {
  fileName: string;
  edition: Edition;
  version: EmqxVersion;
  /** Full OTP version, e.g. "24.3.4.2-1". */
  otp: string;
  /** First OTP digit group, e.g. 24: must equal the node's. */
  otpMajor: number;
  /** EMQX's OS token, e.g. "ubuntu20.04", "el8", "debian12". */
  os: string;
  arch: "amd64" | "arm64" | "arm";
}

const MAX_NAME_LENGTH = 160;

// emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip; emqx-ee-4.4.16-...; emqx-edge-...
// The version part is matched lazily up to "-otp" so a pre-release (4.4.17-rc.1) stays in it.
const NAME_RE =
  /^emqx(?:-(ee|edge))?-([0-9][0-9A-Za-z.-]{4,39}?)-otp([0-9]{2}(?:\.[0-9]{1,4}){0,4}(?:-[0-9]{1,3})?)-([a-z]{2,12}[0-9.]{0,8})-(amd64|arm64|arm)\.zip$/;

/** Operating systems EMQX ships zips for but cannot hot-upgrade on (docs/emqx-4.4-hot-upgrade.md §4). */
const NO_HOT_UPGRADE_OS = /^(macos|windows)/;

/** Parses a package file name (no directory); returns a reason string when it does not parse. */
export function parsePackageName(fileName: string): PackageName | string {
  if (fileName.length > MAX_NAME_LENGTH)
    return `file name is ${fileName.length} characters long; an EMQX package is named like emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip`;
  const m = NAME_RE.exec(fileName);
  if (!m) {
    return `${JSON.stringify(fileName)} is not named as EMQX names its packages (emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip, Enterprise emqx-ee-...): keep the downloaded file name, the name is how EMQX and this provider find the version, OTP, OS and architecture`;
  }
  const [, profile, versionText, otp, os, arch] = m;
  if (profile === "edge")
    return `${fileName} is an EMQX Edge build: Edge packages are not supported for hot upgrade by this provider; use the EMQX (CE) or EMQX Enterprise package`;
  if (NO_HOT_UPGRADE_OS.test(os))
    return `${fileName} is a ${os} package: EMQX cannot hot-upgrade on macOS or Windows (see the EMQX 4.4 relup docs); use a Linux package`;
  const version = parseEmqxVersion(versionText);
  if (typeof version === "string") return `the version in ${fileName} ${version}`;
  return {
    fileName,
    edition: profile === "ee" ? "ee" : "ce",
    version,
    otp,
    otpMajor: Number(otp.split(".")[0]),
    os,
    arch: arch as PackageName["arch"],
  };
}

/** The name EMQX's own glob uses to find the package for `version` (docs/emqx-4.4-hot-upgrade.md §2.5):
 * emqx-*<V>*.zip. */
export function matchesEmqxZipGlob(fileName: string, version: string): boolean {
  return fileName.startsWith("emqx-") && fileName.endsWith(".zip") && fileName.slice(5, -4).includes(version);
}
