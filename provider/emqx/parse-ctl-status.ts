// Parses `emqx ctl status` (4.4): `Node 'emqx@127.0.0.1' 4.4.16 is started` (docs/emqx-4.4-hot-upgrade.md §1.3).
import { EmqxOutputParseError } from "../errors";
import { cleanLines } from "./clean-output";

/** The node name, the version its code reports, and init's status. */
export interface CtlStatus {
  node: string;
  version: string;
  status: "started" | "starting" | "stopping";
}

const STATUS_RE = /^Node '([^'\n]{1,255})' ([0-9A-Za-z.+-]{1,64}) is (started|starting|stopping)$/;

/** Parses the status line; throws EmqxOutputParseError when there is none. */
export function parseCtlStatus(stdout: string, argv: string[]): CtlStatus {
  for (const line of cleanLines(stdout)) {
    const m = STATUS_RE.exec(line.trim());
    if (m) return { node: m[1], version: m[2], status: m[3] as CtlStatus["status"] };
  }
  throw new EmqxOutputParseError({ argv, output: stdout, what: "no \"Node '<name>' <version> is <status>\" line" });
}
