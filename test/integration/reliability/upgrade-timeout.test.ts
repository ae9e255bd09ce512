// An `emqx upgrade` that outlives upgradeTimeoutMs, over a real OpenSSH sshd: the provider kills the
// remote CLI, keeps the host lock (release_handler may still be switching inside the node, which
// killing the CLI does not stop: docs/emqx-4.4-hot-upgrade.md §2.1) and says so. The 300 s floor of
// the upgradeTimeoutMs input stays: the test shortens the timeout through the provider's test-only
// constructor option, which EmqxRelease never passes.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import { expectIntactInstall, expectNoLeaks, mutatingCalls, underFault } from "../../support/fault-run";
import { reliabilityTest } from "../../support/reliability";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(120_000);
const ADDRESS = "127.0.0.161";
const TO = "4.4.16";
const TIMEOUT_MS = 3000;
const shelf = packageShelf();
let pkg: string;
let host: TestHost;

beforeAll(async () => {
  pkg = await shelf.build({ version: TO });
  // `ulimit -n` 512 on the host: bin/emqx's warning comes first in the output of every command.
  host = await startTestHost({ version: "4.4.0" }, ADDRESS, { sshd: { openFilesLimit: 512 } });
});
afterAll(async () => {
  await host?.stop();
  fs.rmSync(shelf.dir, { recursive: true, force: true });
});

/** Host processes running `<root>/bin/emqx upgrade <TO>` (the CLI the provider started over SSH). */
function upgradeCli(): string[] {
  return execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter(
      (l) => l.includes(`${host.root}/bin/emqx" "emqx"`) || (l.includes(host.emqxPath) && / upgrade 4\.4\.16/.test(l)),
    )
    .filter((l) => !l.includes("--node-rpc"));
}

reliabilityTest(
  {
    area: "fault",
    case: "`emqx upgrade` outlives upgradeTimeoutMs (the node holds inside install_release)",
    expected:
      "RemoteCommandError: timed out after 3 s, its CLI stopped (the remote process ends by SIGTERM), EMQX may still be switching; the host lock stays and is named; no second upgrade; refresh then shows the node's truth (4.4.16); the next run names the lock",
  },
  async (probe) => {
    // Inside release_handler:install_release for 15 s: the CLI waits for the node's answer.
    host.setFaults({ holdMs: { upgrade: 15_000 } });
    const provider = new EmqxReleaseProvider({ upgradeTimeoutMs: TIMEOUT_MS });
    const checked = await provider.check(
      {},
      { connection: host.connection, version: TO, packagePath: pkg, emqxPath: host.emqxPath },
    );
    expect(checked.failures).toEqual([]);
    const inputs = checked.inputs;
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.name).toBe("RemoteCommandError");
    const msg = r.error!.message;
    expect(msg).toContain(`\`${host.emqxPath} upgrade ${TO}\` failed (timed out after 3 s): `);
    expect(msg).toContain("its CLI was stopped (SIGTERM, then SIGKILL, to its process group)");
    expect(msg).toContain(
      "release_handler may still be switching inside the node, which stopping the CLI does not stop: the host lock stays",
    );
    // The timeout, then `emqx versions` for the error, which waits for release_handler (busy for 15 s).
    expect(r.ms).toBeLessThan(TIMEOUT_MS + 15_000 + 10_000);
    // The CLI the provider started ended by the signal (the emulator logs 128 + SIGTERM), long
    // before the node's 15 s; no second upgrade was sent.
    const upgrades = mutatingCalls(host);
    expect(upgrades.map((c) => [c.argv.join(" "), c.exitCode])).toEqual([[`upgrade ${TO}`, 143]]);
    expect(upgrades[0].durationMs).toBeLessThan(TIMEOUT_MS + 3000);
    expect(upgradeCli()).toEqual([]);
    const lockId = /the host lock ([0-9a-f]{16}) stays until someone checks the node/.exec(
      r.logs.join("\n"),
    )?.[1] as string;
    expect(lockId).toMatch(/^[0-9a-f]{16}$/);
    expect(fs.readFileSync(path.join(host.root, ".emqx-release.lock", "owner"), "utf8")).toContain(lockId);
    expectNoLeaks(probe, r, inputs);

    // The node finishes the switch; refresh sees it; the next run names the lock and changes nothing.
    for (
      const deadline = Date.now() + 30_000;
      !emulatorVersions(host.root).some((v) => v.version === TO && v.status === "permanent") && Date.now() < deadline;
    ) {
      await new Promise((res) => setTimeout(res, 200));
    }
    const { props } = await provider.read(`${ADDRESS}:${host.sshd.port}`, inputs);
    expect(props.currentVersion).toBe(TO);
    const again = await underFault(() => provider.create(inputs));
    expect(again.error?.name).toBe("HostLockedError");
    expect(again.error?.message).toContain(lockId);
    expect(mutatingCalls(host)).toHaveLength(1);
    expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
  },
);
