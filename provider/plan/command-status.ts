// How a command on a host ended, in words: the one describer every message and log line uses
// (the CLI's errors, the health gate's detail, the upload's errors, the command output log).

/** The parts of a command's result that say how it ended (a `CommandResult` has them). */
export interface CommandEnd {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
}

/** "exited 7", "timed out after 5 s" (or "after 200 ms" below a second; "timed out" when not known), "was killed by
 * SIGKILL", or "was killed (no exit status)" when the server reported neither code nor signal. */
export function describeCommandEnd(r: CommandEnd, timeoutMs?: number): string {
  if (r.timedOut)
    return timeoutMs === undefined
      ? "timed out"
      : `timed out after ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`;
  if (r.exitCode === null) return r.signal ? `was killed by ${r.signal}` : "was killed (no exit status)";
  return `exited ${r.exitCode}`;
}
