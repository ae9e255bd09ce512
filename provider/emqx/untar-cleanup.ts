// Housekeeping after an unpack: EMQX's escript copies the zip to /tmp/emqx_untar_<n>/emqx.zip,
// unzips it there and never removes the directory (docs/emqx-4.4-hot-upgrade.md §2.5, Appendix B 10). We remove only
// the directories this operation made: absent from the listing taken before, and holding a copy of our package (its
// sha256). Nothing else is touched.
import { messageOf } from "../errors";
import { describeCommandEnd } from "../plan/command-status";
import { UNTAR_BASE } from "./host-probe";
import type { EmqxCli } from "./cli";

// $1 = the package's sha256, $2... = the directories seen before the upgrade.
const CLEANUP_SCRIPT = [
  'sha="$1"; shift',
  `for d in ${UNTAR_BASE}/emqx_untar_*; do`,
  '  [ -d "$d" ] && [ ! -L "$d" ] || continue',
  '  seen=no; for b in "$@"; do [ "$b" = "$d" ] && seen=yes; done',
  '  [ "$seen" = yes ] && continue',
  '  s=$(sha256sum "$d/emqx.zip" 2>/dev/null | cut -c1-64)',
  '  if [ "$s" = "$sha" ]; then rm -rf -- "$d" && echo "REMOVED $d"; else echo "KEPT $d"; fi',
  "done",
].join("\n");

/** What the cleanup did. */
export interface UntarCleanup {
  removed: string[];
  /** New directories that do not hold our package (another operation's): left alone. */
  kept: string[];
}

/** Removes the `emqx_untar_*` directories that appeared since `before` and hold the package
 * with `sha256`. Best effort: a failure is reported, never thrown (the upgrade's outcome stands). */
export async function removeNewUntarDirs(
  cli: EmqxCli,
  before: string[],
  sha256: string,
): Promise<UntarCleanup | { error: string }> {
  try {
    const r = await cli.exec(["sh", "-c", CLEANUP_SCRIPT, "sh", sha256, ...before]);
    const pick = (tag: string) =>
      r.stdout
        .split("\n")
        .filter((l) => l.startsWith(`${tag} `))
        .map((l) => l.slice(tag.length + 1));
    if (r.exitCode !== 0)
      return { error: `${describeCommandEnd(r)}: ${(r.stderr || r.stdout).trim().split("\n")[0] ?? ""}` };
    return { removed: pick("REMOVED"), kept: pick("KEPT") };
  } catch (e) {
    return { error: messageOf(e) };
  }
}
