// EmqxReleaseProvider's methods (no engine; the "otp-host" aspect of pulumi/release-provider.ts,
// whose main test runs on the emulator) against a REAL OTP release named emqx (test/otp, built
// with Debian's rebar3) behind real OpenSSH sshd: real release_handler, real relups, real code
// loading. MQTT clients (MQTT.js) stay connected through the hot upgrade and the downgrade;
// --no-permanent is lost in a restart exactly as on the emulator, which the last test checks side by side.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { startClients, versionSequence, type ClientRecord } from "../../../sandbox/otp-clients";
import { startOtpHost, type OtpHost } from "../../../sandbox/otp-host";
import { ensureOtpReleases } from "../../../sandbox/otp-build";
import { packageShelf, startTestHost } from "../../../sandbox/test-host";

jest.setTimeout(240_000);
const provider = new EmqxReleaseProvider();
let host: OtpHost;

beforeAll(() => {
  jest.spyOn(console, "log").mockImplementation(() => undefined);
  ensureOtpReleases();
});
beforeEach(async () => {
  host = await startOtpHost("127.0.0.70", "4.4.0");
});
afterEach(async () => {
  await host?.stop();
});

function inputs(version: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connection: host.connection,
    version,
    packagePath: host.releases.zips[version],
    emqxPath: host.emqxPath,
    ...overrides,
  };
}

async function checked(
  news: Record<string, unknown>,
  olds: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const r = await provider.check(olds, news);
  expect(r.failures).toEqual([]);
  return r.inputs;
}

/** Every MQTT client kept its connection, and each QoS 1 message it published was acknowledged and
 * delivered back to it, in order. */
function expectNoMessageLost(records: ClientRecord[]): void {
  for (const r of records) {
    expect({ client: r.name, closedEarly: r.closedEarly }).toEqual({ client: r.name, closedEarly: undefined });
    expect(r.acked).toEqual(r.sent);
    expect(r.answers.map((a) => a.line)).toEqual(r.sent);
  }
}

test("the real host answers the provider's reads as EMQX does: versions, quoted root_dir, ctl status, host facts", async () => {
  expect(host.emqx("versions")).toBe("Installed versions:\n* 4.4.0\tpermanent\n\n");
  expect(host.emqx("root_dir")).toBe(`"${host.root}"\n`);
  expect(host.emqx("ctl", "status")).toBe(`Node '${host.nodeName}' 4.4.0 is started\n`);
  expect(host.emqx("ctl", "cluster", "status")).toBe(
    `Cluster status: #{running_nodes => ['${host.nodeName}'],stopped_nodes => []}\n`,
  );
  const { outs } = await provider.create(await checked(inputs("4.4.0")));
  expect(outs).toMatchObject({
    lastAction: "adopt",
    rootDir: host.root,
    installedVersions: [{ version: "4.4.0", status: "permanent" }],
    hostFacts: {
      osId: host.releases.os,
      arch: host.releases.arch,
      otpMajor: Number(host.releases.otp.split(".")[0]),
      edition: "ce",
      binScriptsVersion: "4.4.0",
      relupDownTo: [],
    },
  });
});

test("hot-upgrades 4.4.0 to 4.4.2 while three MQTT clients publish a QoS 1 message every 100 ms: no client loses its connection or a QoS 1 message, all switch to 4.4.2", async () => {
  const clients = await startClients(host.service.host, host.service.port, 3);
  await clients.waitForAnswers(5);
  const { outs } = await provider.create(await checked(inputs("4.4.2")));
  const answeredBefore = clients.records.map((r) => r.answers.length);
  await clients.waitForAnswers(Math.max(...answeredBefore) + 5);
  const records = await clients.stop();

  expect(outs).toMatchObject({
    lastAction: "upgrade",
    previousVersion: "4.4.0",
    currentVersion: "4.4.2",
    permanentVersion: "4.4.2",
  });
  expect(outs.installedVersions).toEqual([
    { version: "4.4.2", status: "permanent" },
    { version: "4.4.0", status: "old" },
  ]);
  expectNoMessageLost(records);
  for (const r of records) expect(versionSequence(r)).toEqual(["4.4.0", "4.4.2"]);
  // EMQX's traces of a real upgrade: the repacked tarball, the appended emqx_vars, the new scripts.
  expect(fs.existsSync(path.join(host.root, "releases", "emqx-4.4.2.tar.gz"))).toBe(true);
  expect(fs.readFileSync(path.join(host.root, "releases", "emqx_vars"), "utf8")).toMatch(
    /REL_VSN="4\.4\.2"\nERTS_VSN="[0-9.]+"\n$/,
  );
  expect(fs.readFileSync(path.join(host.root, "releases", "start_erl.data"), "utf8")).toBe(
    `${host.releases.erts} 4.4.2`,
  );
  expect(host.emqx("ctl", "status")).toContain(" 4.4.2 is started");
});

test("downgrades 4.4.2 to 4.4.0 with clients connected (4.4.2's relup down path), then uninstallPrevious removes 4.4.2 and its lib dir", async () => {
  const first = await provider.create(await checked(inputs("4.4.2")));
  const clients = await startClients(host.service.host, host.service.port, 2);
  await clients.waitForAnswers(5);
  const down = await checked(inputs("4.4.0", { allowDowngrade: true, uninstallPrevious: true }), first.outs);
  const { outs } = await provider.update(first.id, first.outs, down);
  await clients.waitForAnswers(Math.max(...clients.records.map((r) => r.answers.length)) + 5);
  const records = await clients.stop();

  expect(outs).toMatchObject({ lastAction: "downgrade", currentVersion: "4.4.0", permanentVersion: "4.4.0" });
  expect(outs.installedVersions).toEqual([{ version: "4.4.0", status: "permanent" }]);
  expectNoMessageLost(records);
  for (const r of records) expect(versionSequence(r)).toEqual(["4.4.2", "4.4.0"]);
  expect(fs.readdirSync(path.join(host.root, "lib")).filter((d) => d.startsWith("emqx-"))).toEqual(["emqx-4.4.0"]);
  expect(fs.existsSync(path.join(host.root, "releases", "4.4.2"))).toBe(false);
});

