// EmqxFleet in a program, with the engine replaced by pulumi.runtime.setMocks: the children it
// registers (names, tokens, inputs), the gates between batches, the plan and summary outputs, and
// the refusals it reports at program time.
import * as pulumi from "@pulumi/pulumi";
import { EmqxFleet, EmqxFleetArgs } from "../../../provider/pulumi/fleet";
import { mockEngine, valueOf, type MockedEngine } from "../../support/pulumi-mocks";

let engine: MockedEngine;
let registered: MockedEngine["registered"];
let pkg: string;

beforeAll(async () => {
  engine = await mockEngine((args) =>
    args.type === "pulumi-nodejs:dynamic/emqx:EmqxRelease"
      ? {
          currentVersion: args.inputs.version,
          lastResult: {
            action: "upgrade",
            fromVersion: "4.4.15",
            toVersion: args.inputs.version,
            version: args.inputs.version,
            durationMs: 5,
            finishedAt: "t",
          },
        }
      : {},
  );
  registered = engine.registered;
  pkg = engine.packagePath;
});
afterAll(() => engine.cleanup());

/** Waits until the mocks have seen every child of the fleet. */
const settle = (f: EmqxFleet) =>
  valueOf(pulumi.all([...Object.values(f.releases).map((r) => r.urn), ...f.gates.map((g) => g.urn)]));
const inputsOf = (name: string) => engine.inputsOf(name);

function args(overrides: Partial<EmqxFleetArgs> = {}): EmqxFleetArgs {
  return {
    hosts: [
      { name: "a", connection: { host: "10.0.0.1" } },
      { name: "b", connection: { host: "10.0.0.2" }, cluster: "c1" },
      { name: "c", connection: { host: "10.0.0.3", user: "ubuntu" }, cluster: "c1" },
    ],
    connectionDefaults: { user: "root", port: 2222 },
    version: "4.4.16",
    packagePath: pkg,
    rollout: { canary: 1, batchSize: 2, pauseSeconds: 30 },
    ...overrides,
  };
}

test("registers one EmqxRelease per host named <fleet>-<host>, and a gate after each batch", async () => {
  const fleet = new EmqxFleet("f1", args());
  await settle(fleet);
  const mine = registered.filter((r) => r.name.startsWith("f1"));
  expect(mine.map((r) => [r.type, r.name])).toEqual(
    expect.arrayContaining([
      ["emqx:index:EmqxFleet", "f1"],
      ["pulumi-nodejs:dynamic/emqx:EmqxRelease", "f1-a"],
      ["pulumi-nodejs:dynamic/emqx:EmqxRelease", "f1-b"],
      ["pulumi-nodejs:dynamic/emqx:EmqxRelease", "f1-c"],
      ["pulumi-nodejs:dynamic/emqx:EmqxRolloutGate", "f1-gate-1"],
      ["pulumi-nodejs:dynamic/emqx:EmqxRolloutGate", "f1-gate-2"],
    ]),
  );
  expect(mine).toHaveLength(6);
});

test("each node gets connectionDefaults under its own fields, the shared inputs, and records failures", async () => {
  const fleet = new EmqxFleet("f2", args());
  await settle(fleet);
  const c = inputsOf("f2-c");
  expect(c.connection).toEqual({ host: "10.0.0.3", user: "ubuntu", port: 2222 });
  expect(inputsOf("f2-a").connection).toEqual({ host: "10.0.0.1", user: "root", port: 2222 });
  expect(c).toMatchObject({ version: "4.4.16", packagePath: pkg, __recordFailure: true, healthGate: {} });
});

test("the gates carry the batch, the budget, the pause (none after the last batch) and the members so far", async () => {
  const fleet = new EmqxFleet(
    "f3",
    args({ rollout: { canary: 1, batchSize: 2, pauseSeconds: 30, maxFailures: "50%" } }),
  );
  await settle(fleet);
  const g1 = inputsOf("f3-gate-1");
  const g2 = inputsOf("f3-gate-2");
  expect(g1).toMatchObject({ fleet: "f3", batch: 1, batchCount: 2, maxFailures: 1, pauseSeconds: 30 });
  expect((g1.members as { name: string }[]).map((m) => m.name)).toEqual(["a"]);
  expect(g2).toMatchObject({ batch: 2, pauseSeconds: 0 });
  expect((g2.members as { name: string; batch: number }[]).map((m) => [m.name, m.batch])).toEqual([
    ["a", 1],
    ["b", 2],
    ["c", 2],
  ]);
  expect((g2.members as { result: { version: string } }[])[2].result.version).toBe("4.4.16");
});

test("the plan output gives each host its batch, cluster, what it waits for and the target", async () => {
  const fleet = new EmqxFleet("f4", args());
  expect(await valueOf(fleet.plan)).toEqual({
    a: { batch: 1, after: [], to: "4.4.16", held: false },
    b: { batch: 2, cluster: "c1", after: [], to: "4.4.16", held: false },
    c: { batch: 2, cluster: "c1", after: ["b"], to: "4.4.16", held: false },
  });
  expect(await valueOf(fleet.summary)).toEqual({ a: "4.4.15 -> 4.4.16", b: "4.4.15 -> 4.4.16", c: "4.4.15 -> 4.4.16" });
});

