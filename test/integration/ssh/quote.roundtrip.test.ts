// quoteArgv against real shells: arbitrary strings (fast-check) go through SshSession.run, the one
// exec path the provider uses, to a real OpenSSH sshd on 127.0.0.90. The login user's shell is
// /bin/sh (dash here), which parses the quoted line sshd hands it; the line also carries a second
// quoted line for bash, so both shells' parsing is checked in one exec. printf prints every
// argument followed by a NUL, so the output compares byte for byte with the arguments.
// (A user of its own: root's bash reads ~/.bashrc on every SSH command, whose noise is not ours.)
import { randomBytes } from "crypto";
import * as fc from "fast-check";
import { EmqxProviderError } from "../../../provider/errors";
import { connectSsh } from "../../../provider/ssh/connect";
import { quoteArgv } from "../../../provider/ssh/quote";
import { SshSession } from "../../../provider/ssh/session";
import { reliabilityTest } from "../../support/reliability";
import { ensureTestUser, startSshd, TestSshd } from "../../../sandbox/sshd";

const ADDRESS = "127.0.0.90";
const USER = "emqxquote";
const RUNS = 200;

let sshd: TestSshd;
let session: SshSession;

beforeAll(async () => {
  // Password login: the test sshd's authorized_keys sits in a directory only root may read.
  const password = randomBytes(12).toString("hex");
  sshd = await startSshd({ host: ADDRESS, passwordAuthentication: true });
  ensureTestUser(USER, password);
  session = await connectSsh({
    host: sshd.host,
    port: sshd.port,
    user: USER,
    password,
    hostKey: sshd.hostKeyLine,
    readyTimeoutMs: 10_000,
    dialAttempts: 1,
    dialRetryDelayMs: 0,
    commandTimeoutMs: 20_000,
  });
  // The login shell is sh, not bash: what the round trip below relies on.
  expect((await session.run(["sh", "-c", "readlink -f /proc/$PPID/exe"])).stdout.trim()).toMatch(/\/(dash|sh)$/);
});
afterAll(async () => {
  await session?.close();
  await sshd?.stop();
});

/** Characters a shell gives meaning to, plus line breaks, escapes and multi-byte ones. */
const SHELL_CHARS = [
  "'",
  '"',
  "\\",
  "$",
  "`",
  "\n",
  "\r",
  "\t",
  " ",
  "!",
  "*",
  "?",
  "[",
  "]",
  "~",
  "#",
  ";",
  "&",
  "|",
  "<",
  ">",
  "(",
  ")",
  "{",
  "}",
  "=",
  "%",
  "-",
  "\u001b",
  "é",
  "😀",
  "\u2028",
  "\uFEFF",
];
/** One argument: full Unicode (any code point but NUL), or dense in shell metacharacters. */
const argument = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.string({ unit: fc.constantFrom(...SHELL_CHARS), maxLength: 60 }),
  )
  .map((s) => s.replace(/\0/g, ""));

/** The login shell (sh) parses the quoted line SshSession.run sends and hands the arguments to a
 * script that prints them (`printf '%s\0' "$@"`, no parsing of its own), then a \x01, then runs the
 * same printf as a quoted line in bash. Returns the output, which must be `expectedEcho(args)`. */
async function echoed(args: string[]): Promise<string> {
  const script = `line=$1; shift; printf '%s\\0' "$@"; printf '\\001'; exec bash --norc --noprofile -c "$line"`;
  const r = await session.run(["sh", "-c", script, "sh", quoteArgv(["printf", "%s\\0", ...args]), ...args]);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  return r.stdout;
}

function expectedEcho(args: string[]): string {
  const once = args.map((a) => `${a}\0`).join("");
  return `${once}\x01${once}`;
}

reliabilityTest(
  {
    area: "input",
    case: `arbitrary strings as remote command arguments (fast-check, ${RUNS} runs of 1-4 arguments: full Unicode, quotes, newlines, $, backticks, globs)`,
    expected:
      "each argument reaches the host's login shell (sh) and bash as one literal word: printf prints it back byte for byte",
  },
  async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(argument, { minLength: 1, maxLength: 4 }), async (args) => {
        expect(await echoed(args)).toBe(expectedEcho(args));
      }),
      { numRuns: RUNS },
    );
  },
  300_000,
);

reliabilityTest(
  {
    area: "input",
    case: "shell words that mean something: reserved words, an assignment, ~, a glob, an option, an empty string, a lone quote",
    expected: "each printed back literally, no expansion, no assignment, no keyword",
  },
  async () => {
    const args = [
      "if",
      "then",
      "done",
      "A=b",
      "~",
      "~root",
      "*",
      "/*",
      "-n",
      "--",
      "",
      "'",
      "$HOME",
      "$(id)",
      "`id`",
      "a\nb",
      "%s",
    ];
    expect(await echoed(args)).toBe(expectedEcho(args));
    // Reserved words in command position too: `'if'` runs no command named if, it is no keyword.
    const r = await session.run(["if", "true"]);
    expect([r.exitCode, r.stderr]).toEqual([127, expect.stringMatching(/if: command not found|if: not found/)]);
  },
);

reliabilityTest(
  {
    area: "input",
    case: "a NUL byte anywhere in a remote command argument (fast-check)",
    expected:
      'SshSession.run refuses before any exec: EmqxProviderError "contains a NUL byte"; the session still works',
  },
  async () => {
    await fc.assert(
      fc.asyncProperty(argument, argument, async (before, after) => {
        const err = await session.run(["printf", "%s", `${before}\0${after}`]).then(
          () => new Error("ran, but a refusal was expected"),
          (e: unknown) => e,
        );
        expect(EmqxProviderError.isInstance(err)).toBe(true);
        expect((err as Error).message).toMatch(
          /^cannot pass ".*" to a remote command: it contains a NUL byte, which no shell argument can hold$/s,
        );
      }),
      { numRuns: 50 },
    );
    expect((await session.run(["printf", "%s", "still open"])).stdout).toBe("still open");
  },
);

reliabilityTest(
  {
    area: "input",
    case: "a lone UTF-16 surrogate in a remote command argument",
    expected: 'SshSession.run refuses before any exec: EmqxProviderError "not valid Unicode"',
  },
  async () => {
    for (const s of ["x\uD800", "\uDC00y", "a\uDBFFb"]) {
      await expect(session.run(["printf", "%s", s])).rejects.toThrow(
        /to a remote command: it is not valid Unicode \(a lone UTF-16 surrogate\)$/,
      );
    }
  },
);
