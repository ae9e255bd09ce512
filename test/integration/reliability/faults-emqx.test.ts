// Faults of EMQX and its CLI, injected with the emulator's switches behind a real OpenSSH sshd:
// `emqx upgrade` exiting 1 and 127 before it changed anything (the node not answering, the escript
// crashing), 127 after "Made release permanent", the node down,
// the CLI hanging. (A hang inside `emqx upgrade` itself ends at upgradeTimeoutMs, which may not be
// set below EMQX's own 300 s RPC timeout: test/e2e/release-interrupt holds an upgrade instead.) Each must end in an error that names host, command, exit code, what EMQX said and
// what to do, within its timeout, with no mutating command retried and no secret shown; and
// `read` (what `pulumi refresh` calls) must then report what `emqx versions` lists.
import { EmqxReleaseProvider } from "../../../provider";
import { InstalledRelease, runningVersion } from "../../../provider/plan/upgrade-plan";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import { expectIntactInstall, expectNoLeaks, mutatingCalls, underFault } from "../../support/fault-run";
import { reliabilityEach, reliabilityTest } from "../../support/reliability";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(120_000);
const ADDRESS = "127.0.0.150";
const FROM = "4.4.0";
const TO = "4.4.16";
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let pkg: string;
let host: TestHost;

beforeAll(async () => {
  pkg = await shelf.build({ version: TO });
});
beforeEach(async () => {
  host = await startTestHost({ version: FROM }, ADDRESS);
});
afterEach(async () => {
  await host.stop();
});

async function checkedInputs(over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await provider.check(
    {},
    { connection: host.connection, version: TO, packagePath: pkg, emqxPath: host.emqxPath, ...over },
  );
  expect(r.failures).toEqual([]);
  return r.inputs;
}

const mutating = () => mutatingCalls(host);

/** After a failed create: refresh reports exactly what the node lists. */
async function refreshAgrees(inputs: Record<string, unknown>): Promise<void> {
  const { props } = await provider.read(`${host.connection.host}:${host.connection.port}`, inputs);
  const listed = emulatorVersions(host.root);
  expect(props.installedVersions).toEqual(listed);
  expect(props.currentVersion).toBe(runningVersion(listed as InstalledRelease[]));
}

// Row: exit code of `emqx upgrade`, faults, what the message must say beyond host/command/code.
// Only failures that come before EMQX touches the node: exits 2, 3 and 4 come after the unpack on a
// real node and have their rows, with what they leave behind, in faults-after-unpack.test.ts.
const EXITS: Array<{
  area: "fault";
  case: string;
  expected: string;
  faults: Parameters<TestHost["setFaults"]>[0];
  says: RegExp;
  code: string;
}> = [
  {
    area: "fault",
    case: "emqx upgrade exits 1 (node not responding)",
    expected:
      "RemoteCommandError: host, `upgrade 4.4.16`, exit 1, EMQX's output, start the node; refresh shows 4.4.0 still running",
    faults: { exit: { upgrade: 1 } },
    says: /not running or not reachable.*emqx start/,
    code: "1",
  },
  {
    area: "fault",
    case: "emqx upgrade exits 127 (script crashed)",
    expected:
      "RemoteCommandError: exit 127, the escript's exception, permissions/disk; refresh shows 4.4.0 (the escript crashed before unpacking)",
    faults: { exit: { upgrade: 127 } },
    says: /upgrade script crashed \(exit 127\).*badrpc,timeout/s,
    code: "127",
  },
];

reliabilityEach(EXITS, async (row, probe) => {
  host.setFaults(row.faults);
  const inputs = await checkedInputs();
  const r = await underFault(() => provider.create(inputs));
  expect(r.error?.name).toBe("RemoteCommandError");
  const msg = r.error!.message;
  expect(msg).toContain(ADDRESS);
  expect(msg).toContain(`\`${host.emqxPath} upgrade 4.4.16\` failed: `);
  expect(msg).toContain(`(exit ${row.code})`);
  expect(msg).toMatch(row.says);
  expect(msg).toMatch(/the node now lists: /);
  expect(mutating().map((c) => c.argv.join(" "))).toEqual(["upgrade 4.4.16"]);
  expectNoLeaks(probe, r, inputs);
  expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
  await refreshAgrees(inputs);
});

reliabilityTest(
  {
    area: "fault",
    case: 'emqx upgrade exits 127 after "Made release permanent" (half-done permafy)',
    expected:
      "error says the permafy is half done and how to repair it by hand; refresh shows 4.4.16 permanent, as release_handler has it",
  },
  async (probe) => {
    host.setFaults({ failAfterPermanent: true });
    const inputs = await checkedInputs();
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.name).toBe("RemoteCommandError");
    expect(r.error!.message).toMatch(
      /made 4\.4\.16 permanent but crashed before updating bin\/ and releases\/emqx_vars \(a half-done permafy, exit 127\)/,
    );
    expect(r.error!.message).toContain("re-running the upgrade cannot repair it");
    expectNoLeaks(probe, r, inputs);
    // EMQX itself leaves bin/ and emqx_vars on 4.4.0 here (docs/emqx-4.4-hot-upgrade.md §2.7); anything else is corruption.
    expectIntactInstall(probe, host, { version: TO, packagePath: pkg, binAndVarsOf: FROM });
    await refreshAgrees(inputs);
    // The next run does not take the half-done node for a finished one: it refuses to build on it.
    host.setFaults({});
    const again = await underFault(async () => provider.create(await checkedInputs()));
    expect(again.error?.message).toMatch(/half-done permafy/);
    expect(mutating()).toHaveLength(1);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "the EMQX node is down",
    expected:
      "error before any write: the node is not running, start it; no upload, no emqx command that changes anything",
  },
  async (probe) => {
    host.setFaults({ nodeDown: true });
    const before = host.fingerprint().split(" ")[0];
    const inputs = await checkedInputs();
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(/not running|not responding/i);
    expect(r.error!.message).toContain(ADDRESS);
    expect(mutating()).toEqual([]);
    expect(host.fingerprint().split(" ")[0]).toBe(before);
    expectNoLeaks(probe, r, inputs);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "the CLI hangs on `emqx versions`",
    expected: "ends within commandTimeoutMs (+ kill grace), says it timed out; nothing was changed",
  },
  async (probe) => {
    host.setFaults({ hangMs: { versions: 60_000 } });
    const inputs = await checkedInputs({ commandTimeoutMs: 2000 });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(/`emqx versions` failed \(timed out after 2 s\)/);
    expect(r.ms).toBeLessThan(2000 * 3 + 10_000);
    expect(mutating()).toEqual([]);
    expectNoLeaks(probe, r, inputs);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "the CLI hangs in `emqx ctl status` while verifying an upgrade",
    expected:
      "ends within commandTimeoutMs with the node's state in the error; the upgrade is not retried; refresh shows 4.4.16",
  },
  async (probe) => {
    host.setFaults({ hangMs: { ctl: 60_000 } });
    const inputs = await checkedInputs({ commandTimeoutMs: 3000 });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(/timed out after 3 s/);
    expect(r.error?.message).toMatch(/the node now lists: 4\.4\.16 permanent, 4\.4\.0 old/);
    expect(r.ms).toBeLessThan(60_000);
    expect(mutating().map((c) => c.argv.join(" "))).toEqual(["upgrade 4.4.16"]);
    expectNoLeaks(probe, r, inputs);
    expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
    await refreshAgrees(inputs);
  },
);
