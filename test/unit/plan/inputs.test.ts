// resolveInputs: the one function that applies every default before anything reads the inputs.
import { DEFAULTS, ReleaseInputs, resolveInputs } from "../../../provider/plan/inputs";

const MINIMAL: ReleaseInputs = {
  connection: { host: "10.0.0.7" },
  version: "4.4.16",
  packagePath: "./emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
};

test("applies every default to minimal inputs", () => {
  expect(resolveInputs(MINIMAL)).toEqual({
    target: {
      host: "10.0.0.7",
      port: 22,
      user: "root",
      privateKey: undefined,
      privateKeyPassword: undefined,
      password: undefined,
      agentSocketPath: undefined,
      hostKey: undefined,
      knownHosts: undefined,
      pinnedFingerprint: undefined,
      readyTimeoutMs: 20_000,
      proxy: undefined,
      dialAttempts: 5,
      dialRetryDelayMs: 2_000,
      commandTimeoutMs: 60_000,
    },
    version: "4.4.16",
    packagePath: MINIMAL.packagePath,
    edition: undefined,
    packageSha256: undefined,
    permanent: true,
    emqxPath: "emqx",
    runAs: undefined,
    allowDowngrade: false,
    uninstallPrevious: false,
    commandTimeoutMs: 60_000,
    upgradeTimeoutMs: 600_000,
    healthGate: undefined,
    clientImpact: undefined,
    onGateFailure: "halt",
  });
});

test("fills in the client-impact gate's tolerant defaults only when the gate is given", () => {
  expect(resolveInputs({ ...MINIMAL, clientImpact: {} }).clientImpact).toEqual({
    deadlineSeconds: 60,
    maxConnectionDropPercent: 10,
    maxShutdownGrowthPercent: 10,
    requireSamePlugins: true,
  });
  expect(
    resolveInputs({
      ...MINIMAL,
      clientImpact: { maxConnectionDropPercent: 0, requireSamePlugins: false },
      onGateFailure: "downgrade",
    }),
  ).toMatchObject({
    clientImpact: {
      deadlineSeconds: 60,
      maxConnectionDropPercent: 0,
      maxShutdownGrowthPercent: 10,
      requireSamePlugins: false,
    },
    onGateFailure: "downgrade",
  });
  expect(resolveInputs({ ...MINIMAL, clientImpact: { probe: true } }).clientImpact?.probe).toEqual({
    host: "127.0.0.1",
    port: 11883,
  });
  expect(resolveInputs({ ...MINIMAL, clientImpact: { probe: { port: 1883 } } }).clientImpact?.probe).toEqual({
    host: "127.0.0.1",
    port: 1883,
  });
});

test("the defaults outlast EMQX's own 300 s RPC timeout", () => {
  expect(DEFAULTS.upgradeTimeoutMs).toBeGreaterThan(300_000);
});

test("keeps every given value, including false and the command timeout for the SSH target", () => {
  const r = resolveInputs({
    ...MINIMAL,
    connection: { host: "h", port: 2222, user: "ubuntu", password: "pw", readyTimeoutMs: 5000, hostKey: "SHA256:abc" },
    edition: "ee",
    permanent: false,
    emqxPath: "/usr/bin/emqx",
    runAs: "emqx",
    allowDowngrade: true,
    uninstallPrevious: true,
    commandTimeoutMs: 9000,
    upgradeTimeoutMs: 900_000,
  });
  expect(r.target).toMatchObject({
    host: "h",
    port: 2222,
    user: "ubuntu",
    password: "pw",
    readyTimeoutMs: 5000,
    hostKey: "SHA256:abc",
    commandTimeoutMs: 9000,
  });
  expect(r).toMatchObject({
    edition: "ee",
    permanent: false,
    emqxPath: "/usr/bin/emqx",
    runAs: "emqx",
    allowDowngrade: true,
    uninstallPrevious: true,
    commandTimeoutMs: 9000,
    upgradeTimeoutMs: 900_000,
  });
});

test("lower-cases the pinned package digest", () => {
  expect(resolveInputs({ ...MINIMAL, packageSha256: "AB".repeat(32) }).packageSha256).toBe("ab".repeat(32));
});

test("resolves the bastion with its own defaults, and pins first-contact fingerprints per hop", () => {
  const r = resolveInputs(
    { ...MINIMAL, connection: { host: "10.0.0.7", user: "ops", proxy: { host: "bastion", privateKey: "k" } } },
    { target: "SHA256:target", proxy: "SHA256:bastion" },
  );
  expect(r.target.pinnedFingerprint).toBe("SHA256:target");
  expect(r.target.user).toBe("ops");
  expect(r.target.proxy).toEqual({
    host: "bastion",
    port: 22,
    user: "root",
    privateKey: "k",
    privateKeyPassword: undefined,
    password: undefined,
    agentSocketPath: undefined,
    hostKey: undefined,
    knownHosts: undefined,
    pinnedFingerprint: "SHA256:bastion",
    readyTimeoutMs: 20_000,
  });
});

test("fills in the health gate's defaults only when a health gate is given", () => {
  expect(resolveInputs({ ...MINIMAL, healthGate: {} }).healthGate).toEqual({
    deadlineSeconds: 120,
    command: undefined,
    requireClusterRunning: false,
  });
  expect(
    resolveInputs({ ...MINIMAL, healthGate: { deadlineSeconds: 30, command: ["true"], requireClusterRunning: true } })
      .healthGate,
  ).toEqual({ deadlineSeconds: 30, command: ["true"], requireClusterRunning: true });
});
