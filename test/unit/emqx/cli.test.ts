import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostStateError, RemoteCommandError } from "../../../provider/errors";
import { EmqxCli, RECORD_PGID_SCRIPT, STOP_PGID_SCRIPT } from "../../../provider/emqx/cli";
import { FixtureRunner } from "../../support/fixture-runner";

const OPTS = { emqxPath: "/opt/emqx/bin/emqx", commandTimeoutMs: 1000, upgradeTimeoutMs: 400_000 };

test("runs the CLI as argv, prefixed with sudo -n -u when runAs is set", async () => {
  const runner = new FixtureRunner([{ match: /root_dir$/, result: { stdout: '"/opt/emqx"\n' } }]);
  await new EmqxCli(runner, { ...OPTS, runAs: "emqx" }).rootDir();
  expect(runner.calls[0].argv).toEqual(["sudo", "-n", "-u", "emqx", "--", "/opt/emqx/bin/emqx", "root_dir"]);
});

test("fails with a clear HostStateError when sudo wants a password", async () => {
  const runner = new FixtureRunner([
    { match: /root_dir/, result: { exitCode: 1, stderr: "sudo: a password is required\n" } },
  ]);
  const err = await new EmqxCli(runner, { ...OPTS, runAs: "emqx" }).rootDir().catch((e) => e);
  expect(HostStateError.isInstance(err)).toBe(true);
  expect(err.message).toContain("NOPASSWD");
});

test("fails with the runAs fix when a deb/rpm install's bin/emqx refuses a non-root user who is not RUNNER_USER", async () => {
  const runner = new FixtureRunner([
    { match: /root_dir/, result: { exitCode: 1, stdout: "You need to be root or use sudo to run this command\n" } },
  ]);
  const err = await new EmqxCli(runner, OPTS).rootDir().catch((e) => e);
  expect(err.name).toBe("HostStateError");
  expect(err.message).toMatch(/runs as its RUNNER_USER .* Set runAs to that user, .*nothing was changed$/);
  expect(err.message).not.toContain("not running");
});

test("fails with the runAs fix when root meets RUNNER_USER's nologin shell through bin/emqx's `su -`", async () => {
  const runner = new FixtureRunner([
    { match: /root_dir$/, result: { exitCode: 1, stdout: "This account is currently not available.\n" } },
  ]);
  const err = await new EmqxCli(runner, OPTS).rootDir().catch((e) => e);
  expect(err.name).toBe("HostStateError");
  expect(err.message).toMatch(
    /answered "This account is currently not available\.": bin\/emqx re-runs itself for root as its RUNNER_USER .* through `su - <user>`.* Set runAs to that user, .*nothing was changed$/,
  );
  expect(err.message).not.toContain("not running");
});

test("fails with the node-down reason when root_dir says the node is not running", async () => {
  const runner = new FixtureRunner([{ match: /root_dir/, result: { exitCode: 1, stdout: "Node is not running!\n" } }]);
  await expect(new EmqxCli(runner, OPTS).rootDir()).rejects.toThrow(/not running.*emqx start/);
});

test("gives the upgrade its own timeout and never retries it", async () => {
  const runner = new FixtureRunner([
    {
      match: /upgrade/,
      result: {
        exitCode: 3,
        stdout: 'ERROR: release_handler:check_install_release failed: {no_matching_relup,"4.4.16","4.4.0"}.\n',
      },
    },
  ]);
  const err = await new EmqxCli(runner, OPTS).releaseCommand("upgrade", "4.4.16", false).catch((e) => e);
  expect(RemoteCommandError.isInstance(err)).toBe(true);
  expect(err.exitCode).toBe(3);
  expect(err.message).toMatch(
    /^10\.0\.0\.7: `\/opt\/emqx\/bin\/emqx upgrade --no-permanent 4\.4\.16` failed: release_handler refused to install 4\.4\.16 \(exit 3\)/,
  );
  expect(err.message).toContain("no_matching_relup");
  expect(runner.calls).toHaveLength(1);
  expect(runner.calls[0].argv).toEqual(["/opt/emqx/bin/emqx", "upgrade", "--no-permanent", "4.4.16"]);
  expect(runner.calls[0].options?.timeoutMs).toBe(400_000);
});

