import { CONNECTION_DEFAULTS, endpointPort, resolveEndpoint, resolveTarget } from "../../../provider/plan/connection";

test("resolveEndpoint applies every default and keeps what was given", () => {
  expect(resolveEndpoint({ host: "10.0.0.7" })).toEqual({
    host: "10.0.0.7",
    port: 22,
    user: "root",
    readyTimeoutMs: 20_000,
    privateKey: undefined,
    privateKeyPassword: undefined,
    password: undefined,
    agentSocketPath: undefined,
    hostKey: undefined,
    knownHosts: undefined,
    pinnedFingerprint: undefined,
  });
  expect(resolveEndpoint({ host: "h", port: 2222, user: "ubuntu", readyTimeoutMs: 5000 }, "SHA256:x")).toMatchObject({
    port: 2222,
    user: "ubuntu",
    readyTimeoutMs: 5000,
    pinnedFingerprint: "SHA256:x",
  });
});

test("resolveTarget resolves the bastion too, with its own pinned fingerprint, and the dial policy", () => {
  const t = resolveTarget({ host: "node", proxy: { host: "bastion", port: 2200 } }, 60_000, {
    target: "SHA256:t",
    proxy: "SHA256:p",
  });
  expect(t).toMatchObject({
    host: "node",
    port: 22,
    pinnedFingerprint: "SHA256:t",
    dialAttempts: CONNECTION_DEFAULTS.dialAttempts,
    dialRetryDelayMs: CONNECTION_DEFAULTS.dialRetryDelayMs,
    commandTimeoutMs: 60_000,
  });
  expect(t.proxy).toMatchObject({ host: "bastion", port: 2200, user: "root", pinnedFingerprint: "SHA256:p" });
  expect(resolveTarget({ host: "node" }, 1000).proxy).toBeUndefined();
});

// Row: [connection input, the port it points at]
const PORTS: [{ port?: unknown }, unknown][] = [
  [{}, 22],
  [{ port: 22 }, 22],
  [{ port: 2222 }, 2222],
];
test.each(PORTS)("endpointPort(%j) is %j (the one place the default port is applied)", (c, port) => {
  expect(endpointPort(c)).toBe(port);
});
