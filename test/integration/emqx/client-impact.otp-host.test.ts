// The client-impact gate (emqx/client-impact.ts) and the automatic rollback, through
// EmqxReleaseProvider, against a REAL OTP release named emqx (test/otp: a small MQTT 3.1.1 broker)
// behind real OpenSSH sshd, with real MQTT clients (MQTT.js) publishing QoS 1 messages throughout:
// a good hot upgrade keeps every client and passes the gate with its numbers; the bad release
// 4.4.3 (its relup kills every connection process, docs/emqx-4.4-observability.md §8) completes by
// EMQX's account while every client drops, the gate fails with the numbers, and
// `onGateFailure: "downgrade"` takes the node back to the release it ran before.
import { EmqxReleaseProvider } from "../../../provider";
import type { ClientImpactCheck } from "../../../provider/plan/client-impact";
import type { ReleaseResult } from "../../../provider/plan/release-result";
import { startClients, versionSequence, type ClientRecord } from "../../../sandbox/otp-clients";
import { startOtpHost, type OtpHost } from "../../../sandbox/otp-host";
import { ensureOtpReleases } from "../../../sandbox/otp-build";

jest.setTimeout(300_000);
const provider = new EmqxReleaseProvider();
let host: OtpHost;
const logs: string[] = [];

beforeAll(async () => {
  jest.spyOn(console, "log").mockImplementation((line: string) => void logs.push(String(line)));
  ensureOtpReleases();
  // One host for the suite: each test goes on from the state the previous one left.
  host = await startOtpHost("127.0.0.73", "4.4.0");
});
afterAll(async () => {
  await host?.stop();
});

