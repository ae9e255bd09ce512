// Opt-in command output logging: off unless EMQX_RELEASE_LOG_COMMAND_OUTPUT=1; when on, each
// command, its status and its output (trimmed) are logged.
import { EmqxCli } from "../../../provider/emqx/cli";
import { commandOutputWanted, describeArgv, loggingRunner, MAX_LOGGED_LINES } from "../../../provider/emqx/output-log";
import type { CommandResult, Runner } from "../../../provider/runner";

const answer = (r: Partial<CommandResult>): Runner => ({
  host: "10.0.0.7",
  run: async () => ({ exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, ...r }),
});

// Row: [environment value, wanted?]
const ENV: [string | undefined, boolean][] = [
  [undefined, false],
  ["", false],
  ["0", false],
  ["true", false],
  ["1", true],
];
test.each(ENV)("EMQX_RELEASE_LOG_COMMAND_OUTPUT=%p turns logging on: %p", (value, wanted) => {
  expect(commandOutputWanted({ EMQX_RELEASE_LOG_COMMAND_OUTPUT: value })).toBe(wanted);
});

test("logs the command, its exit status and each output line", async () => {
  const lines: string[] = [];
  const r = await loggingRunner(
    answer({
      exitCode: 2,
      stdout: "Unpack failed: release_package_not_found\nInstalled versions:\n",
      stderr: "warn\n",
    }),
    (l) => lines.push(l),
  ).run(["/usr/bin/emqx", "upgrade", "4.4.16"]);
  expect(r.exitCode).toBe(2);
  expect(lines).toEqual([
    "$ /usr/bin/emqx upgrade 4.4.16 -> exited 2",
    "  stdout| Unpack failed: release_package_not_found",
    "  stdout| Installed versions:",
    "  stderr| warn",
  ]);
});

test("shortens script bodies and quotes words with spaces", () => {
  expect(describeArgv(["sh", "-c", 'root="$1"\necho "@@os-release"\necho "@@end"', "sh", "/opt/emqx", "it's"])).toBe(
    "sh -c 'root=\"$1\" …(3 lines)' sh /opt/emqx 'it'\\''s'",
  );
});

test("keeps at most MAX_LOGGED_LINES lines of a stream", async () => {
  const lines: string[] = [];
  await loggingRunner(answer({ stdout: "x\n".repeat(MAX_LOGGED_LINES + 50) }), (l) => lines.push(l)).run([
    "emqx",
    "versions",
  ]);
  expect(lines).toHaveLength(1 + MAX_LOGGED_LINES + 1);
  expect(lines[lines.length - 1]).toBe("  stdout| … (50 more lines)");
});

test("EmqxCli with outputLog logs every command as run on the host (timeouts too)", async () => {
  const runner = answer({ exitCode: null, timedOut: true });
  const lines: string[] = [];
  await new EmqxCli(runner, {
    emqxPath: "emqx",
    commandTimeoutMs: 1,
    upgradeTimeoutMs: 1,
    runAs: "emqx",
    outputLog: (l) => lines.push(l),
  }).ping();
  expect(lines).toEqual(["$ sudo -n -u emqx -- emqx ping -> timed out after 1 ms"]);
});

// Regression: the logging runner dropped the runner's `user`, so with command output logging on,
// sudo's advice named "<ssh user>" instead of the SSH login that needs the sudoers rule.
test("keeps the runner's login user: sudo's advice names it with logging on", async () => {
  const refusing: Runner = {
    host: "10.0.0.7",
    user: "deploy",
    run: async () => ({
      exitCode: 1,
      signal: null,
      stdout: "",
      stderr: "sudo: a password is required\n",
      timedOut: false,
    }),
  };
  expect(loggingRunner(refusing, () => undefined).user).toBe("deploy");
  const cli = new EmqxCli(refusing, {
    emqxPath: "/usr/bin/emqx",
    runAs: "emqx",
    commandTimeoutMs: 1000,
    upgradeTimeoutMs: 400_000,
    outputLog: () => undefined,
  });
  const err = (await cli.rootDir().catch((e: unknown) => e)) as Error;
  expect(err.message).toContain('"deploy ALL=(emqx) NOPASSWD: ALL"');
  expect(err.message).not.toContain("<ssh user>");
});

test("logs a timeout with the command's timeout, as every other message says it", async () => {
  const lines: string[] = [];
  await loggingRunner(answer({ exitCode: null, timedOut: true }), (l) => lines.push(l)).run(["emqx", "versions"], {
    timeoutMs: 2000,
  });
  expect(lines).toEqual(["$ emqx versions -> timed out after 2 s"]);
});
