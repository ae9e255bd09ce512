// Each pre-flight refusal (provider/plan/preflight.ts and the untagged-build rule of upgrade-plan)
// on real OpenSSH sshd hosts (127.0.0.83-89) running the EMQX CLI emulator, through the provider's
// create: the error says what was found and what to do, and the host is untouched (same tree hash
// of the root and the data dir, no file in /tmp, no mutating command in the emulator's call log).
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { DebHost, RUNTIME_USER, startDebHost } from "../../support/deb-host";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(180_000);
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let pkg16: string;
beforeAll(async () => {
  pkg16 = await shelf.build({ version: "4.4.16" });
  jest.spyOn(console, "log").mockImplementation(() => undefined);
});
const hosts: (TestHost | DebHost)[] = [];
afterAll(async () => {
  for (const h of hosts) await h.stop();
  fs.rmSync(shelf.dir, { recursive: true, force: true });
});

const MUTATING = /^(upgrade|downgrade|install|uninstall|unpack|start|stop)$/;
const tmpEntries = () =>
  fs
    .readdirSync("/tmp")
    .filter((n) => n.startsWith("emqx_untar_") || n.startsWith(".emqx-release-upload-"))
    .sort();

/** create must fail with `name` and every fragment, changing nothing on the host. */
async function expectRefused(
  host: TestHost | DebHost,
  news: Record<string, unknown>,
  name: string,
  fragments: string[],
): Promise<void> {
  const r = await provider.check({}, news);
  expect(r.failures).toEqual([]);
  const before = host.fingerprint().replace(/calls=\d+/, "");
  const tmpBefore = tmpEntries();
  const err = await provider.create(r.inputs).catch((e) => e);
  expect(err.name).toBe(name);
  for (const f of fragments) expect(err.message).toContain(f);
  expect(err.message).toMatch(/nothing was changed$/);
  expect(err.message.split(host.connection.host)).toHaveLength(2); // named once

  expect(host.fingerprint().replace(/calls=\d+/, "")).toBe(before);
  expect(tmpEntries()).toEqual(tmpBefore);
  expect(
    host
      .calls()
      .map((c) => c.argv[0])
      .filter((c) => MUTATING.test(c)),
  ).toEqual([]);
}

async function deb(address: string, options: Parameters<typeof startDebHost>[2] = {}): Promise<DebHost> {
  const h = await startDebHost({ version: "4.4.10" }, address, options);
  hosts.push(h);
  return h;
}
async function zipHost(address: string, spec: Parameters<typeof startTestHost>[0]): Promise<TestHost> {
  const h = await startTestHost(spec, address);
  hosts.push(h);
  return h;
}
const debInputs = (h: DebHost, over: Record<string, unknown> = {}) => ({
  connection: h.connection,
  version: "4.4.16",
  packagePath: pkg16,
  emqxPath: h.emqxPath,
  runAs: RUNTIME_USER,
  ...over,
});
const zipInputs = (h: TestHost, over: Record<string, unknown> = {}) => ({
  connection: h.connection,
  version: "4.4.16",
  packagePath: pkg16,
  emqxPath: h.emqxPath,
  ...over,
});

test("fails for hot patches in the deb data dir (/var/lib/emqx/patches), naming them and the fix", async () => {
  const h = await deb("127.0.0.87");
  const patches = path.join(h.dataDir, "patches");
  fs.mkdirSync(patches);
  fs.writeFileSync(path.join(patches, "emqx_mod.beam"), "FOR1");
  await expectRefused(h, debInputs(h), "HostStateError", [
    `hot patches in ${patches} (emqx_mod.beam)`,
    `remove ${patches}/*.beam, then rerun`,
  ]);
});

test("fails when the root's filesystem cannot hold the zip, its repacked tar.gz and the unpacked release (df -Pk)", async () => {
  const h = await deb("127.0.0.88", { rootFsKb: 3 * 1024 });
  const big = await shelf.build({ version: "4.4.16", extraBytes: 1_600_000 });
  await expectRefused(h, debInputs(h, { packagePath: big }), "HostStateError", [
    `(holding ${h.root}) has `,
    `MiB free, but unpacking ${path.basename(big)} needs 4.`,
    "the zip and the tar.gz EMQX repacks it into",
    "Free space on",
  ]);
});

test("fails for an EMQX Edge node (EMQX_DESCRIPTION in emqx_vars)", async () => {
  const h = await deb("127.0.0.89");
  const vars = path.join(h.root, "releases", "emqx_vars");
  fs.writeFileSync(
    vars,
    fs.readFileSync(vars, "utf8").replace(/^EMQX_DESCRIPTION=.*$/m, "EMQX_DESCRIPTION='EMQ X Edge'"),
  );
  await expectRefused(h, debInputs(h), "UnsupportedUpgradeError", [
    "runs EMQX Edge (EMQX_DESCRIPTION 'EMQ X Edge'",
    "rolling upgrade",
  ]);
});

test("fails for a node running an untagged build (4.4.10-<sha>)", async () => {
  const h = await zipHost("127.0.0.83", { version: "4.4.10-0123abcd" });
  await expectRefused(h, zipInputs(h), "UnsupportedUpgradeError", [
    "runs 4.4.10-0123abcd, an untagged build (git sha suffix)",
    "rolling upgrade",
  ]);
});

test("fails in check, before any host is contacted, for an untagged target (4.4.16-<sha>)", async () => {
  const h = await zipHost("127.0.0.84", { version: "4.4.10" });
  const untagged = await shelf.build({ version: "4.4.16-0123abcd" });
  const r = await provider.check({}, zipInputs(h, { version: "4.4.16-0123abcd", packagePath: untagged }));
  expect(r.failures).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ property: "version", reason: expect.stringContaining("untagged build") }),
    ]),
  );
  expect(h.calls()).toEqual([]);
});

test("fails for an unpacked target under bin scripts 4.4.2-4.4.14 (they re-unpack it through create_RELEASES)", async () => {
  const h = await zipHost("127.0.0.85", {
    version: "4.4.10",
    extraReleases: [{ version: "4.4.16", status: "unpacked" }],
  });
  await expectRefused(h, zipInputs(h), "HostStateError", [
    "4.4.16 is already unpacked and the node's bin scripts are 4.4.10",
    "Run `emqx uninstall 4.4.16`",
  ]);
});

test("fails for a leftover releases/<V>/emqx.tar.gz under bin scripts before 4.4.2 (eexist)", async () => {
  const h = await zipHost("127.0.0.86", { version: "4.4.1" });
  fs.mkdirSync(path.join(h.root, "releases", "4.4.16"));
  fs.writeFileSync(path.join(h.root, "releases", "4.4.16", "emqx.tar.gz"), "stale");
  await expectRefused(h, zipInputs(h), "HostStateError", [
    `${h.root}/releases/4.4.16/emqx.tar.gz is left from an earlier failed attempt`,
    "remove that file by hand",
  ]);
});
