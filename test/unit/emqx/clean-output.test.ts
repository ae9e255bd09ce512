// cleanLines: the noise every parser drops first (CR, ANSI colours, bin/emqx's ulimit block).
import { cleanLines } from "../../../provider/emqx/clean-output";
import { expectNotSuperlinear } from "../../support/linear-time";

// Row: [case, output, expected lines]
const ROWS: [string, string, string[]][] = [
  ["removes CR, colours and the ulimit block", "!!!!\n\u001b[1mok\u001b[0m\r\n", ["ok", ""]],
  ["keeps a line that only contains !!!! further in", "note !!!! here\n", ["note !!!! here", ""]],
  ["removes cursor moves and private modes", "\u001b[2K\u001b[?25lready\u001b[?25h", ["ready"]],
  ["keeps a lone ESC that starts no sequence", "a\u001bb", ["a\u001bb"]],
  ["removes a window title (OSC ended by BEL or by ESC \\)", "\u001b]0;root@h: ~\u0007ok\u001b]2;t\u001b\\", ["ok"]],
  ["removes tput sgr0's character set selection", "\u001b(B\u001b[mok", ["ok"]],
  ["keeps an OSC that never ends", "\u001b]0;title", ["\u001b]0;title"]],
];
test.each(ROWS)("%s", (_name, output, expected) => {
  expect(cleanLines(output)).toEqual(expected);
});

test("cleans megabytes of escape-like text quickly", () => {
  const start = Date.now();
  expect(cleanLines("\u001b[" + "0;".repeat(2_000_000))).toHaveLength(1);
  expect(cleanLines("\u001b]" + "x".repeat(4_000_000))).toHaveLength(1);
  expectNotSuperlinear(start);
});
