// EmqxReleaseProvider's methods called directly (no engine) against real OpenSSH sshd test hosts
// running the EMQX 4.4 CLI emulator.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(120_000);
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let host: TestHost;
let pkg16: string;
let pkg15: string;

beforeAll(async () => {
  pkg16 = await shelf.build({ version: "4.4.16" });
  pkg15 = await shelf.build({ version: "4.4.15" });
});
beforeEach(async () => {
  host = await startTestHost({ version: "4.4.0" });
});
afterEach(async () => {
  await host.stop();
});
beforeAll(() => jest.spyOn(console, "log").mockImplementation(() => undefined));

function inputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { connection: host.connection, version: "4.4.16", packagePath: pkg16, emqxPath: host.emqxPath, ...overrides };
}

async function checked(
  news: Record<string, unknown>,
  olds: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const r = await provider.check(olds, news);
  expect(r.failures).toEqual([]);
  return r.inputs;
}

const commands = () => host.calls().map((c: { argv: string[] }) => c.argv.join(" "));

test("upgrades 4.4.0 to 4.4.16 permanently, verifies, and records the node in outputs", async () => {
  const { id, outs } = await provider.create(await checked(inputs()));
  expect(id).toBe(`${host.connection.host}:${host.connection.port}`);
  expect(outs).toMatchObject({
    currentVersion: "4.4.16",
    permanentVersion: "4.4.16",
    previousVersion: "4.4.0",
    rootDir: host.root,
    lastAction: "upgrade",
    installedVersions: expect.arrayContaining([
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ]),
    hostFacts: expect.objectContaining({
      osId: "debian12",
      arch: "amd64",
      otpMajor: 24,
      edition: "ce",
      binScriptsVersion: "4.4.16",
    }),
    hostKeyFingerprint: host.sshd.hostKeyFingerprint,
  });
  expect(outs.packageSha256).toMatch(/^[0-9a-f]{64}$/);
  expect(commands().filter((c) => / upgrade /.test(` ${c} `))).toEqual(["upgrade 4.4.16"]);
  // The package sits in releases/ under its own name, and nothing else of ours is left behind.
  const releases = fs.readdirSync(path.join(host.root, "releases"));
  expect(releases).toContain(path.basename(pkg16));
  expect(releases.filter((f) => f.endsWith(".part"))).toEqual([]);
  expect(fs.existsSync(path.join(host.root, ".emqx-release.lock"))).toBe(false);
});

// Regression: each upload was logged twice (by the uploader and again by applyRelease).
test("logs the upload once: what was sent, and on a rerun that it was skipped", async () => {
  const logged = jest.mocked(console.log);
  logged.mockClear();
  const first = await provider.create(await checked(inputs({ permanent: false })));
  const uploadLines = () =>
    logged.mock.calls.map((c) => c.join(" ")).filter((l) => /uploaded|upload skipped|already on/.test(l));
  expect(uploadLines()).toEqual([
    expect.stringMatching(/uploaded emqx-4\.4\.16-.*\.zip to 127\.0\.0\.1:.*sha256 verified$/),
  ]);
  // A rerun whose target is only unpacked uploads again: the file is there, so it is skipped, once.
  execFileSync(host.emqxPath, ["downgrade", "--no-permanent", "4.4.0"], { stdio: "pipe" });
  execFileSync(host.emqxPath, ["uninstall", "4.4.16"], { stdio: "pipe" });
  logged.mockClear();
  await provider.update(first.id, first.outs, await checked(inputs({ permanent: false }), first.outs));
  expect(uploadLines()).toEqual([expect.stringMatching(/is already on 127\.0\.0\.1 .*upload skipped$/)]);
});

test("a second run at the target adopts it: no upload, no upgrade", async () => {
  const first = await provider.create(await checked(inputs()));
  const before = host.calls().length;
  const { outs } = await provider.update(first.id, first.outs, await checked(inputs(), first.outs));
  expect(outs.lastAction).toBe("adopt");
  expect(
    host
      .calls()
      .slice(before)
      .map((c) => c.argv[0]),
  ).not.toContain("upgrade");
});

