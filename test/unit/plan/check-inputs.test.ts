import { checkReleaseInputs, UNKNOWN_VALUE } from "../../../provider/plan/check-inputs";

const PKG = "./pkgs/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip";
const KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-secret-material\n-----END OPENSSH PRIVATE KEY-----\n";
const base = () =>
  ({ connection: { host: "10.0.0.7", privateKey: KEY }, version: "4.4.16", packagePath: PKG }) as Record<
    string,
    unknown
  >;
const withConn = (c: Record<string, unknown>) => ({ ...base(), connection: { host: "10.0.0.7", ...c } });

// Row: [case, inputs, expected property ("" for none), fragment of the reason]
const ROWS: [string, Record<string, unknown>, string, string][] = [
  ["valid inputs", base(), "", ""],
  ["fails without connection", { version: "4.4.16", packagePath: PKG }, "connection", "is required"],
  [
    "fails for a host with shell metacharacters",
    withConn({ host: "10.0.0.7;reboot" }),
    "connection.host",
    "host name or IP",
  ],
  ["fails for a host with a space", withConn({ host: "a b" }), "connection.host", "host name or IP"],
  [
    "fails for a host starting with a hyphen (an option)",
    withConn({ host: "-oProxyCommand" }),
    "connection.host",
    "host name or IP",
  ],
  ["accepts an IPv6 literal host", withConn({ host: "::1" }), "", ""],
  ["fails for port 0", withConn({ port: 0 }), "connection.port", "from 1 to 65535"],
  ["fails for a fractional port", withConn({ port: 22.5 }), "connection.port", "whole number"],
  ["fails for a user with $(id)", withConn({ user: "$(id)" }), "connection.user", "user name"],
  ["fails for a user starting with a hyphen", withConn({ user: "-oProxyCommand=x" }), "connection.user", "user name"],
  [
    "valid health gate",
    {
      ...base(),
      healthGate: {
        deadlineSeconds: 30,
        command: ["curl", "-fsS", "http://127.0.0.1:18083/status"],
        requireClusterRunning: true,
      },
    },
    "",
    "",
  ],
  [
    "fails for a health gate command given as one shell string",
    { ...base(), healthGate: { command: "curl -f http://x" } },
    "healthGate.command",
    "argv list",
  ],
  [
    "fails for an empty health gate command",
    { ...base(), healthGate: { command: [] } },
    "healthGate.command",
    "argv list",
  ],
  [
    "fails for a health gate command with NUL",
    { ...base(), healthGate: { command: ["sh", "a\u0000b"] } },
    "healthGate.command",
    "without NUL",
  ],
  [
    "fails for a health gate deadline of 0",
    { ...base(), healthGate: { deadlineSeconds: 0 } },
    "healthGate.deadlineSeconds",
    "from 1 to 3600",
  ],
  [
    "fails for a non-boolean requireClusterRunning",
    { ...base(), healthGate: { requireClusterRunning: "yes" } },
    "healthGate.requireClusterRunning",
    "true or false",
  ],
  [
    "fails for a health gate that is not an object",
    { ...base(), healthGate: ["curl"] },
    "healthGate",
    "must be an object",
  ],
  [
    "fails for a key path instead of key text",
    withConn({ privateKey: "~/.ssh/id_ed25519" }),
    "connection",
    "not a PEM or OpenSSH private key",
  ],
  [
    "fails for a relative agent socket",
    withConn({ agentSocketPath: "agent.sock" }),
    "connection.agentSocketPath",
    "absolute path",
  ],
  [
    "fails for a malformed hostKey",
    withConn({ hostKey: "not-a-key" }),
    "connection.hostKey",
    "OpenSSH public key line",
  ],
  ["accepts a SHA256 fingerprint hostKey", withConn({ hostKey: "SHA256:" + "A".repeat(43) }), "", ""],
  [
    "fails for a proxy with its own proxy",
    withConn({ proxy: { host: "b", proxy: { host: "c" } } }),
    "connection.proxy.proxy",
    "one bastion hop",
  ],
  [
    "fails for a proxy host with metacharacters",
    withConn({ proxy: { host: "b`id`" } }),
    "connection.proxy.host",
    "host name or IP",
  ],
  ["fails for version 4.4", { ...base(), version: "4.4" }, "version", "not an EMQX version"],
  ["fails for version v4.4.16", { ...base(), version: "v4.4.16" }, "version", "not an EMQX version"],
  [
    "fails for a 5.x version",
    { ...base(), version: "5.8.0", packagePath: "emqx-5.8.0-otp26.2.5-1-debian12-amd64.zip" },
    "version",
    "rolling upgrade",
  ],
  [
    "fails for a 4.3 version",
    { ...base(), version: "4.3.5", packagePath: "emqx-4.3.5-otp23.3.4.9-3-debian12-amd64.zip" },
    "version",
    "4.4 only",
  ],
  [
    "fails when the package is another version",
    { ...base(), version: "4.4.15" },
    "packagePath",
    "package of EMQX 4.4.16",
  ],
  ["fails when edition disagrees with the package", { ...base(), edition: "ee" }, "edition", "open-source"],
  ["fails for an unknown edition", { ...base(), edition: "pro" }, "edition", '"ce"'],
  [
    "fails for a package not named as EMQX names it",
    { ...base(), packagePath: "./emqx.zip" },
    "packagePath",
    "not named as EMQX",
  ],
  [
    "fails for a package path with a newline",
    { ...base(), packagePath: "a\nemqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip" },
    "packagePath",
    "newline",
  ],
  [
    "fails for a macOS package",
    { ...base(), packagePath: "emqx-4.4.16-otp24.3.4.2-1-macos12-amd64.zip" },
    "packagePath",
    "macOS",
  ],
  ["fails for a short sha256", { ...base(), packageSha256: "abc" }, "packageSha256", "64 hex digits"],
  ["fails for a non-boolean permanent", { ...base(), permanent: "yes" }, "permanent", "true or false"],
  [
    "fails for emqxPath with a space",
    { ...base(), emqxPath: "/usr/bin/emqx; id" },
    "emqxPath",
    "command name or absolute path",
  ],
  ["fails for emqxPath with ..", { ...base(), emqxPath: "/opt/../tmp/emqx" }, "emqxPath", "no spaces, quotes or .."],
  [
    "fails for emqxPath starting with a hyphen (an option)",
    { ...base(), emqxPath: "-s" },
    "emqxPath",
    "command name or absolute path",
  ],
  [
    "fails for a package path over 4096 characters, saying so",
    { ...base(), packagePath: `/${"a".repeat(4096)}/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip` },
    "packagePath",
    "is 4142 characters long; a file path has at most 4096",
  ],
  ["fails for runAs injection", { ...base(), runAs: "emqx -s" }, "runAs", "user name"],
  [
    "fails for an upgrade timeout below EMQX's RPC timeout",
    { ...base(), upgradeTimeoutMs: 60_000 },
    "upgradeTimeoutMs",
    "300 s",
  ],
  ["fails for a zero command timeout", { ...base(), commandTimeoutMs: 0 }, "commandTimeoutMs", "whole number"],
  [
    "skips values unknown during preview",
    { ...base(), version: UNKNOWN_VALUE, connection: { host: UNKNOWN_VALUE } },
    "",
    "",
  ],
];