test("revert: declaring the permanent 4.4.0 while a --no-permanent 4.4.1 runs restarts the real node into 4.4.0 (`emqx stop`, `emqx start`)", async () => {
  const trial = await provider.create(await checked(inputs("4.4.1", { permanent: false })));
  expect(trial.outs).toMatchObject({ currentVersion: "4.4.1", permanentVersion: "4.4.0" });
  const { outs } = await provider.update(trial.id, trial.outs, await checked(inputs("4.4.0"), trial.outs));
  expect(outs).toMatchObject({
    lastAction: "revert",
    previousVersion: "4.4.1",
    currentVersion: "4.4.0",
    permanentVersion: "4.4.0",
  });
  expect(host.versions()).toEqual(["4.4.1 unpacked", "4.4.0 permanent"]);
  expect(host.emqx("ctl", "status")).toBe(`Node '${host.nodeName}' 4.4.0 is started\n`);
});

test("--no-permanent then a node restart falls back to the permanent release, and the emulator lists the same versions as real release_handler at every step", async () => {
  const shelf = packageShelf();
  const emulated = await startTestHost({ version: "4.4.0", erts: host.releases.erts }, "127.0.0.71");
  try {
    const facts = { erts: host.releases.erts, otp: host.releases.otp, os: host.releases.os, arch: host.releases.arch };
    const emuZips: Record<string, string> = {
      "4.4.0": await shelf.build({ version: "4.4.0", ...facts }),
      "4.4.1": await shelf.build({ version: "4.4.1", ...facts }),
      "4.4.2": await shelf.build({ version: "4.4.2", ...facts }),
    };
    const nodes = [
      {
        name: "real",
        emqxPath: host.emqxPath,
        connection: host.connection,
        zips: host.releases.zips,
        outs: undefined as Record<string, unknown> | undefined,
        id: "",
      },
      {
        name: "emulator",
        emqxPath: emulated.emqxPath,
        connection: emulated.connection,
        zips: emuZips,
        outs: undefined as Record<string, unknown> | undefined,
        id: "",
      },
    ];
    const seen: Array<{ step: string; real: string[]; emulator: string[] }> = [];
    const record = (step: string) =>
      seen.push({ step, real: cliVersions(host.emqxPath), emulator: cliVersions(emulated.emqxPath) });
    const apply = async (step: string, version: string, extra: Record<string, unknown> = {}) => {
      for (const n of nodes) {
        const news = await checked(
          { connection: n.connection, version, packagePath: n.zips[version], emqxPath: n.emqxPath, ...extra },
          n.outs ?? {},
        );
        if (n.outs) {
          n.outs = (await provider.update(n.id, n.outs, news)).outs;
        } else {
          const created = await provider.create(news);
          n.id = created.id;
          n.outs = created.outs;
        }
      }
      record(step);
    };

    await apply("upgrade 4.4.2", "4.4.2");
    await apply("downgrade 4.4.0", "4.4.0", { allowDowngrade: true });
    await apply("upgrade --no-permanent 4.4.1", "4.4.1", { permanent: false });
    const clients = await startClients(host.service.host, host.service.port, 1);
    await clients.waitForAnswers(3);
    for (const path of [host.emqxPath, emulated.emqxPath]) {
      execFileSync(path, ["stop"]);
      execFileSync(path, ["start"]);
    }
    record("stop + start");
    await new Promise((r) => setTimeout(r, 200));
    const [dropped] = await clients.stop();
    await apply("upgrade 4.4.2 (old) + uninstall previous", "4.4.2", { uninstallPrevious: true });

    expect(seen.map((s) => [s.step, s.real])).toEqual([
      ["upgrade 4.4.2", ["4.4.2 permanent", "4.4.0 old"]],
      ["downgrade 4.4.0", ["4.4.2 old", "4.4.0 permanent"]],
      ["upgrade --no-permanent 4.4.1", ["4.4.1 current", "4.4.2 old", "4.4.0 permanent"]],
      ["stop + start", ["4.4.1 unpacked", "4.4.2 old", "4.4.0 permanent"]],
      ["upgrade 4.4.2 (old) + uninstall previous", ["4.4.1 unpacked", "4.4.2 permanent"]],
    ]);
    for (const s of seen) expect({ step: s.step, versions: s.emulator }).toEqual({ step: s.step, versions: s.real });
    // The restart dropped the client (a restart is not a hot upgrade); the node came back on 4.4.0.
    expect(dropped.closedEarly).toBe("closed by the server");
    expect(versionSequence(dropped)).toEqual(["4.4.1"]);
    expect(nodes[0].outs).toMatchObject({
      currentVersion: "4.4.2",
      permanentVersion: "4.4.2",
      previousVersion: "4.4.0",
      lastAction: "upgrade",
    });
    expect(nodes[1].outs).toMatchObject({
      currentVersion: "4.4.2",
      permanentVersion: "4.4.2",
      previousVersion: "4.4.0",
      lastAction: "upgrade",
    });
  } finally {
    await emulated.stop();
  }
});

/** `emqx versions` as "<vsn> <status>" strings, in the CLI's order. */
function cliVersions(emqxPath: string): string[] {
  const out = execFileSync(emqxPath, ["versions"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.startsWith("* "))
    .map((l) => l.slice(2).replace("\t", " "));
}
