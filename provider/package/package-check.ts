// Reads what `check` needs from the local package: digest (pin, sidecar), manifest (layout, relup).
// Local file I/O only; never touches a host.
import * as fs from "fs";
import * as path from "path";
import { PackageError } from "../errors";
import { sha256File, readSidecarSha256 } from "./hash";
import { readPackageManifest } from "./read-package";
import type { Refusal } from "../plan/upgrade-plan";

/** What check records about the package in the (hidden) `__package` input. */
export interface CheckedPackage {
  fileName: string;
  sha256: string;
  sizeBytes: number;
  uncompressedBytes: number;
  relupUpFrom: string[] | null;
  relupDownTo: string[] | null;
}

/** Reads and verifies the package; returns it, or refusals against `packagePath`/`packageSha256`.
 * `knownDigest` is the digest the program already computed for the same file (skips re-hashing). */
export async function checkPackage(
  packagePath: string,
  version: string,
  pin: string | undefined,
  knownDigest: string | undefined,
): Promise<CheckedPackage | Refusal[]> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(packagePath);
  } catch (e) {
    return [
      {
        property: "packagePath",
        reason: `cannot read ${packagePath} (${(e as NodeJS.ErrnoException).code ?? "error"}) from ${process.cwd()}: download the package there or give its absolute path`,
      },
    ];
  }
  if (!stat.isFile()) return [{ property: "packagePath", reason: `${packagePath} is not a file` }];
  try {
    const sha256 = knownDigest ?? (await sha256File(packagePath));
    const sidecar = await readSidecarSha256(packagePath);
    const refusals: Refusal[] = [];
    if (sidecar !== undefined && sidecar !== sha256) {
      refusals.push({
        property: "packagePath",
        reason: `${path.basename(packagePath)} has sha256 ${sha256} but its .sha256 file says ${sidecar}: the download is corrupt or was replaced; download it again`,
      });
    }
    if (pin !== undefined && pin.toLowerCase() !== sha256) {
      refusals.push({
        property: "packageSha256",
        reason: `${path.basename(packagePath)} has sha256 ${sha256}, not the pinned ${pin.toLowerCase()}: use the package you pinned, or update packageSha256 after verifying the new one`,
      });
    }
    if (refusals.length) return refusals;
    const m = await readPackageManifest(packagePath, version);
    return {
      fileName: path.basename(packagePath),
      sha256,
      sizeBytes: stat.size,
      uncompressedBytes: m.uncompressedBytes,
      relupUpFrom: m.relup ? m.relup.upFrom : null,
      relupDownTo: m.relup ? m.relup.downTo : null,
    };
  } catch (e) {
    if (PackageError.isInstance(e)) return [{ property: "packagePath", reason: e.reason }];
    throw e;
  }
}
