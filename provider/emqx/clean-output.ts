// What every parser does first: drop the noise EMQX's bin/emqx and terminals add around the answer.

// ANSI escape sequences (colours, cursor moves) as some wrappers and login shells add them.
const ANSI_RE = /\u001b\[[0-9;?]{0,32}[A-Za-z]/g;

/** Output lines without CR, ANSI colours and bin/emqx's ulimit warning block (ref §1.1 step 6:
 * `!!!!` lines printed to stdout before every command's own output). */
export function cleanLines(output: string): string[] {
  return output
    .replace(ANSI_RE, "")
    .replace(/\r/g, "")
    .split("\n")
    .filter((line) => !line.startsWith("!!!!"));
}