describe("checkReleaseInputs", () => {
  test.each(ROWS)("%s", (_name, inputs, property, fragment) => {
    const failures = checkReleaseInputs(inputs);
    if (property === "") expect(failures).toEqual([]);
    else expect(failures).toEqual(expect.arrayContaining([{ property, reason: expect.stringContaining(fragment) }]));
  });

  test("fails with reasons that never echo a secret value", () => {
    const secret = "hunter2-super-secret";
    const failures = checkReleaseInputs(withConn({ privateKey: secret, password: 42, privateKeyPassword: {} }));
    expect(failures.length).toBeGreaterThan(0);
    expect(JSON.stringify(failures)).not.toContain(secret);
  });
});

// Row: [case, old version, new inputs overrides, expected property, fragment]
const CHANGE_ROWS: [string, Record<string, unknown>, Record<string, unknown>, string, string][] = [
  [
    "fails for a downgrade without allowDowngrade",
    { version: "4.4.16", packagePath: PKG },
    { version: "4.4.10", packagePath: "emqx-4.4.10-otp24.1.5-3-debian12-amd64.zip" },
    "version",
    "allowDowngrade",
  ],
  [
    "allows a lower version after a trial (permanent: false): it may be the revert",
    { version: "4.4.16", packagePath: PKG, permanent: false },
    { version: "4.4.10", packagePath: "emqx-4.4.10-otp24.1.5-3-debian12-amd64.zip" },
    "",
    "",
  ],
  [
    "allows a downgrade with allowDowngrade",
    { version: "4.4.16", packagePath: PKG },
    { version: "4.4.10", packagePath: "emqx-4.4.10-otp24.1.5-3-debian12-amd64.zip", allowDowngrade: true },
    "",
    "",
  ],
  [
    "fails for CE to EE",
    { version: "4.4.15", packagePath: "emqx-4.4.15-otp24.3.4.2-1-debian12-amd64.zip" },
    { packagePath: "emqx-ee-4.4.16-otp24.3.4.2-1-debian12-amd64.zip" },
    "packagePath",
    "EMQX and EMQX Enterprise",
  ],
  [
    "allows a patch upgrade",
    { version: "4.4.15", packagePath: "emqx-4.4.15-otp24.3.4.2-1-debian12-amd64.zip" },
    {},
    "",
    "",
  ],
];

describe("checkReleaseInputs against the previous declaration", () => {
  test.each(CHANGE_ROWS)("%s", (_name, olds, overrides, property, fragment) => {
    const failures = checkReleaseInputs({ ...base(), ...overrides }, olds);
    if (property === "") expect(failures).toEqual([]);
    else expect(failures).toEqual(expect.arrayContaining([{ property, reason: expect.stringContaining(fragment) }]));
  });
});
