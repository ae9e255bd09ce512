// Opt-in command output logging: off unless EMQX_RELEASE_LOG_COMMAND_OUTPUT=1; when on, each
// command, its status and its output (trimmed) are logged.
import { EmqxCli } from "../../../provider/emqx/cli";
import { commandOutputWanted, describeArgv, loggingRunner, MAX_LOGGED_LINES } from "../../../provider/emqx/output-log";
import type { CommandResult, Runner } from "../../../provider/runner";

const answer = (r: Partial<CommandResult>): Runner => ({ host: "10.0.0.7", run: async () => ({ exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, ...r }) });

// Row: [environment value, wanted?]
const ENV: [string | undefined, boolean][] = [[undefined, false], ["", false], ["0", false], ["true", false], ["1", true]];
test.each(ENV)("EMQX_RELEASE_LOG_COMMAND_OUTPUT=%p turns logging on: %p", (value, wanted) => {
  expect(commandOutputWanted({ EMQX_RELEASE_LOG_COMMAND_OUTPUT: value })).toBe(wanted);
});

test("logs the command, its exit status and each output line", async () => {
  const lines: string[] = [];
  const r = await loggingRunner(answer({ exitCode: 2, stdout: "Unpack failed: release_package_not_found\nInstalled versions:\n", stderr: "warn\n" }), (l) => lines.push(l)).run(["/usr/bin/emqx", "upgrade", "4.4.16"]);
  expect(r.exitCode).toBe(2);
  expect(lines).toEqual(["$ /usr/bin/emqx upgrade 4.4.16 -> exit 2", "  stdout| Unpack failed: release_package_not_found", "  stdout| Installed versions:", "  stderr| warn"]);
});

test("shortens script bodies and quotes words with spaces", () => {
  expect(describeArgv(["sh", "-c", 'root="$1"\necho "@@os-release"\necho "@@end"', "sh", "/opt/emqx", "it's"])).toBe("sh -c 'root=\"$1\" …(3 lines)' sh /opt/emqx 'it'\\''s'");
});

test("keeps at most MAX_LOGGED_LINES lines of a stream", async () => {
  const lines: string[] = [];
  await loggingRunner(answer({ stdout: "x\n".repeat(MAX_LOGGED_LINES + 50) }), (l) => lines.push(l)).run(["emqx", "versions"]);
  expect(lines).toHaveLength(1 + MAX_LOGGED_LINES + 1);
  expect(lines[lines.length - 1]).toBe("  stdout| … (50 more lines)");
});

test("EmqxCli with outputLog logs every command as run on the host (timeouts too)", async () => {
  const runner = answer({ exitCode: null, timedOut: true });
  const lines: string[] = [];
  await new EmqxCli(runner, { emqxPath: "emqx", commandTimeoutMs: 1, upgradeTimeoutMs: 1, runAs: "emqx", outputLog: (l) => lines.push(l) }).ping();
  expect(lines).toEqual(["$ sudo -n -u emqx -- emqx ping -> timed out"]);
});
