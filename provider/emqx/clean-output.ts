// What every parser does first: drop the noise EMQX's bin/emqx and terminals add around the answer.

// Terminal escape sequences as wrappers and login shells add them: CSI (colours, cursor moves:
// ESC [ 1;31 m), OSC (a window title: ESC ] 0;root@host BEL, or ended by ESC \) and character set
// selection (ESC ( B, which `tput sgr0` prints). Bounded quantifiers keep it linear on any input.
const ANSI_RE = /\u001b(?:\[[0-9;?]{0,32}[A-Za-z]|\][^\u0007\u001b]{0,512}(?:\u0007|\u001b\\)|[()][A-Za-z0-9])/g;

/** Output lines without CR, ANSI colours and bin/emqx's ulimit warning block (docs/emqx-4.4-hot-upgrade.md §1.1 step 6:
 * `!!!!` lines printed to stdout before every command's own output). */
export function cleanLines(output: string): string[] {
  return output
    .replace(ANSI_RE, "")
    .replace(/\r/g, "")
    .split("\n")
    .filter((line) => !line.startsWith("!!!!"));
}
