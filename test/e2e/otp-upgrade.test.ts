// `pulumi up` (the real CLI) on the sandbox program against a REAL OTP release named emqx (test/otp)
// behind real sshd, with MQTT clients publishing a QoS 1 message every 100 ms throughout: the
// hot upgrade 4.4.0 -> 4.4.2 keeps every connection and loses no QoS 1 message while the
// deliveries switch version; then a downgrade, a --no-permanent trial that a node restart loses (real release_handler), and an
// upgrade that uninstalls the old release. The tests run in order on one host and one stack.
import * as fs from "fs";
import * as path from "path";
import { ensureEngine } from "../../sandbox/engine";
import { startClients, versionSequence, type ClientRecord, type Clients } from "../../sandbox/otp-clients";
import { startOtpHost, type OtpHost } from "../../sandbox/otp-host";
import { compiledPath, newStackDir, runStack, type RunStackResult, type StackDirs } from "../../sandbox/run-stack";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 5 * 60 * 1000;

let host: OtpHost;
let dirs: StackDirs;
let programModule: string;
let clients: Clients | undefined;

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/sandbox/index.ts");
  compiledPath("provider/index.ts");
  dirs = newStackDir("otp");
  host = await startOtpHost("127.0.0.72", "4.4.0");
});

afterAll(async () => {
  await clients?.stop();
  await host?.stop();
  dirs?.cleanup();
});

async function up(version: string, extra: Record<string, string> = {}): Promise<RunStackResult> {
  const config: Record<string, { value: string; secret?: boolean }> = {
    hosts: {
      value: JSON.stringify([
        {
          name: "otp-1",
          host: host.connection.host,
          port: host.connection.port,
          hostKey: host.connection.hostKey,
          emqxPath: host.emqxPath,
        },
      ]),
    },
    privateKey: { value: host.connection.privateKey, secret: true },
    version: { value: version },
    packagePath: { value: host.releases.zips[version] },
  };
  for (const [k, v] of Object.entries(extra)) config[k] = { value: v };
  return runStack(
    { projectName: "emqx-sandbox", stackName: "otp", programModule, config, ops: ["up"] },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
}

/** Runs `up` with three clients connected, and returns what they saw once a few answers came after it. */
async function upWithClients(
  version: string,
  extra: Record<string, string> = {},
): Promise<{ res: RunStackResult; records: ClientRecord[] }> {
  clients = await startClients(host.service.host, host.service.port, 3);
  await clients.waitForAnswers(5);
  const res = await up(version, extra);
  await clients.waitForAnswers(Math.max(...clients.records.map((r) => r.answers.length)) + 5);
  const records = await clients.stop();
  clients = undefined;
  return { res, records };
}

function expectEveryMessageDelivered(records: ClientRecord[], sequence: string[]): void {
  for (const r of records) {
    expect({ client: r.name, closedEarly: r.closedEarly, versions: versionSequence(r) }).toEqual({
      client: r.name,
      closedEarly: undefined,
      versions: sequence,
    });
    expect(r.acked).toEqual(r.sent);
    expect(r.answers.map((a) => a.line)).toEqual(r.sent);
  }
}

test("pulumi up hot-upgrades 4.4.0 to 4.4.2 while three MQTT clients publish a QoS 1 message every 100 ms: every client keeps its connection, loses no QoS 1 message, and sees 4.4.2 answer", async () => {
  const { res, records } = await upWithClients("4.4.2");
  expect(res.results[0]).toMatchObject({ op: "up", ok: true, summary: { create: 2 } });
  expect(res.results[0].outputs?.versions.value).toEqual(["4.4.2"]);
  expect(res.results[0].outputs?.permanentVersions.value).toEqual(["4.4.2"]);
  expectEveryMessageDelivered(records, ["4.4.0", "4.4.2"]);
  expect(records.every((r) => r.sent.length >= 20)).toBe(true);
  expect(host.versions()).toEqual(["4.4.2 permanent", "4.4.0 old"]);
});

test("pulumi up with allowDowngrade takes the node back to 4.4.0 through 4.4.2's relup, clients still connected", async () => {
  const { res, records } = await upWithClients("4.4.0", { allowDowngrade: "true" });
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 1 } });
  expectEveryMessageDelivered(records, ["4.4.2", "4.4.0"]);
  expect(host.versions()).toEqual(["4.4.2 old", "4.4.0 permanent"]);
});

test("a --no-permanent 4.4.1 is lost in a node restart: the node boots its permanent 4.4.0, and refresh shows it", async () => {
  const { res, records } = await upWithClients("4.4.1", { permanent: "false" });
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 1 } });
  expect(res.results[0].outputs?.versions.value).toEqual(["4.4.1"]);
  expect(res.results[0].outputs?.permanentVersions.value).toEqual(["4.4.0"]);
  expectEveryMessageDelivered(records, ["4.4.0", "4.4.1"]);

  host.emqx("stop");
  expect(host.emqx("start")).toBe("EMQ X Broker 4.4.0 is started successfully!\n");
  expect(host.versions()).toEqual(["4.4.1 unpacked", "4.4.2 old", "4.4.0 permanent"]);
  expect(host.emqx("ctl", "status")).toBe(`Node '${host.nodeName}' 4.4.0 is started\n`);
  const refreshed = await runStack(
    { projectName: "emqx-sandbox", stackName: "otp", programModule, ops: ["refresh", "outputs"] },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
  expect(refreshed.results[0]).toMatchObject({ op: "refresh", ok: true, summary: { update: 1 } });
});

test("pulumi up with uninstallPrevious switches to the old 4.4.2 with clients connected and uninstalls 4.4.0", async () => {
  const { res, records } = await upWithClients("4.4.2", { uninstallPrevious: "true" });
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 1 } });
  expectEveryMessageDelivered(records, ["4.4.0", "4.4.2"]);
  expect(res.results[0].outputs?.permanentVersions.value).toEqual(["4.4.2"]);
  expect(host.versions()).toEqual(["4.4.1 unpacked", "4.4.2 permanent"]);
  expect(fs.existsSync(path.join(host.root, "lib", "emqx-4.4.0"))).toBe(false);
  expect(fs.readFileSync(path.join(host.root, "releases", "emqx_vars"), "utf8").match(/^REL_VSN=.*$/gm)).toEqual([
    'REL_VSN="4.4.0"',
    'REL_VSN="4.4.2"',
    'REL_VSN="4.4.0"',
    'REL_VSN="4.4.2"',
  ]);
});