// Row: [exit code, stdout, fragment of the explanation]
const EXIT_ROWS: [number, string, string][] = [
  [1, "Node is not running!\n", "not running or not reachable"],
  [2, "Unpack failed: release_package_not_found\n", "exactly one file in releases/"],
  [
    3,
    "ERROR: unable to install '4.4.16' - old processes still running code from module emqx_app\n",
    "two versions ago",
  ],
  [4, "ERROR: release_handler:install_release failed: bad\n", "do not retry"],
  [
    127,
    'Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\nMade release permanent: "4.4.16"\n',
    "half-done permafy",
  ],
  [
    127,
    "Cannot upgrade/downgrade to 4.3.5 from 4.4.16\nWe only support relup between patch versions\n",
    "only hot-upgrades between patch versions",
  ],
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

test("a timed-out upgrade that recorded its process group is stopped, and the error says so and that the lock stays", async () => {
  const runner = new FixtureRunner([
    { match: /upgrade/, result: { exitCode: null, timedOut: true } },
    { match: /kill -s TERM/, result: { stdout: "STOPPED\n" } },
  ]);
  const err = await new EmqxCli(runner, OPTS)
    .releaseCommand("upgrade", "4.4.16", true, "/opt/emqx/.emqx-release.lock/command.pgid")
    .catch((e) => e);
  expect(runner.calls.map((c) => c.argv.slice(0, 2).concat(c.argv.slice(4)))).toEqual([
    ["sh", "-c", "/opt/emqx/.emqx-release.lock/command.pgid", "/opt/emqx/bin/emqx", "upgrade", "4.4.16"],
    ["sh", "-c", "/opt/emqx/.emqx-release.lock/command.pgid"],
  ]);
  expect(runner.calls[0].argv[2]).toBe(RECORD_PGID_SCRIPT);
  expect(err.timedOut).toBe(true);
  expect(err.message).toContain("`/opt/emqx/bin/emqx upgrade 4.4.16` failed (timed out after 400 s): ");
  expect(err.message).toContain("its CLI was stopped (SIGTERM, then SIGKILL, to its process group)");
  expect(err.message).toContain(
    "release_handler may still be switching inside the node, which stopping the CLI does not stop: the host lock stays",
  );
});

test("the process group scripts record the group and stop it (run with sh)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgid-"));
  let stray = 0;
  try {
    const file = path.join(dir, "command.pgid");
    // The recorded group is the one `sleep` runs in: a new one here (setsid), as sshd gives each command.
    const child = spawn(
      "setsid",
      ["sh", "-c", RECORD_PGID_SCRIPT, "sh", file, "sh", "-c", "sleep 30 & sleep 31; wait"],
      { stdio: "ignore" },
    );
    for (const deadline = Date.now() + 5000; !fs.existsSync(file) || fs.readFileSync(file, "utf8").trim() === "";)
      if (Date.now() > deadline) throw new Error("no pgid recorded");
    const pgid = Number(fs.readFileSync(file, "utf8").trim());
    stray = pgid;
    expect(pgid).toBe(child.pid);
    const out = execFileSync("sh", ["-c", STOP_PGID_SCRIPT, "sh", file], { encoding: "utf8" });
    expect(out.trim()).toBe("STOPPED");
    // Nothing of the group runs any more (node has yet to reap its own child: a zombie is not running).
    const left = execFileSync("ps", ["-eo", "pgid=,stat="], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    expect(left.filter(([g, stat]) => Number(g) === pgid && !stat.startsWith("Z"))).toEqual([]);
    await new Promise((res) =>
      child.exitCode !== null || child.signalCode !== null ? res(undefined) : child.once("exit", res),
    );
    expect(execFileSync("sh", ["-c", STOP_PGID_SCRIPT, "sh", file], { encoding: "utf8" }).trim()).toBe(
      "STOPPED (it had ended)",
    );
    stray = 0;
  } finally {
    if (stray > 0) process.kill(-stray, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("uses bin/emqx_ctl before 4.4.4 and emqx ctl after", async () => {
  const runner = new FixtureRunner([
    { match: /status/, result: { stdout: "Node 'emqx@127.0.0.1' 4.4.1 is started\n" } },
  ]);
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
