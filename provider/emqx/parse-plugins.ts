// Parses `emqx ctl plugins list` (4.4): `Plugin(<name>, description=<text>, active=<true|false>)`
// per plugin (docs/emqx-4.4-observability.md §2.5).
import { EmqxOutputParseError } from "../errors";
import { cleanLines } from "./clean-output";

/** One plugin as listed. */
export interface PluginInfo {
  name: string;
  description: string;
  active: boolean;
}

const PLUGIN_RE = /^Plugin\(([a-z][a-z0-9_]{0,99}), description=(.{0,500}), active=(true|false)\)$/;

/** Every plugin, in the CLI's order; throws EmqxOutputParseError on any other line. */
export function parsePlugins(stdout: string, argv: string[]): PluginInfo[] {
  const out: PluginInfo[] = [];
  for (const line of cleanLines(stdout)) {
    if (line.trim() === "") continue;
    const m = PLUGIN_RE.exec(line.trim());
    if (!m)
      throw new EmqxOutputParseError({
        argv,
        output: stdout,
        what: `the line ${JSON.stringify(line.slice(0, 120))} is not "Plugin(<name>, description=<text>, active=<bool>)"`,
      });
    out.push({ name: m[1], description: m[2], active: m[3] === "true" });
  }
  return out;
}
