// create/update on a node installed from the deb/rpm package (test/support/deb-host.ts): root, etc
// and data in separate places, RUNNER_USER="emqx", EMQX's unpack in the real /tmp. Real OpenSSH
// sshd on loopback (127.0.0.80-82) and the EMQX CLI emulator, through the provider's methods.
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { RECORD_PGID_SCRIPT } from "../../../provider/emqx/cli";
import { DebHost, DEPLOY_USER, idsOf, RUNTIME_USER, startDebHost } from "../../support/deb-host";
import { setFaults } from "../../../sandbox/emulator/install";
import { packageShelf } from "../../../sandbox/test-host";

jest.setTimeout(180_000);
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let pkg16: string;
let logged: string[];

beforeAll(async () => {
  pkg16 = await shelf.build({ version: "4.4.16" });
});
afterAll(() => fs.rmSync(shelf.dir, { recursive: true, force: true }));
beforeEach(() => {
  logged = [];
  jest.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
});
afterEach(() => jest.restoreAllMocks());

const hosts: DebHost[] = [];
afterAll(async () => {
  for (const h of hosts) await h.stop();
});
async function debHost(address: string, options: Parameters<typeof startDebHost>[2] = {}): Promise<DebHost> {
  const h = await startDebHost({ version: "4.4.10" }, address, options);
  hosts.push(h);
  return h;
}

async function checked(news: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await provider.check({}, news);
  expect(r.failures).toEqual([]);
  return r.inputs;
}
const untarDirs = () => fs.readdirSync("/tmp").filter((n) => n.startsWith("emqx_untar_"));

