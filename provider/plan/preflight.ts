// Pre-flight: what a careful operator checks on the node before `emqx upgrade`, after the host
// was read and before anything is written (docs/emqx-4.4-hot-upgrade.md Appendix B items 2, 4-6; §2.5, §2.7, §5). Each
// refusal names what was found and the operator's next step. Pure: the probe's findings come in
// as arguments.
import type { PlanAction } from "./upgrade-plan";
import { binScriptsAtLeast } from "./version";

/** Free space of one filesystem, as `df -Pk` reports it. */
export interface DiskFree {
  /** The filesystem (first column): two paths with the same one share their free space. */
  filesystem: string;
  availableKb: number;
  mountedOn: string;
}

/** What the checks look at. */
export interface PreflightInput {
  host: string;
  target: string;
  action: PlanAction["kind"];
  /** True when `emqx upgrade` will unpack the package (the target is not yet an installed release,
   * or is only `unpacked`). */
  unpacks: boolean;
  /** The release the node boots (`permanent` in `emqx versions`). */
  permanentVersion: string;
  /** Target's status in `emqx versions`, when listed. */
  targetStatus?: "permanent" | "current" | "old" | "unpacked";
  /** The last REL_VSN of releases/emqx_vars: the version of the bin scripts in use. */
  binScriptsVersion: string;
  /** Whether bin/emqx has the content of bin/emqx-<permanentVersion>, when the node runs its
   * permanent release (undefined when unknown or during a --no-permanent trial). */
  binEmqxIsPermanent?: boolean;
  /** EMQX_DESCRIPTION of emqx_vars. */
  description: string;
  rootDir: string;
  dataDir: string;
  hotPatches: string[];
  diskFree: { root?: DiskFree; tmp?: DiskFree };
  /** Names in `releases/<target>/`. */
  targetDirFiles: string[];
  /** The package: zip size and the sum of its uncompressed entries (undefined when unknown). */
  pkg: { fileName: string; sizeBytes?: number; uncompressedBytes?: number };
  /** Set when the node downloads the package itself (packageUrl): the tools the probe found. */
  download?: { tools: string[] };
}

/** A pre-flight refusal: `unsupported` when no host change makes the request possible, `host-state`
 * when the operator can fix the node and rerun. */
export interface PreflightRefusal {
  kind: "unsupported" | "host-state";
  reason: string;
}

const MIB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MIB).toFixed(1);

/** Every reason not to start the change on this node now; empty when it may go ahead. */
export function preflightRefusals(i: PreflightInput): PreflightRefusal[] {
  const out: PreflightRefusal[] = [];
  if (i.action !== "adopt" && /edge/i.test(i.description)) {
    out.push({
      kind: "unsupported",
      reason: `${i.host} runs EMQX Edge (EMQX_DESCRIPTION '${i.description}' in ${i.rootDir}/releases/emqx_vars): this provider hot-upgrades EMQX and EMQX Enterprise only, and EMQX publishes no relup coverage for Edge; upgrade this node by hand or with a rolling upgrade (stop, install the new package, start)`,
    });
    return out;
  }
  // A permafy that stopped after `Made release permanent` leaves the old bin scripts and REL_VSN
  // (docs/emqx-4.4-hot-upgrade.md §2.7): the next upgrade would run the old escript with its checks and bugs, and
  // adopting the node would hide it (re-running `emqx upgrade` cannot repair it).
  if (i.permanentVersion && i.binScriptsVersion && i.binScriptsVersion !== i.permanentVersion) {
    out.push({
      kind: "host-state",
      reason: `${i.host}: the permanent release is ${i.permanentVersion} but the last REL_VSN in ${i.rootDir}/releases/emqx_vars is ${i.binScriptsVersion}: an earlier permafy stopped half-way, so the bin scripts of ${i.binScriptsVersion} are still in use (ref: EMQX runs the installed release's install_upgrade.escript). Finish it by hand first: copy bin/<f>-${i.permanentVersion} over bin/<f> for emqx, emqx_ctl, nodetool, cuttlefish and install_upgrade.escript, append REL_VSN="${i.permanentVersion}" and its ERTS_VSN to releases/emqx_vars, then rerun`,
    });
  }
  if (i.permanentVersion && i.binEmqxIsPermanent === false) {
    out.push({
      kind: "host-state",
      reason: `${i.host}: ${i.rootDir}/bin/emqx differs from bin/emqx-${i.permanentVersion} although ${i.permanentVersion} is permanent: the bin scripts were not copied into place (a half-done permafy, or bin/emqx edited by hand), so older scripts would run the upgrade. Copy bin/<f>-${i.permanentVersion} over bin/<f> for emqx, emqx_ctl, nodetool, cuttlefish and install_upgrade.escript (keep a copy of a hand-edited bin/emqx), then rerun`,
    });
  }
  if (i.action !== "upgrade" && i.action !== "downgrade") return out;
  // bin scripts 4.4.2-4.4.14 re-unpack an `unpacked` target through create_RELEASES, which leaves
  // RELEASES listing only the target if the install then fails or is --no-permanent: every CLI
  // command fails afterwards (docs/emqx-4.4-hot-upgrade.md §2.5 step 4, §5.10; fixed in 4.4.15).
  if (
    i.targetStatus === "unpacked" &&
    binScriptsAtLeast(i.binScriptsVersion, "4.4.2") &&
    !binScriptsAtLeast(i.binScriptsVersion, "4.4.15")
  ) {
    out.push({
      kind: "host-state",
      reason: `${i.host}: ${i.target} is already unpacked and the node's bin scripts are ${i.binScriptsVersion}: scripts 4.4.2-4.4.14 unpack it again through release_handler:create_RELEASES, which rewrites releases/RELEASES with only ${i.target} and cuts the CLI off the node if the install then fails (EMQX PR #9611). Run \`emqx uninstall ${i.target}\` on the node (it is only unpacked, nothing runs it), then rerun: the package is unpacked afresh`,
    });
  }
  // Before 4.4.2 a leftover releases/<V>/emqx.tar.gz crashes the upgrade with eexist
  // (docs/emqx-4.4-hot-upgrade.md §5.2).
  if (i.unpacks && !binScriptsAtLeast(i.binScriptsVersion, "4.4.2") && i.targetDirFiles.includes("emqx.tar.gz")) {
    out.push({
      kind: "host-state",
      reason: `${i.host}: ${i.rootDir}/releases/${i.target}/emqx.tar.gz is left from an earlier failed attempt, and the node's bin scripts (${i.binScriptsVersion}) crash on it with {error,eexist} (fixed in 4.4.2, EMQX PR #7121). This provider does not delete files it did not upload: remove that file by hand, then rerun`,
    });
  }
  if (i.hotPatches.length > 0) {
    out.push({
      kind: "host-state",
      reason: `${i.host}: hot patches in ${i.dataDir}/patches (${summarize(i.hotPatches)}): they come first in the code path, so they would keep shadowing ${i.target}'s modules after the upgrade; EMQX's docs say to delete them before upgrading. Check that ${i.target} contains their fixes, remove ${i.dataDir}/patches/*.beam, then rerun`,
    });
  }
  if (i.unpacks) out.push(...spaceRefusals(i), ...downloadRefusals(i));
  return out;
}

