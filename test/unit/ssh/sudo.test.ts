import { asUser, commandOf, runsThroughSudo, sudoAdvice, sudoRefusal } from "../../../provider/ssh/sudo";

test("without runAs the command is unchanged", () => {
  expect(asUser(["emqx", "versions"], undefined)).toEqual({ argv: ["emqx", "versions"], stdin: undefined });
});

test("without a password: sudo -n, which fails at once instead of prompting", () => {
  expect(asUser(["emqx", "versions"], { user: "emqx" })).toEqual({
    argv: ["sudo", "-n", "-u", "emqx", "--", "emqx", "versions"],
    stdin: undefined,
  });
});

test("with a password: sudo -S -k -p '' and the password only on stdin's first line, before the command's own input", () => {
  const r = asUser(["tee", "/x"], { user: "emqx", password: "s3cr3t pw" }, "body");
  expect(r.argv).toEqual(["sudo", "-S", "-k", "-p", "", "-u", "emqx", "--", "tee", "/x"]);
  expect(r.argv.join(" ")).not.toContain("s3cr3t");
  expect(Buffer.from(r.stdin as Buffer).toString()).toBe("s3cr3t pw\nbody");
  expect(asUser(["true"], { user: "emqx", password: "pw" }).stdin).toBe("pw\n");
});

// Row: [stderr as sudo prints it, exit code, refusal]
const STDERR: [string, number | null, ReturnType<typeof sudoRefusal>][] = [
  ["sudo: a password is required\n", 1, "password-required"],
  [
    "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\n",
    1,
    "password-required",
  ],
  ["Sorry, try again.\nSorry, try again.\nsudo: 3 incorrect password attempts\n", 1, "password-refused"],
  ["sudo: no password was provided\nsudo: 1 incorrect password attempt\n", 1, "password-refused"],
  ["Node 'emqx@127.0.0.1' not responding to pings.\n", 1, undefined],
  ["sudo: a password is required\n", 2, undefined],
];
test.each(STDERR)("sudoRefusal(%j, %p) = %p", (stderr, code, want) => {
  expect(sudoRefusal(code, stderr)).toBe(want);
});

test("advice names sudoPassword and the sudoers line, never a password", () => {
  expect(sudoAdvice("password-required", "deploy", "emqx", "/usr/bin/stat")).toBe(
    'sudo wants a password to run commands as emqx: set connection.sudoPassword (a secret), or allow deploy to run them without one, e.g. in /etc/sudoers.d/emqx-release: "deploy ALL=(emqx) NOPASSWD: /usr/bin/stat"',
  );
  expect(sudoAdvice("password-refused", "deploy", "emqx")).toContain("sudo refused the sudoPassword given for deploy");
});

test("commandOf takes off the prefix asUser added, in either form, and nothing else", () => {
  for (const as of [{ user: "emqx" }, { user: "emqx", password: "pw" }]) {
    const { argv } = asUser(["emqx", "ctl", "status"], as);
    expect(runsThroughSudo(argv)).toBe(true);
    expect(commandOf(argv)).toEqual(["emqx", "ctl", "status"]);
  }
  expect(commandOf(["emqx", "--", "x"])).toEqual(["emqx", "--", "x"]);
  expect(runsThroughSudo(["emqx", "versions"])).toBe(false);
});