test("GIVEN a deb host and a non-root SSH login with sudo WHEN upgrading with runAs emqx THEN EMQX runs as emqx, owns the upload, and the node switches", async () => {
  const host = await debHost("127.0.0.80");
  const emqx = idsOf(RUNTIME_USER);
  const untarBefore = untarDirs();
  const { outs } = await provider.create(
    await checked({
      connection: host.connection,
      version: "4.4.16",
      packagePath: pkg16,
      emqxPath: host.emqxPath,
      runAs: RUNTIME_USER,
    }),
  );
  expect(outs).toMatchObject({
    currentVersion: "4.4.16",
    permanentVersion: "4.4.16",
    previousVersion: "4.4.10",
    rootDir: host.root,
    lastAction: "upgrade",
  });
  // The package in releases/ belongs to the runtime user, as everything EMQX wrote.
  const zip = fs.statSync(path.join(host.root, "releases", path.basename(pkg16)));
  expect([zip.uid, zip.gid]).toEqual([emqx.uid, emqx.gid]);
  expect(fs.statSync(path.join(host.root, "releases", "emqx-4.4.16.tar.gz")).uid).toBe(emqx.uid);
  // Every CLI call ran as emqx (sudo -n -u emqx), none as the deploy user or root.
  expect([...new Set(host.calls().map((c) => c.user))]).toEqual([RUNTIME_USER]);
  expect(host.calls().map((c) => c.argv.join(" "))).toContain("upgrade 4.4.16");
  // The install_upgrade.escript read vm.args from RUNNER_DATA_DIR, and the data stayed there.
  expect(fs.existsSync(path.join(host.root, "releases", "4.4.16", "vm.args"))).toBe(true);
  expect(fs.readdirSync(path.join(host.dataDir, "configs"))).toEqual(["vm.2024.01.01.00.00.00.args"]);
  // Housekeeping: the unpack's /tmp/emqx_untar_* directory is gone, nothing else of /tmp changed.
  expect(untarDirs()).toEqual(untarBefore);
  expect(
    logged.some((l) =>
      /^\[EmqxRelease host=127\.0\.0\.80\] cleanup: removed \/tmp\/emqx_untar_\d+ \(left by EMQX's unpack\)$/.test(l),
    ),
  ).toBe(true);
  // Progress lines per step.
  const steps = logged.map((l) => l.replace(/^\[EmqxRelease host=127\.0\.0\.80\] /, ""));
  expect(steps).toEqual(expect.arrayContaining(["read node", "pre-flight", "upload", "upgrade 4.4.16", "verify"]));
  expect(steps.some((s) => /^upload emqx-4\.4\.16-.*: 100% /.test(s))).toBe(true);
  // Command output stays out of the log unless asked for.
  expect(logged.filter((l) => /\$ |stdout\||stderr\|/.test(l))).toEqual([]);
});

test("EMQX_RELEASE_LOG_COMMAND_OUTPUT=1 logs each command as run on the node, its status and its output", async () => {
  const host = await debHost("127.0.0.81");
  process.env.EMQX_RELEASE_LOG_COMMAND_OUTPUT = "1";
  try {
    await provider.create(
      await checked({
        connection: host.connection,
        version: "4.4.16",
        packagePath: pkg16,
        emqxPath: host.emqxPath,
        runAs: RUNTIME_USER,
      }),
    );
  } finally {
    delete process.env.EMQX_RELEASE_LOG_COMMAND_OUTPUT;
  }
  const prefix = "[EmqxRelease host=127.0.0.81] ";
  // The upgrade first records its process group in the host lock (so that a timeout can stop it), then runs.
  const upgradeLine = `${prefix}$ sudo -n -u emqx -- sh -c '${RECORD_PGID_SCRIPT.replace(/'/g, "'\\''")}' sh ${host.root}/.emqx-release.lock/command.pgid ${host.emqxPath} upgrade 4.4.16 -> exited 0`;
  expect(logged).toContain(upgradeLine);
  expect(logged).toContain(`${prefix}  stdout| Made release permanent: "4.4.16"`);
  expect(logged).toContain(`${prefix}  stdout| Node 'emqx@127.0.0.1' 4.4.16 is started`);
});

test("GIVEN a deb host reached as root and no runAs THEN it refuses, changing nothing: bin/emqx's `su - emqx` meets emqx's nologin shell; the message says to set runAs", async () => {
  const host = await debHost("127.0.0.81");
  const before = host.fingerprint().replace(/calls=\d+/, "");
  const err = await provider
    .create(
      await checked({
        connection: host.rootConnection,
        version: "4.4.16",
        packagePath: pkg16,
        emqxPath: host.emqxPath,
      }),
    )
    .catch((e) => e);
  expect(err.name).toBe("HostStateError");
  expect(err.message).toContain('answered "This account is currently not available."');
  expect(err.message).toContain(
    "that user's login shell refuses (a deb/rpm install gives emqx /usr/sbin/nologin). Set runAs to that user",
  );
  expect(host.fingerprint().replace(/calls=\d+/, "")).toBe(before);
  expect(host.calls().map((c) => [c.argv.join(" "), c.user, c.exitCode])).toEqual([["root_dir", "root", 1]]);
});

test("GIVEN a deb host reached as root (hardened umask 077) with runAs emqx THEN the upload belongs to RUNNER_USER like everything EMQX writes, and the upgrade works", async () => {
  const host = await debHost("127.0.0.81", { umask: 0o077 });
  const { outs } = await provider.create(
    await checked({
      connection: host.rootConnection,
      version: "4.4.16",
      packagePath: pkg16,
      emqxPath: host.emqxPath,
      runAs: RUNTIME_USER,
    }),
  );
  expect(outs).toMatchObject({ currentVersion: "4.4.16", permanentVersion: "4.4.16" });
  expect(fs.statSync(path.join(host.root, "releases", path.basename(pkg16))).uid).toBe(idsOf(RUNTIME_USER).uid);
  expect([...new Set(host.calls().map((c) => c.user))]).toEqual([RUNTIME_USER]);
  expect(fs.statSync(path.join(host.root, "releases", "emqx-4.4.16.tar.gz")).uid).toBe(idsOf(RUNTIME_USER).uid);
});

test("fails with the runAs fix, changing nothing, when the non-root login runs the CLI as itself", async () => {
  const host = await debHost("127.0.0.82");
  const before = host.fingerprint().replace(/calls=\d+/, "");
  const err = await provider
    .create(
      await checked({ connection: host.connection, version: "4.4.16", packagePath: pkg16, emqxPath: host.emqxPath }),
    )
    .catch((e) => e);
  expect(err.name).toBe("HostStateError");
  expect(err.message).toContain('answered "You need to be root or use sudo to run this command"');
  expect(err.message).toContain("Set runAs to that user");
  expect(host.fingerprint().replace(/calls=\d+/, "")).toBe(before);
  expect(host.calls().map((c) => [c.argv.join(" "), c.user, c.exitCode])).toEqual([["root_dir", DEPLOY_USER, 1]]);
});

describe("post-flight on a deb host", () => {
  const inputsFor = (host: DebHost, over: Record<string, unknown> = {}) =>
    checked({
      connection: host.connection,
      version: "4.4.16",
      packagePath: pkg16,
      emqxPath: host.emqxPath,
      runAs: RUNTIME_USER,
      ...over,
    });

  test("fails when `emqx upgrade` exits 0 but `emqx versions` does not show the target permanent", async () => {
    const host = await debHost("127.0.0.80");
    setFaults(host.root, { exit: { upgrade: 0 } });
    const err = await provider.create(await inputsFor(host)).catch((e) => e);
    expect(err.name).toBe("NodeChangedError");
    expect(err.message).toContain("after the upgrade `emqx versions` shows 4.4.10 permanent, not 4.4.16 permanent");
  });

  test("fails for a half-done permafy during the upgrade (RELEASES permanent, scripts and emqx_vars not), naming the repair, and the rerun is refused", async () => {
    const host = await debHost("127.0.0.81");
    setFaults(host.root, { failAfterPermanent: true });
    const news = await inputsFor(host);
    const err = await provider.create(news).catch((e) => e);
    expect(err.message).toContain("a half-done permafy");
    expect(err.message).toContain('REL_VSN="4.4.16"');
    expect(err.message).toMatch(/the node now lists: 4\.4\.16 permanent, 4\.4\.10 old$/);
    // The rerun does not adopt the broken node: it is refused before anything is written.
    setFaults(host.root, {});
    const rerun = await provider.create(news).catch((e) => e);
    expect(rerun.message).toContain(
      `the permanent release is 4.4.16 but the last REL_VSN in ${host.root}/releases/emqx_vars is 4.4.10`,
    );
    expect(
      host
        .calls()
        .map((c) => c.argv[0])
        .filter((c) => c === "upgrade"),
    ).toHaveLength(1);
  });

  test("GIVEN a forged half-done permafy (REL_VSN appended, bin/emqx still 4.4.10's) WHEN the node is declared again THEN it is refused, nothing written", async () => {
    const host = await debHost("127.0.0.82");
    const binOld = fs.readFileSync(path.join(host.root, "bin", "emqx"));
    const news = await inputsFor(host);
    const first = await provider.create(news);
    expect(first.outs.currentVersion).toBe("4.4.16");
    fs.writeFileSync(path.join(host.root, "bin", "emqx"), binOld);
    const before = host.fingerprint().replace(/calls=\d+/, "");
    const callsBefore = host.calls().length;
    const err = await provider.update(first.id, first.outs, news).catch((e) => e);
    expect(err.name).toBe("HostStateError");
    expect(err.message).toContain(`${host.root}/bin/emqx differs from bin/emqx-4.4.16 although 4.4.16 is permanent`);
    expect(host.fingerprint().replace(/calls=\d+/, "")).toBe(before);
    expect(
      host
        .calls()
        .slice(callsBefore)
        .map((c) => c.argv[0]),
    ).toEqual(["root_dir", "versions"]);
  });

  test("uninstallPrevious is refused, with the reason, after 4.4.10 -> 4.4.16 (ERTS 12.1.5 -> 12.3.2.2, no restart since)", async () => {
    const host = await debHost("127.0.0.80");
    const { outs } = await provider.create(await inputsFor(host, { uninstallPrevious: true }));
    expect(outs.installedVersions).toEqual([
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.10", status: "old" },
    ]);
    expect(host.calls().map((c) => c.argv[0])).not.toContain("uninstall");
    expect(fs.existsSync(path.join(host.root, "erts-12.1.5"))).toBe(true);
    expect(logged).toContainEqual(
      expect.stringContaining(
        "uninstallPrevious refused: the upgrade from 4.4.10 to 4.4.16 crossed an ERTS change (12.1.5 -> 12.3.2.2) and the node has not restarted since",
      ),
    );
  });
});
