import { HostStateError, RemoteCommandError } from "../../../provider/errors";
import { EmqxCli } from "../../../provider/emqx/cli";
import { FixtureRunner } from "../../support/fixture-runner";

const OPTS = { emqxPath: "/opt/emqx/bin/emqx", commandTimeoutMs: 1000, upgradeTimeoutMs: 400_000 };

test("runs the CLI as argv, prefixed with sudo -n -u when runAs is set", async () => {
  const runner = new FixtureRunner([{ match: /root_dir$/, result: { stdout: '"/opt/emqx"\n' } }]);
  await new EmqxCli(runner, { ...OPTS, runAs: "emqx" }).rootDir();
  expect(runner.calls[0].argv).toEqual(["sudo", "-n", "-u", "emqx", "--", "/opt/emqx/bin/emqx", "root_dir"]);
});

test("fails with a clear HostStateError when sudo wants a password", async () => {
  const runner = new FixtureRunner([{ match: /root_dir/, result: { exitCode: 1, stderr: "sudo: a password is required\n" } }]);
  const err = await new EmqxCli(runner, { ...OPTS, runAs: "emqx" }).rootDir().catch((e) => e);
  expect(HostStateError.isInstance(err)).toBe(true);
  expect(err.message).toContain("NOPASSWD");
});

test("fails with the runAs fix when a deb/rpm install's bin/emqx refuses a non-root user who is not RUNNER_USER", async () => {
  const runner = new FixtureRunner([{ match: /root_dir/, result: { exitCode: 1, stdout: "You need to be root or use sudo to run this command\n" } }]);
  const err = await new EmqxCli(runner, OPTS).rootDir().catch((e) => e);
  expect(err.name).toBe("HostStateError");
  expect(err.message).toMatch(/runs as its RUNNER_USER .* Set runAs to that user .*nothing was changed$/);
  expect(err.message).not.toContain("not running");
});

test("fails with the node-down reason when root_dir says the node is not running", async () => {
  const runner = new FixtureRunner([{ match: /root_dir/, result: { exitCode: 1, stdout: "Node is not running!\n" } }]);
  await expect(new EmqxCli(runner, OPTS).rootDir()).rejects.toThrow(/not running.*emqx start/);
});

test("gives the upgrade its own timeout and never retries it", async () => {
  const runner = new FixtureRunner([{ match: /upgrade/, result: { exitCode: 3, stdout: "ERROR: release_handler:check_install_release failed: {no_matching_relup,\"4.4.16\",\"4.4.0\"}.\n" } }]);
  const err = await new EmqxCli(runner, OPTS).releaseCommand("upgrade", "4.4.16", false).catch((e) => e);
  expect(RemoteCommandError.isInstance(err)).toBe(true);
  expect(err.exitCode).toBe(3);
  expect(err.message).toMatch(/^10\.0\.0\.7: `\/opt\/emqx\/bin\/emqx upgrade --no-permanent 4\.4\.16` failed: release_handler refused to install 4\.4\.16 \(exit 3\)/);
  expect(err.message).toContain("no_matching_relup");
  expect(runner.calls).toHaveLength(1);
  expect(runner.calls[0].argv).toEqual(["/opt/emqx/bin/emqx", "upgrade", "--no-permanent", "4.4.16"]);
  expect(runner.calls[0].options?.timeoutMs).toBe(400_000);
});

// Row: [exit code, stdout, fragment of the explanation]
const EXIT_ROWS: [number, string, string][] = [
  [1, "Node is not running!\n", "not running or not reachable"],
  [2, "Unpack failed: release_package_not_found\n", "exactly one file in releases/"],
  [3, "ERROR: unable to install '4.4.16' - old processes still running code from module emqx_app\n", "two versions ago"],
  [4, "ERROR: release_handler:install_release failed: bad\n", "do not retry"],
  [127, 'Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\nMade release permanent: "4.4.16"\n', "half-done permafy"],
  [127, "Cannot upgrade/downgrade to 4.3.5 from 4.4.16\nWe only support relup between patch versions\n", "file permissions"],
];
test.each(EXIT_ROWS)("fails on exit %i with EMQX's meaning and the next step", async (code, stdout, fragment) => {
  const runner = new FixtureRunner([{ match: /upgrade/, result: { exitCode: code, stdout } }]);
  await expect(new EmqxCli(runner, OPTS).releaseCommand("upgrade", "4.4.16")).rejects.toThrow(fragment);
});

test("fails with timedOut and a check-before-retry hint when the upgrade outlives its timeout", async () => {
  const runner = new FixtureRunner([{ match: /upgrade/, result: { exitCode: null, timedOut: true } }]);
  const err = await new EmqxCli(runner, OPTS).releaseCommand("upgrade", "4.4.16").catch((e) => e);
  expect(err.timedOut).toBe(true);
  expect(err.message).toContain("did not finish within the timeout");
});

test("uses bin/emqx_ctl before 4.4.4 and emqx ctl after", async () => {
  const runner = new FixtureRunner([{ match: /status/, result: { stdout: "Node 'emqx@127.0.0.1' 4.4.1 is started\n" } }]);
  await new EmqxCli(runner, OPTS).ctlStatus("4.4.1");
  expect(runner.calls[0].argv).toEqual(["/opt/emqx/bin/emqx_ctl", "status"]);
});

// Regression: `emqx stop` that timed out was reported as "(exit timeout)".
test("says how long `emqx stop` ran when it times out during a restart", async () => {
  const runner = new FixtureRunner([{ match: / stop$/, result: { exitCode: null, timedOut: true } }]);
  const err = await new EmqxCli(runner, OPTS).restart().catch((e) => e);
  expect(err.name).toBe("RemoteCommandError");
  expect(err.message).toMatch(/`emqx stop` failed \(timed out after 400 s\); the node may be down/);
  expect(err.message).not.toContain("exit timeout");
});

test("says how long a read-only command ran when it times out", async () => {
  const runner = new FixtureRunner([{ match: / versions$/, result: { exitCode: null, timedOut: true } }]);
  await expect(new EmqxCli(runner, OPTS).versions()).rejects.toThrow(/`emqx versions` failed \(timed out after 1 s\)/);
});
