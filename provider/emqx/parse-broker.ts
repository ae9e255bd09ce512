// Parses `emqx ctl broker` (4.4): four `"~-10s: ~s~n"` lines, sysdescr, version, uptime, datetime
// (docs/emqx-4.4-observability.md §2.2). `uptime` is the VM's wall clock in EMQX's words:
//   uptime    : 12 days,3 hours, 4 minutes, 5 seconds
import { EmqxOutputParseError } from "../errors";
import { cleanLines } from "./clean-output";

/** What `broker` says about the node. */
export interface BrokerInfo {
  sysdescr: string;
  version: string;
  /** The VM's wall-clock time in seconds: smaller after an operation means the node restarted. */
  uptimeSeconds: number;
  datetime: string;
}

const LINE_RE = /^(sysdescr|version|uptime|datetime) {0,10}: (.{0,200})$/;
// "5 seconds", "2 minutes, 5 seconds", "1 hours, 2 minutes, 5 seconds", "3 days,1 hours, ..."
// (EMQX writes "days," without a space; one is accepted too).
// Each larger unit comes only with every smaller one.
const UPTIME_RE = /^(?:(?:(?:([0-9]{1,9}) days, ?)?([0-9]{1,2}) hours, )?([0-9]{1,2}) minutes, )?([0-9]{1,2}) seconds$/;

/** Parses the four lines; throws EmqxOutputParseError when one is missing or uptime is unreadable. */
export function parseBroker(stdout: string, argv: string[]): BrokerInfo {
  const fields: Record<string, string> = {};
  for (const line of cleanLines(stdout)) {
    const m = LINE_RE.exec(line.trimEnd());
    if (m) fields[m[1]] = m[2];
  }
  for (const k of ["sysdescr", "version", "uptime", "datetime"]) {
    if (fields[k] === undefined)
      throw new EmqxOutputParseError({ argv, output: stdout, what: `no "${k}    : ..." line` });
  }
  const uptimeSeconds = parseUptime(fields.uptime);
  if (uptimeSeconds === undefined)
    throw new EmqxOutputParseError({
      argv,
      output: stdout,
      what: `uptime ${JSON.stringify(fields.uptime)} is not "[D days,][H hours, ][M minutes, ]S seconds"`,
    });
  return { sysdescr: fields.sysdescr, version: fields.version, uptimeSeconds, datetime: fields.datetime };
}

/** Seconds of EMQX's uptime text, or undefined when it is not in EMQX's form. */
export function parseUptime(text: string): number | undefined {
  const m = UPTIME_RE.exec(text.trim());
  if (!m) return undefined;
  const [d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0));
  return ((d * 24 + h) * 60 + min) * 60 + s;
}