test("promote: false upgrades the canary with --no-permanent and marks the later hosts held", async () => {
  const fleet = new EmqxFleet("f5", args({ rollout: { canary: 1, batchSize: 2, promote: false } }));
  await settle(fleet);
  const plan = await valueOf(fleet.plan);
  expect(inputsOf("f5-a").permanent).toBe(false);
  expect(inputsOf("f5-b").permanent).toBeUndefined();
  expect(Object.values(plan).map((p) => p.held)).toEqual([false, true, true]);
});

test("fails at construction for duplicate host names, naming the property", () => {
  const hosts = [
    { name: "a", connection: { host: "10.0.0.1" } },
    { name: "a", connection: { host: "10.0.0.2" } },
  ];
  expect(() => new EmqxFleet("f6", args({ hosts }))).toThrow(/hosts\[1\]\.name "a" is used by two hosts/);
});

test("fails at construction for a malformed rollout", () => {
  expect(() => new EmqxFleet("f7", args({ rollout: { batchSize: "half" } }))).toThrow(
    /rollout\.batchSize must be a whole number >= 0 or a percentage/,
  );
});

test("logs every host's refusal at once, grouped, without the engine stopping at the first", async () => {
  const errors: string[] = [];
  const spy = jest.spyOn(pulumi.log, "error").mockImplementation(async (msg: string) => void errors.push(msg));
  try {
    const hosts = [
      { name: "a", connection: { host: "10.0.0.1;reboot" } },
      { name: "b", connection: { host: "10.0.0.2" } },
      { name: "c", connection: { host: "10.0.0.2" } },
    ];
    const fleet = new EmqxFleet("f8", args({ hosts, version: "4.5.0", emqxPath: "emqx $(id)" }));
    await valueOf(fleet.plan);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    spy.mockRestore();
  }
  expect(errors).toEqual([
    expect.stringMatching(/^EmqxFleet f8: connection\.host \(host a\): must be a host name or IP/),
    expect.stringMatching(/^EmqxFleet f8: version \(all 3 hosts\): EmqxRelease manages EMQX 4\.4 only/),
    expect.stringMatching(
      /^EmqxFleet f8: packagePath \(all 3 hosts\): .* is the package of EMQX 4\.4\.16, but version is "4\.5\.0"/,
    ),
    expect.stringMatching(/^EmqxFleet f8: emqxPath \(all 3 hosts\): must be a command name/),
    "EmqxFleet f8: hosts: b, c all point at 10.0.0.2:2222: each node must be listed once",
    expect.stringMatching(/^EmqxFleet f8: 5 refusal\(s\) above; no host was contacted/),
  ]);
});

test("preview refuses a bad clientImpact, gate policy, proxy or header for every host, and shows no header value", async () => {
  const errors: string[] = [];
  const spy = jest.spyOn(pulumi.log, "error").mockImplementation(async (msg: string) => void errors.push(msg));
  try {
    const fleet = new EmqxFleet(
      "f9",
      args({
        clientImpact: { deadlineSeconds: 1 },
        onGateFailure: "panic",
        packageProxy: "socks5://proxy:1080",
        packageHeaders: { Authorization: "Bearer ok\nX: SECRET-f9" },
      } as Record<string, unknown>),
    );
    await valueOf(fleet.plan);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    spy.mockRestore();
  }
  const text = errors.join("\n");
  for (const property of [
    "clientImpact.deadlineSeconds",
    "onGateFailure",
    "packageProxy",
    "packageHeaders.Authorization",
  ])
    expect([property, text]).toEqual([property, expect.stringContaining(`EmqxFleet f9: ${property} (all `)]);
  expect(text).not.toContain("SECRET-f9");
  expect(errors[errors.length - 1]).toMatch(/refusal\(s\) above; no host was contacted/);
});

test("passes packageUrl, packageSha256 and a secret packageHeaders to every host", async () => {
  const fleet = new EmqxFleet("furl", {
    hosts: [
      { name: "a", connection: { host: "10.9.0.1" } },
      { name: "b", connection: { host: "10.9.0.2" } },
    ],
    connectionDefaults: { password: "pw" },
    version: "4.4.16",
    packageUrl: "https://packages.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
    packageSha256: "b".repeat(64),
    packageHeaders: { Authorization: "Bearer fleet-token" },
  });
  await valueOf(fleet.releases.b.urn);
  for (const n of ["furl-a", "furl-b"]) {
    const inputs = registered.find((x) => x.name === n)!.inputs as Record<string, unknown>;
    expect(inputs).toMatchObject({ packageUrl: expect.stringMatching(/^https:/), packageSha256: "b".repeat(64) });
    expect(JSON.stringify(inputs.packageHeaders)).toContain("1b47061264138c4ac30d75fd1eb44270");
  }
});