function inputs(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connection: host.connection,
    version,
    packagePath: host.releases.zips[version],
    emqxPath: host.emqxPath,
    clientImpact: {},
    ...extra,
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

function check(result: ReleaseResult, name: ClientImpactCheck["name"]): ClientImpactCheck {
  const c = result.clientImpact?.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} check in ${JSON.stringify(result.clientImpact)}`);
  return c;
}

function expectNoMessageLost(records: ClientRecord[]): void {
  for (const r of records) {
    expect({ client: r.name, closedEarly: r.closedEarly }).toEqual({ client: r.name, closedEarly: undefined });
    expect(r.acked).toEqual(r.sent);
    expect(r.answers.map((a) => a.line)).toEqual(r.sent);
  }
}

let state: { id: string; outs: Record<string, unknown> };

test("GIVEN four MQTT clients publishing QoS 1 every 100 ms WHEN 4.4.0 is hot-upgraded to 4.4.2 THEN every client keeps its connection, no message is lost, deliveries switch to 4.4.2, and the gate passes with its numbers", async () => {
  const clients = await startClients(host.service.host, host.service.port, 4);
  await clients.waitForAnswers(5);
  const probe = { host: host.service.host, port: host.service.port };
  state = await provider.create(
    await checked(inputs("4.4.2", { onGateFailure: "downgrade", clientImpact: { probe } })),
  );
  await clients.waitForAnswers(Math.max(...clients.records.map((r) => r.answers.length)) + 5);
  const records = await clients.stop();

  expectNoMessageLost(records);
  for (const r of records) expect(versionSequence(r)).toEqual(["4.4.0", "4.4.2"]);
  const result = state.outs.lastResult as ReleaseResult;
  expect(result).toMatchObject({
    action: "upgrade",
    fromVersion: "4.4.0",
    version: "4.4.2",
    clientImpact: { passed: true, couldNotTell: false },
  });
  expect(result.rolledBack).toBeUndefined();
  // Four MQTT.js clients and the gate's own probe (through a forwarded SSH channel).
  expect(check(result, "connections")).toMatchObject({ verdict: "passed", before: 5, after: 5 });
  expect(check(result, "probe")).toMatchObject({
    verdict: "passed",
    detail: expect.stringMatching(/^the gate's own MQTT session stayed open/),
  });
  expect(check(result, "shutdowns")).toMatchObject({
    verdict: "passed",
    before: { "mqtt:tcp:external": 0 },
    after: { "mqtt:tcp:external": 0 },
  });
  expect(check(result, "uptime").verdict).toBe("passed");
  expect((check(result, "uptime").after as number) >= (check(result, "uptime").before as number)).toBe(true);
  expect(check(result, "plugins")).toMatchObject({
    verdict: "passed",
    before: ["emqx_dashboard", "emqx_management", "emqx_recon", "emqx_retainer", "emqx_rule_engine"],
  });
  expect(logs.some((l) => /client impact passed on attempt 1 .*live connections 5 -> 5 \(\+0%\)/.test(l))).toBe(true);
});

test("GIVEN clients on 4.4.2 WHEN the bad release 4.4.3 is hot-upgraded THEN the upgrade completes, every client drops, the gate fails with the numbers, the node is downgraded back to 4.4.2, and the clients can reconnect", async () => {
  const clients = await startClients(host.service.host, host.service.port, 3, { namePrefix: "bad" });
  await clients.waitForAnswers(5);
  const probe = { host: host.service.host, port: host.service.port };
  const news = await checked(inputs("4.4.3", { onGateFailure: "downgrade", clientImpact: { probe } }), state.outs);
  const error = await provider.update(state.id, state.outs, news).then(
    () => undefined,
    (e: Error) => e,
  );
  await clients.waitForClosed();
  const records = await clients.stop();

  for (const r of records)
    expect({ client: r.name, closedEarly: r.closedEarly, versions: versionSequence(r) }).toEqual({
      client: r.name,
      closedEarly: "closed by the server",
      versions: ["4.4.2"],
    });
  // EMQX's own account: the upgrade went through.
  expect(logs.some((l) => /upgrade 4\.4\.3/.test(l))).toBe(true);
  expect(error?.message).toMatch(
    /the client-impact gate failed after upgrade to 4\.4\.3: connections failed: live connections 4 -> 0 \(-100%\), a drop of more than the 10% allowed/,
  );
  expect(error?.message).toMatch(/probe failed: the gate's own MQTT session, open before the upgrade, was closed/);
  // Earlier clients that went away without DISCONNECT count as `closed`; the 3 clients and the probe add 4 killed.
  const [, from, to] =
    /mqtt:tcp:external shutdown_count (\d+) -> (\d+) \(killed \+4\): 4 connections ended, more than the 1 allowed/.exec(
      error?.message ?? "",
    ) ?? [];
  expect(Number(to) - Number(from)).toBe(4);
  expect(error?.message).toMatch(/It was rolled back: the node runs 4\.4\.2 again/);
  expect(host.versions()).toEqual(["4.4.3 old", "4.4.2 permanent", "4.4.0 old"]);
  expect(host.emqx("ctl", "status")).toBe(`Node '${host.nodeName}' 4.4.2 is started\n`);

  const again = await startClients(host.service.host, host.service.port, 2, { namePrefix: "again" });
  await again.waitForAnswers(3);
  const back = await again.stop();
  for (const r of back) expect(versionSequence(r)).toEqual(["4.4.2"]);
});

test("inside a fleet (__recordFailure) the failed gate and the rollback are recorded in lastResult with both versions, and the next diff leaves the host alone until the declaration changes or retryAfterRollback is set", async () => {
  const clients = await startClients(host.service.host, host.service.port, 2, { namePrefix: "fleet" });
  await clients.waitForAnswers(3);
  const news = await checked(inputs("4.4.3", { onGateFailure: "downgrade", __recordFailure: true }), state.outs);
  const { outs } = await provider.update(state.id, state.outs, news);
  await clients.stop();

  const result = outs.lastResult as ReleaseResult;
  expect(result).toMatchObject({
    action: "upgrade",
    fromVersion: "4.4.2",
    toVersion: "4.4.3",
    version: "4.4.2",
    clientImpact: { passed: false, couldNotTell: false },
    rolledBack: { from: "4.4.3", to: "4.4.2" },
  });
  expect(check(result, "connections")).toMatchObject({ verdict: "failed", before: 2, after: 0 });
  const shutdowns = check(result, "shutdowns") as ClientImpactCheck & {
    before: Record<string, number>;
    after: Record<string, number>;
  };
  expect(shutdowns.verdict).toBe("failed");
  expect(shutdowns.after["mqtt:tcp:external"] - shutdowns.before["mqtt:tcp:external"]).toBe(2);
  expect(shutdowns.detail).toMatch(/\(killed \+2\)/);
  expect(outs).toMatchObject({ currentVersion: "4.4.2", permanentVersion: "4.4.2" });

  const same = await checked(inputs("4.4.3", { onGateFailure: "downgrade", __recordFailure: true }), outs);
  expect((await provider.diff(state.id, outs, same)).changes).toBe(false);
  const retry = await checked(
    inputs("4.4.3", { onGateFailure: "downgrade", __recordFailure: true, retryAfterRollback: true }),
    outs,
  );
  expect((await provider.diff(state.id, outs, retry)).changes).toBe(true);
});
