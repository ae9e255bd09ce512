// Quoting for the remote shell. An SSH exec request carries one command line, which sshd hands to
// the login user's shell (`sh -c '<line>'`), so every argv element must reach that shell as one
// literal word. quoteArgv is the one function every remote command line is built with.
import { EmqxProviderError } from "../errors";

/** Words made only of these characters mean themselves to a POSIX shell, so they stay bare for
 * readable logs (`/opt/emqx/bin/emqx versions`). `=` is left out (a leading `A=b` word is an
 * assignment), and so are `~`, glob and expansion characters. */
const BARE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/** Reserved words are only special in command position, but quoting them everywhere is simpler
 * and costs nothing. (An array, not a Set: module-level values are serialized by Pulumi.) */
const RESERVED_WORDS = [
  "if",
  "then",
  "else",
  "elif",
  "fi",
  "case",
  "esac",
  "for",
  "while",
  "until",
  "do",
  "done",
  "in",
  "function",
  "select",
  "time",
  "coproc",
];

/** A UTF-16 surrogate that is not part of a pair: it would be sent as U+FFFD, not as itself. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** One argument as a POSIX shell word: bare if safe, otherwise single-quoted, with each `'`
 * written as `'\''` (close the quote, an escaped quote, reopen).
 * @example quoteArg("it's") === `'it'\\''s'` */
export function quoteArg(s: string): string {
  if (s.includes("\0")) {
    throw new EmqxProviderError(
      `cannot pass ${JSON.stringify(s.slice(0, 60))} to a remote command: it contains a NUL byte, which no shell argument can hold`,
    );
  }
  if (LONE_SURROGATE.test(s)) {
    throw new EmqxProviderError(
      `cannot pass ${JSON.stringify(s.slice(0, 60))} to a remote command: it is not valid Unicode (a lone UTF-16 surrogate)`,
    );
  }
  if (s === "") return "''";
  if (BARE_WORD.test(s) && !RESERVED_WORDS.includes(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line that makes the remote shell run exactly `argv` (no expansion, no splitting). */
export function quoteArgv(argv: string[]): string {
  if (argv.length === 0) throw new EmqxProviderError("cannot run an empty command (argv has no elements)");
  return argv.map(quoteArg).join(" ");
}