/** A node asked to download the package needs curl or wget. */
function downloadRefusals(i: PreflightInput): PreflightRefusal[] {
  if (!i.download || i.download.tools.length > 0) return [];
  return [
    {
      kind: "host-state",
      reason: `${i.host}: packageUrl asks the node to download ${i.pkg.fileName}, but neither curl nor wget is on its PATH: install one (apt-get install curl, dnf install curl), or give packagePath to upload the package from the runner instead`,
    },
  ];
}

/** EMQX's unpack copies the zip into /tmp/emqx_untar_<n>/ and unzips it there, then repacks it
 * into <root>/releases and release_handler extracts it into <root> (docs/emqx-4.4-hot-upgrade.md §2.5, §3.2): each
 * place needs about the zip plus its uncompressed size, twice that when they share a filesystem. */
function spaceRefusals(i: PreflightInput): PreflightRefusal[] {
  const { sizeBytes, uncompressedBytes } = i.pkg;
  if (sizeBytes === undefined || uncompressedBytes === undefined) return [];
  // The root gets the zip, the tar.gz EMQX repacks it into (about the zip's size: both deflate the
  // same files) and the unpacked release; /tmp gets a copy of the zip and its unzipped tree
  // (docs/emqx-4.4-hot-upgrade.md §2.5).
  const inRoot = 2 * sizeBytes + uncompressedBytes;
  const inTmp = sizeBytes + uncompressedBytes;
  const places: { what: string; df?: DiskFree; need: number }[] = [
    { what: i.rootDir, df: i.diskFree.root, need: inRoot },
    { what: "/tmp", df: i.diskFree.tmp, need: inTmp },
  ];
  const shared =
    i.diskFree.root !== undefined &&
    i.diskFree.tmp !== undefined &&
    i.diskFree.root.filesystem === i.diskFree.tmp.filesystem &&
    i.diskFree.root.mountedOn === i.diskFree.tmp.mountedOn;
  const checks = shared
    ? [{ what: `${i.rootDir} and /tmp (one filesystem)`, df: i.diskFree.root, need: inRoot + inTmp }]
    : places;
  const out: PreflightRefusal[] = [];
  for (const c of checks) {
    if (!c.df) continue;
    const free = c.df.availableKb * 1024;
    if (free >= c.need) continue;
    out.push({
      kind: "host-state",
      reason: `${i.host}: ${c.df.mountedOn} (holding ${c.what}) has ${mib(free)} MiB free, but unpacking ${i.pkg.fileName} needs ${mib(c.need)} MiB there (${c.need === inTmp ? "a copy of the zip" : c.need === inRoot ? "the zip and the tar.gz EMQX repacks it into" : "the zip, its tar.gz and a copy in /tmp"}, ${mib(sizeBytes)} MiB each, + ${mib(uncompressedBytes)} MiB unpacked${shared ? " twice" : ""}). Free space on ${c.df.mountedOn} (old releases go with \`emqx uninstall <version>\`; leftover /tmp/emqx_untar_* directories of earlier upgrades can be deleted), then rerun`,
    });
  }
  return out;
}

function summarize(names: string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(", ")} and ${names.length - 5} more` : names.join(", ");
}
