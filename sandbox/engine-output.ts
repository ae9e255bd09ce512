// How the demo and the tests ask the pulumi CLI for output that reads cleanly in a terminal and in
// a CI log. Without a TTY the CLI prints a progress "spinner" as a line of dots: `@ updating` and
// one more `.` every 20 s while a step runs (`@ updating....`), ended by a newline only when the
// next line comes. `--suppress-progress` turns it off, `--color never` the colour codes.
//
// Automation API callers spread CLEAN_OUTPUT into an operation's options (sandbox/stack-driver.ts);
// callers of the CLI itself pass CLEAN_OUTPUT_FLAGS. stripProgress is for output from elsewhere
// (a CLI run without the flags): it removes the spinner's text and keeps whatever shares its line.

/** Automation API options for preview/up/refresh/destroy. */
export const CLEAN_OUTPUT = { color: "never", suppressProgress: true } as const;

/** The same as `pulumi` command-line flags. */
export const CLEAN_OUTPUT_FLAGS: readonly string[] = ["--color", CLEAN_OUTPUT.color, "--suppress-progress"];

// `@ ` (or `✨ ` where the CLI prints emoji), the operation, `...` and a dot per tick.
const SPINNER = /^(?:@ |\u2728 )[a-z]+\.{3,}/;

/** The line without the spinner's text, or undefined when nothing else was on it.
 * @example stripProgress("@ updating....") // undefined
 * @example stripProgress("@ updating....    pulumi:pulumi:Stack demo running") // "    pulumi:pulumi:Stack demo running" */
export function stripProgress(line: string): string | undefined {
  const m = SPINNER.exec(line);
  if (!m) return line;
  const rest = line.slice(m[0].length);
  return rest.trim() === "" ? undefined : rest;
}
