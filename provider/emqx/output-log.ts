// Opt-in logging of what each command on the node printed. Off by default: output can carry
// secrets (a health-gate command's token, a cookie in a vm.args an operator cats). Turned on for
// a run by the environment variable EMQX_RELEASE_LOG_COMMAND_OUTPUT=1, never by state.
import { trimLines } from "../errors";
import { describeCommandEnd } from "../plan/command-status";
import type { CommandResult, RunOptions, Runner } from "../runner";

/** Environment variable that turns command output logging on ("1"). */
export const COMMAND_OUTPUT_ENV = "EMQX_RELEASE_LOG_COMMAND_OUTPUT";

/** At most this many lines of each stream are logged per command. */
export const MAX_LOGGED_LINES = 200;

/** True when `env` asks for command output in the log. */
export function commandOutputWanted(env: Record<string, string | undefined>): boolean {
  return env[COMMAND_OUTPUT_ENV] === "1";
}

/** argv for a log line: script bodies (arguments with line breaks) shortened to their first line. */
export function describeArgv(argv: string[]): string {
  return argv
    .map((a) =>
      a.includes("\n")
        ? `'${a.split("\n")[0]} …(${a.split("\n").length} lines)'`
        : /^[\w@%+=:,./-]+$/.test(a)
          ? a
          : `'${a.replace(/'/g, "'\\''")}'`,
    )
    .join(" ");
}

/** A Runner that logs each command, its exit status and its output (trimmed) through `log`. */
export function loggingRunner(runner: Runner, log: (line: string) => void): Runner {
  return {
    host: runner.host,
    user: runner.user,
    async run(argv: string[], options?: RunOptions): Promise<CommandResult> {
      const r = await runner.run(argv, options);
      const status = describeCommandEnd(r, options?.timeoutMs);
      log(`$ ${describeArgv(argv)} -> ${status}`);
      for (const [name, text] of [
        ["stdout", r.stdout],
        ["stderr", r.stderr],
      ] as const) {
        if (text.trim() === "") continue;
        for (const line of trimLines(text, MAX_LOGGED_LINES, 64_000).split("\n")) log(`  ${name}| ${line}`);
      }
      return r;
    },
  };
}
