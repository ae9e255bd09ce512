// The real OTP test releases (test/otp): runs test/otp/build.sh, which builds emqx 4.4.0-4.4.2 with
// Debian's rebar3 into EMQX-style zips, cached by a hash of its sources and guarded by a lock
// against parallel jest workers, and returns where the zips are.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./engine";

/** The build script; `.ci/setup` runs it too, so tests find the cache warm. */
export const OTP_BUILD_SCRIPT = path.join(REPO_ROOT, "test", "otp", "build.sh");

/** What the build produced. */
export interface OtpReleases {
  dir: string;
  versions: string[];
  /** Full OTP version in the package names, e.g. "25.2.3". */
  otp: string;
  os: string;
  arch: string;
  erts: string;
  /** Seconds the (uncached) build took. */
  buildSeconds: number;
  /** Package zip of each version. */
  zips: Record<string, string>;
}

/** Builds the releases unless the cache has them; throws naming the Debian packages when Erlang
 * or rebar3 is missing (a missing tool fails the test, it never skips it). */
export function ensureOtpReleases(): OtpReleases {
  let dir: string;
  try {
    const out = execFileSync("bash", [OTP_BUILD_SCRIPT], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 900_000,
    });
    dir = out.trim().split("\n").pop() ?? "";
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `building the OTP test releases failed (bash test/otp/build.sh): ${(err.stderr || err.message).trim()}`,
    );
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Omit<
    OtpReleases,
    "dir" | "zips"
  >;
  const zips: Record<string, string> = {};
  for (const v of manifest.versions)
    zips[v] = path.join(dir, `emqx-${v}-otp${manifest.otp}-${manifest.os}-${manifest.arch}.zip`);
  return { ...manifest, dir, zips };
}
