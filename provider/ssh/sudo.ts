// The one way a command runs as another user (`runAs`): sudo, never prompting on a terminal.
// Without a password: `sudo -n` (fails at once where sudo wants one). With `sudoPassword`:
// `sudo -S -k -p ""`, the password on the first line of stdin: -k makes sudo ask every time, so the
// password can never fall through to the command's stdin on a host with cached credentials, and
// sudo stops after its tries at stdin's end instead of waiting. The password is never in argv.

/** Whom to run as, and the sudo password when the host's sudoers asks for one. */
export interface SudoAs {
  user: string;
  password?: string;
}

/** argv and stdin that run `argv` as `as.user` (unchanged when `as` is undefined). */
export function asUser(
  argv: string[],
  as: SudoAs | undefined,
  stdin?: string | Buffer,
): { argv: string[]; stdin?: string | Buffer } {
  if (!as) return { argv, stdin };
  if (as.password === undefined) return { argv: ["sudo", "-n", "-u", as.user, "--", ...argv], stdin };
  const line = `${as.password}\n`;
  return {
    argv: ["sudo", "-S", "-k", "-p", "", "-u", as.user, "--", ...argv],
    stdin: stdin === undefined ? line : Buffer.concat([Buffer.from(line), Buffer.from(stdin)]),
  };
}

/** The command inside argv that `asUser` built: argv without its sudo prefix (either form), as the
 * user would type it; argv itself when it has no such prefix. */
export function commandOf(argv: string[]): string[] {
  if (argv[0] !== "sudo") return argv;
  const end = argv.indexOf("--");
  return end > 0 ? argv.slice(end + 1) : argv;
}

/** True when argv runs through sudo (built by `asUser` with a user). */
export function runsThroughSudo(argv: string[]): boolean {
  return argv[0] === "sudo" && argv.indexOf("--") > 0;
}

/** Why sudo refused before running the command, from its stderr and exit code; undefined when it
 * did not (the command ran, whatever its own exit code). */
export function sudoRefusal(
  exitCode: number | null,
  stderr: string,
): "password-required" | "password-refused" | undefined {
  if (exitCode !== 1) return undefined;
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) return "password-required";
  if (/sudo: (\d+ incorrect password attempts?|no password was provided)|^Sorry, try again\./m.test(stderr))
    return "password-refused";
  return undefined;
}

/** What to tell the user when sudo refused, naming the commands to allow where known. */
export function sudoAdvice(
  refusal: "password-required" | "password-refused",
  sshUser: string,
  runAs: string,
  commands = "ALL",
): string {
  if (refusal === "password-refused") {
    return `sudo refused the sudoPassword given for ${sshUser} (wrong password, or ${sshUser} may not run commands as ${runAs}): check connection.sudoPassword and the sudoers rules on the host`;
  }
  return (
    `sudo wants a password to run commands as ${runAs}: set connection.sudoPassword (a secret), or allow ${sshUser} to run them without one, ` +
    `e.g. in /etc/sudoers.d/emqx-release: "${sshUser} ALL=(${runAs}) NOPASSWD: ${commands}"`
  );
}