test("--no-permanent keeps 4.4.0 permanent, then permanent: true runs `emqx install`", async () => {
  const first = await provider.create(await checked(inputs({ permanent: false })));
  expect(first.outs).toMatchObject({ currentVersion: "4.4.16", permanentVersion: "4.4.0" });
  const { outs } = await provider.update(first.id, first.outs, await checked(inputs(), first.outs));
  expect(outs).toMatchObject({ currentVersion: "4.4.16", permanentVersion: "4.4.16", lastAction: "make-permanent" });
  expect(commands()).toEqual(expect.arrayContaining(["upgrade --no-permanent 4.4.16", "install 4.4.16"]));
});

test("downgrades to the old release with allowDowngrade, then uninstallPrevious removes 4.4.16", async () => {
  const first = await provider.create(await checked(inputs()));
  const pkg0 = await shelf.build({ version: "4.4.0", relupFrom: [] });
  const down = inputs({ version: "4.4.0", packagePath: pkg0, allowDowngrade: true, uninstallPrevious: true });
  const { outs } = await provider.update(first.id, first.outs, await checked(down, first.outs));
  expect(outs).toMatchObject({ currentVersion: "4.4.0", permanentVersion: "4.4.0", lastAction: "downgrade" });
  expect(outs.installedVersions).toEqual([{ version: "4.4.0", status: "permanent" }]);
  expect(commands()).toEqual(expect.arrayContaining(["downgrade 4.4.0", "uninstall 4.4.16"]));
});

test("read reports drift: a manual downgrade on the host shows in currentVersion", async () => {
  const { id, outs } = await provider.create(await checked(inputs()));
  // The same node, changed behind our back by an operator:
  execFileSync(host.emqxPath, ["downgrade", "4.4.0"]);
  const read = await provider.read(id, outs);
  expect(read.props).toMatchObject({ currentVersion: "4.4.0", permanentVersion: "4.4.0" });
  const d = await provider.diff(id, read.props, await checked(inputs(), outs));
  expect(d.changes).toBe(true);
});

test("delete uninstalls an old release and leaves a running one alone", async () => {
  const first = await provider.create(await checked(inputs()));
  await provider.delete(first.id, first.outs);
  expect(commands().filter((c) => c.startsWith("uninstall"))).toEqual([]);
  const pkg0 = await shelf.build({ version: "4.4.0", relupFrom: [] });
  await provider.delete(first.id, { ...first.outs, version: "4.4.0", packagePath: pkg0 });
  expect(commands()).toContain("uninstall 4.4.0");
});

