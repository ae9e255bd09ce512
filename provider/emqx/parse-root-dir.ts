// Parses `emqx root_dir`: nodetool prints the path with ~p, i.e. in double quotes (docs/emqx-4.4-hot-upgrade.md §1.3).
import { EmqxOutputParseError } from "../errors";
import { cleanLines } from "./clean-output";

const QUOTED_PATH_RE = /^"(\/[^"\\\n]{0,4000})"$/;

/** The EMQX install root, without quotes. */
export function parseRootDir(stdout: string, argv: string[]): string {
  const lines = cleanLines(stdout)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const last = lines[lines.length - 1] ?? "";
  const m = QUOTED_PATH_RE.exec(last) ?? /^(\/[^"\\\n]{0,4000})$/.exec(last);
  if (!m)
    throw new EmqxOutputParseError({
      argv,
      output: stdout,
      what: 'expected an absolute path in double quotes, e.g. "/usr/lib/emqx"',
    });
  return m[1].replace(/\/+$/, "") || "/";
}
