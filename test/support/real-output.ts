// What EMQX 4.4's real scripts printed (test/fixtures/real-4.4, see its README): stdout and stderr
// verbatim per captured command, looked up by the transcript's id ("A01", "B41"). The capture wrote
// the install root as `<R>`; REAL_OUTPUT_ROOT stands in for it.
import * as fs from "fs";
import * as path from "path";

const DIR = path.join(__dirname, "..", "fixtures", "real-4.4");

/** The install root put where the capture wrote `<R>`. */
export const REAL_OUTPUT_ROOT = "/opt/emqx";

/** One captured command. */
export interface RealOutput {
  /** The name in index.json, e.g. "A13-upgrade-cross-minor". */
  name: string;
  /** The command line as captured, e.g. "/opt/emqx/bin/emqx upgrade 4.3.5". */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

let index: Record<string, { command: string; exitCode: number }> | undefined;

/** The capture with this id; throws naming the id when the fixtures do not hold it. */
export function realOutput(id: string): RealOutput {
  index ??= JSON.parse(fs.readFileSync(path.join(DIR, "index.json"), "utf8")) as Record<
    string,
    { command: string; exitCode: number }
  >;
  const name = Object.keys(index).find((k) => k.startsWith(`${id}-`));
  if (!name) throw new Error(`no capture ${id} in test/fixtures/real-4.4/index.json`);
  const root = (s: string) => s.split("<R>").join(REAL_OUTPUT_ROOT);
  const read = (ext: string) => {
    const file = path.join(DIR, `${name}.${ext}`);
    return fs.existsSync(file) ? root(fs.readFileSync(file, "utf8")) : "";
  };
  return {
    name,
    command: root(index[name].command),
    exitCode: index[name].exitCode,
    stdout: read("stdout"),
    stderr: read("stderr"),
  };
}