describe("refusals leave the host untouched", () => {
  // Row: [case, how to set up, fragment of the error]
  const ROWS: [string, () => Promise<Record<string, unknown>>, string][] = [
    [
      "fails for an Enterprise package on a CE node",
      async () => inputs({ packagePath: await shelf.build({ version: "4.4.16", edition: "ee" }) }),
      "EMQX and EMQX Enterprise",
    ],
    [
      "fails for an OTP 25 package on an OTP 24 node",
      async () => inputs({ packagePath: await shelf.build({ version: "4.4.16", otp: "25.3-1" }) }),
      "OTP 24",
    ],
    [
      "fails for a package of another OS",
      async () => inputs({ packagePath: await shelf.build({ version: "4.4.16", os: "ubuntu20.04" }) }),
      "built for ubuntu20.04",
    ],
    [
      "fails for a package of another arch",
      async () => inputs({ packagePath: await shelf.build({ version: "4.4.16", arch: "arm64" }) }),
      "built for arm64",
    ],
    [
      "fails when the relup does not cover the running version",
      async () => inputs({ packagePath: await shelf.build({ version: "4.4.16", relupFrom: ["4.4.15"] }) }),
      "cannot hot-upgrade from 4.4.0",
    ],
    [
      "fails when another zip in releases/ matches the glob",
      async () => {
        fs.copyFileSync(pkg15, path.join(host.root, "releases", "emqx-4.4.16-rc.1-otp24.3.4.2-1-debian12-amd64.zip"));
        return inputs();
      },
      "also matches",
    ],
    [
      "fails when the node is not running",
      async () => {
        host.setFaults({ nodeDown: true });
        return inputs();
      },
      "not running",
    ],
    [
      "fails for a host key that does not match",
      async () => inputs({ connection: { ...host.connection, hostKey: "SHA256:" + "A".repeat(43) } }),
      "host key",
    ],
  ];
  test.each(ROWS)("%s", async (_name, setup, fragment) => {
    const news = await setup();
    const before = host.fingerprint();
    const r = await provider.check({}, news);
    expect(r.failures).toEqual([]);
    await expect(provider.create(r.inputs)).rejects.toThrow(fragment);
    expect(host.fingerprint().replace(/calls=\d+/, "")).toBe(before.replace(/calls=\d+/, ""));
    expect(commands().filter((c) => /^(upgrade|downgrade|install|uninstall)/.test(c))).toEqual([]);
  });

  test("fails while another operation holds the host lock, naming the holder", async () => {
    const lock = path.join(host.root, ".emqx-release.lock");
    fs.mkdirSync(lock);
    fs.writeFileSync(
      path.join(lock, "owner"),
      JSON.stringify({
        id: "abc123",
        who: "ci@runner-7",
        pid: 42,
        operation: "upgrade",
        version: "4.4.16",
        startedAt: new Date().toISOString(),
        staleAfter: new Date(Date.now() + 600_000).toISOString(),
      }),
    );
    await expect(provider.create(await checked(inputs()))).rejects.toThrow(
      /another operation holds the host lock: ci@runner-7/,
    );
    expect(fs.existsSync(path.join(lock, "owner"))).toBe(true);
  });

  test("clears a lock only when EMQX_RELEASE_CLEAR_LOCK names its id, stale or not", async () => {
    const lock = path.join(host.root, ".emqx-release.lock");
    fs.rmSync(lock, { recursive: true, force: true });
    fs.mkdirSync(lock);
    fs.writeFileSync(
      path.join(lock, "owner"),
      JSON.stringify({
        id: "dead0001",
        who: "ci@runner-9",
        pid: 4242,
        operation: "upgrade",
        version: "4.4.16",
        startedAt: new Date().toISOString(),
        staleAfter: new Date(Date.now() + 600_000).toISOString(),
      }),
    );
    const news = await checked(inputs());
    try {
      process.env.EMQX_RELEASE_CLEAR_LOCK = "some-other-id";
      await expect(provider.create(news)).rejects.toThrow(/ci@runner-9.*rerun with EMQX_RELEASE_CLEAR_LOCK=dead0001/s);
      expect(fs.existsSync(path.join(lock, "owner"))).toBe(true);
      process.env.EMQX_RELEASE_CLEAR_LOCK = "dead0001";
      const { outs } = await provider.create(news);
      expect(outs.currentVersion).toBe("4.4.16");
      expect(fs.existsSync(lock)).toBe(false);
    } finally {
      delete process.env.EMQX_RELEASE_CLEAR_LOCK;
    }
  });
});

test("fails in check, before any host is contacted, for a version the package does not carry", async () => {
  const r = await provider.check({}, inputs({ version: "4.4.15" }));
  expect(r.failures).toEqual([expect.objectContaining({ property: "packagePath" })]);
  expect(host.calls()).toEqual([]);
});

test("fails with NodeChangedError when the health gate does not pass after the upgrade: the node keeps 4.4.16 and the error says so", async () => {
  const err = await provider
    .create(await checked(inputs({ healthGate: { command: ["false"], deadlineSeconds: 1 } })))
    .catch((e) => e);
  expect(err.name).toBe("NodeChangedError");
  expect(err.message).toMatch(
    /^127\.0\.0\.1: the health gate did not pass within 1 s after upgrade to 4\.4\.16: .*The node runs 4\.4\.16; fix it and run `pulumi up` again/s,
  );
  expect(err.message).toMatch(/\nthe node now lists: 4\.4\.16 permanent, 4\.4\.0 old$/);
  expect(err.installedVersions).toEqual([
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.0", status: "old" },
  ]);
  expect(commands().filter((c) => / upgrade /.test(` ${c} `))).toEqual(["upgrade 4.4.16"]);
});
