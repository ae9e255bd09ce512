// Faults of the host itself, for real: a sudo that wants a password (none given, the right one, a
// wrong one), and the EMQX root on a small tmpfs that fills up in the middle of the upload or is too
// small for the unpack from the start. Each ends in a clear error within seconds, never a hang,
// with nothing half-written where EMQX looks and no password anywhere in errors, logs or outputs.
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import { startFaultProxy } from "../../support/fault-proxy";
import { expectIntactInstall, expectNoLeaks, mutatingCalls, partFiles, underFault } from "../../support/fault-run";
import { reliabilityTest } from "../../support/reliability";
import { ensureTestUser } from "../../../sandbox/sshd";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(180_000);
const ADDRESS = "127.0.0.152";
const FROM = "4.4.0";
const TO = "4.4.16";
/** A login that must give sudo its password to run anything as root. */
const SUDO_USER = "emqxsudopw";
const SUDOERS = "/etc/sudoers.d/emqx-release-faults";
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
/** The login's password, which sudo also asks for (its own user's): quotes and a `$` in it. */
const loginPassword = `${randomBytes(9).toString("hex")} '"$x`;
let pkg: string;
let host: TestHost;

beforeAll(async () => {
  pkg = await shelf.build({ version: TO, extraBytes: 5 * 1024 * 1024 });
  ensureTestUser(SUDO_USER, loginPassword);
  fs.writeFileSync(SUDOERS, `${SUDO_USER} ALL=(root) ALL\n`, { mode: 0o440 });
  execFileSync("visudo", ["-cf", SUDOERS], { stdio: "pipe" });
});
afterAll(() => fs.rmSync(SUDOERS, { force: true }));
/** A 4.4.0 host that takes password logins, its EMQX root on a tmpfs of `rootFsMiB` if given. */
const startHost = (rootFsMiB?: number) =>
  startTestHost({ version: FROM }, ADDRESS, { sshd: { passwordAuthentication: true }, rootFsMiB });
beforeEach(async () => {
  host = await startHost();
});
afterEach(async () => {
  await host.stop();
});

async function checkedInputs(
  connection: Record<string, unknown>,
  over: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const r = await provider.check({}, { connection, version: TO, packagePath: pkg, emqxPath: host.emqxPath, ...over });
  expect(r.failures).toEqual([]);
  return r.inputs;
}

const mutating = () => mutatingCalls(host);
const asSudoUser = (extra: Record<string, unknown> = {}) => ({
  host: ADDRESS,
  port: host.sshd.port,
  user: SUDO_USER,
  password: loginPassword,
  hostKey: host.sshd.hostKeyLine,
  ...extra,
});

reliabilityTest(
  {
    area: "fault",
    case: "sudo wants a password and none is given",
    expected:
      "HostStateError within seconds naming connection.sudoPassword and the sudoers line; nothing written, no EMQX command run",
  },
  async (probe) => {
    const before = host.fingerprint().split(" ")[0];
    const inputs = await checkedInputs(asSudoUser(), { runAs: "root" });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(
      /sudo wants a password to run commands as root: set connection\.sudoPassword \(a secret\), or allow emqxsudopw/,
    );
    expect(r.ms).toBeLessThan(15_000);
    expect(mutating()).toEqual([]);
    expect(host.fingerprint().split(" ")[0]).toBe(before);
    expectNoLeaks(probe, r, inputs);
  },
);

reliabilityTest(
  {
    area: "credentials",
    case: "sudoPassword given for a sudo that wants one",
    expected:
      "the upgrade completes as root; the password appears in no error, log, output, emulator call log or sshd log",
  },
  async (probe) => {
    const inputs = await checkedInputs(asSudoUser({ sudoPassword: loginPassword }), { runAs: "root" });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error).toBeUndefined();
    expect(emulatorVersions(host.root)).toEqual([
      { version: TO, status: "permanent" },
      { version: FROM, status: "old" },
    ]);
    expect(host.calls().find((c) => c.argv[0] === "upgrade")?.user).toBe("root");
    expectNoLeaks(probe, r, inputs, [
      { source: "emulator call log", text: fs.readFileSync(path.join(host.root, ".emulator", "calls.log"), "utf8") },
      { source: "sshd log", text: host.sshd.readLog() },
    ]);
    expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "a wrong sudoPassword",
    expected:
      "HostStateError or RemoteCommandError within seconds: sudo refused the sudoPassword; never a hang; nothing written; neither password shown",
  },
  async (probe) => {
    const wrong = `wrong-${randomBytes(6).toString("hex")}`;
    const before = host.fingerprint().split(" ")[0];
    const inputs = await checkedInputs(asSudoUser({ sudoPassword: wrong }), { runAs: "root" });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(/sudo refused the sudoPassword given for emqxsudopw/);
    expect(r.ms).toBeLessThan(20_000);
    expect(mutating()).toEqual([]);
    expect(host.fingerprint().split(" ")[0]).toBe(before);
    expectNoLeaks(probe, r, inputs);
  },
);

/** Replaces this test's host by one whose EMQX root is on a tmpfs of `mib` MiB. */
async function rootOnTmpfs(mib: number): Promise<void> {
  await host.stop();
  host = await startHost(mib);
}

/** Fills the filesystem of `dir` to the last byte (a file `filler` in it). */
function fillUp(dir: string): void {
  try {
    execFileSync("dd", ["if=/dev/zero", `of=${path.join(dir, "filler")}`, "bs=1M"], { stdio: "pipe" });
  } catch {
    // dd stops with "No space left on device": the point
  }
}

reliabilityTest(
  {
    area: "fault",
    case: "the disk fills up in the middle of the upload (EMQX root on a tmpfs)",
    expected:
      "error says the upload failed and to check free space; no emqx-*4.4.16*.zip, no .part left; no EMQX command; once space is freed the rerun upgrades",
  },
  async (probe) => {
    await rootOnTmpfs(48);
    const size = fs.statSync(pkg).size;
    const proxy = await startFaultProxy(
      host.sshd,
      { at: { bytes: Math.round(size / 2), run: () => fillUp(host.root) } },
      ADDRESS,
    );
    try {
      const inputs = await checkedInputs({ ...host.connection, port: proxy.port });
      const r = await underFault(() => provider.create(inputs));
      expect(r.error?.message).toMatch(/upload of \S+ to 127\.0\.0\.152:\S+\.part failed: .*free space/);
      expect(mutating()).toEqual([]);
      expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
      expect(partFiles(host.root)).toEqual([]);
      expectNoLeaks(probe, r, inputs);
    } finally {
      await proxy.close();
    }
    fs.rmSync(path.join(host.root, "filler"));
    const againInputs = await checkedInputs(host.connection);
    const again = await underFault(() => provider.create(againInputs));
    expect(again.error).toBeUndefined();
    expect(emulatorVersions(host.root)[0]).toEqual({ version: TO, status: "permanent" });
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "the EMQX root has less free space than the unpack needs (tmpfs)",
    expected:
      "refused before any byte is written: names the filesystem, free and needed MiB, what to delete; host untouched",
  },
  async (probe) => {
    await rootOnTmpfs(12);
    const before = host.fingerprint().split(" ")[0];
    const inputs = await checkedInputs(host.connection);
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(/has [\d.]+ MiB free, but unpacking emqx-4\.4\.16\S+ needs [\d.]+ MiB there/);
    expect(host.fingerprint().split(" ")[0]).toBe(before);
    expect(mutating()).toEqual([]);
    expectIntactInstall(probe, host, { version: TO, packagePath: pkg });
    expectNoLeaks(probe, r, inputs);
  },
);
