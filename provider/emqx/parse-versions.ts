// Parses `emqx versions` (docs/emqx-4.4-hot-upgrade.md §2.4): a header, `* <vsn>\t<status>` lines, a blank line.
import { EmqxOutputParseError } from "../errors";
import type { InstalledRelease } from "../plan/upgrade-plan";
import { cleanLines } from "./clean-output";

const HEADER = "Installed versions:";
// The real separator is a tab; the docs print a space, so accept either.
const LINE_RE = /^\* ([0-9A-Za-z.+-]{1,64})[\t ]+(permanent|current|old|unpacked)[\t ]*$/;

/** The releases `emqx versions` lists, in its order. Throws EmqxOutputParseError on anything else. */
export function parseVersions(stdout: string, argv: string[]): InstalledRelease[] {
  const lines = cleanLines(stdout);
  const start = lines.findIndex((l) => l.trim() === HEADER);
  if (start < 0) throw new EmqxOutputParseError({ argv, output: stdout, what: `no "${HEADER}" line` });
  const out: InstalledRelease[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") {
      if (out.length > 0) break;
      continue;
    }
    const m = LINE_RE.exec(line);
    if (!m)
      throw new EmqxOutputParseError({
        argv,
        output: stdout,
        what: `unexpected line ${JSON.stringify(line.slice(0, 120))}`,
      });
    out.push({ version: m[1], status: m[2] as InstalledRelease["status"] });
  }
  if (out.length === 0) throw new EmqxOutputParseError({ argv, output: stdout, what: "no installed release listed" });
  return out;
}
