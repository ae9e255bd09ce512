// Parses `emqx ctl broker stats` (4.4): one `<name padded to 30>: <integer>` line per statistic,
// sorted by name (format "~-30s: ~w~n", docs/emqx-4.4-observability.md §2.3):
//   connections.count             : 12
//   live_connections.count        : 11
import { EmqxOutputParseError } from "../errors";
import { cleanLines } from "./clean-output";

// The name is dotted lowercase words; the padding makes the space before the colon optional
// (`subscriptions.shared.count.max: 0` fills all 30 columns). Bounded, so linear on any input.
const STAT_RE = /^([a-z][a-z0-9_.]{0,99}) {0,30}: ([0-9]{1,15})$/;

/** Statistics by name (`live_connections.count` -> 11). Throws EmqxOutputParseError when the
 * output holds no statistic line, or a line that is neither a statistic nor blank. */
export function parseBrokerStats(stdout: string, argv: string[]): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const line of cleanLines(stdout)) {
    if (line.trim() === "") continue;
    const m = STAT_RE.exec(line.trimEnd());
    if (!m)
      throw new EmqxOutputParseError({
        argv,
        output: stdout,
        what: `the line ${JSON.stringify(line.slice(0, 120))} is not "<statistic>: <number>"`,
      });
    stats[m[1]] = Number(m[2]);
  }
  if (Object.keys(stats).length === 0)
    throw new EmqxOutputParseError({ argv, output: stdout, what: 'no "<statistic>: <number>" line' });
  return stats;
}
