// Hostile and malformed inputs (RELIABILITY.md "input" rows): each row breaks one input of an
// otherwise valid EmqxRelease declaration and names the property and a fragment of the reason.
// Every row runs through check (refused with that property and reason) and then through create
// (InvalidInputError on that property, before any connection), against a real sshd test host on
// 127.0.0.92 whose sshd log and EMQX emulator call log prove that nothing reached it.
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider/pulumi/release-provider";
import { expectNoLeaks, underFault } from "../../support/fault-run";
import { reliabilityEach, ReliabilityRow } from "../../support/reliability";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(60_000);
type Props = Record<string, unknown>;
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
const PKG = "emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip";
const SECRET = "hostile-input-secret-Zq9";
let host: TestHost;
let pkg16: string;
let base: Props;

beforeAll(async () => {
  pkg16 = await shelf.build({ version: "4.4.16" });
  expect(path.basename(pkg16)).toBe(PKG);
  host = await startTestHost({ version: "4.4.0" }, "127.0.0.92");
  base = { connection: host.connection, version: "4.4.16", packagePath: pkg16, emqxPath: host.emqxPath };
  // A valid declaration passes check, so every refusal below is the row's own input.
  expect((await provider.check({}, base)).failures).toEqual([]);
});
afterAll(async () => {
  await host?.stop();
  fs.rmSync(shelf.dir, { recursive: true, force: true });
});

/** Row shape: [case, property, message fragment, the inputs: the valid ones with one changed]. */
interface InputRow extends ReliabilityRow {
  property: string;
  fragment: string;
  change(base: Props): Props;
}

const KB10 = "9".repeat(10_000);
const dir = () => path.dirname(pkg16);
const conn = (over: Props) => (b: Props) => ({ ...b, connection: { ...(b.connection as Props), ...over } });
const set = (key: string, value: unknown) => (b: Props) => ({ ...b, [key]: value });
const version = (v: unknown) => (b: Props) => ({ ...b, version: v });
const file = (name: string) => (b: Props) => ({ ...b, packagePath: `${dir()}/${name}` });

/** [case, property, fragment, change] */
const TABLE: Array<[string, string, string, (b: Props) => Props]> = [
  // version
  [
    'version "4.4" (no patch)',
    "version",
    '"4.4" is not an EMQX version: write it as MAJOR.MINOR.PATCH',
    version("4.4"),
  ],
  ['version "v4.4.16" (v prefix)', "version", '"v4.4.16" is not an EMQX version', version("v4.4.16")],
  ['version "4.4.16 " (trailing space)', "version", '"4.4.16 " is not an EMQX version', version("4.4.16 ")],
  ['version " 4.4.16" (leading space)', "version", '" 4.4.16" is not an EMQX version', version(" 4.4.16")],
  ['version "4.4.16\\n" (trailing newline)', "version", '"4.4.16\\n" is not an EMQX version', version("4.4.16\n")],
  ['version "4.4.16\\r\\n" (CRLF)', "version", '"4.4.16\\r\\n" is not an EMQX version', version("4.4.16\r\n")],
  ['version "4.4.16;reboot"', "version", '"4.4.16;reboot" is not an EMQX version', version("4.4.16;reboot")],
  ['version "4.4.16 && rm -rf /"', "version", "is not an EMQX version", version("4.4.16 && rm -rf /")],
  ['version "$(id)"', "version", '"$(id)" is not an EMQX version', version("$(id)")],
  ['version "`id`"', "version", '"`id`" is not an EMQX version', version("`id`")],
  [
    'version "4.4.16-rc.1;id" (injection in a pre-release)',
    "version",
    "is not an EMQX version",
    version("4.4.16-rc.1;id"),
  ],
  ['version "４.４.１６" (fullwidth digits)', "version", '"４.４.１６" is not an EMQX version', version("４.４.１６")],
  ['version "٤.٤.١٦" (Arabic-Indic digits)', "version", "is not an EMQX version", version("٤.٤.١٦")],
  ['version "4.4.1６" (one fullwidth digit)', "version", "is not an EMQX version", version("4.4.1６")],
  ['version "4.4.16\\u0000" (NUL)', "version", "is not an EMQX version", version("4.4.16\u0000")],
  ['version "4.4.016" (leading zero)', "version", '"4.4.016" is not an EMQX version', version("4.4.016")],
  ["version of 10 kB", "version", "is 10006 characters long; an EMQX version looks like", version(`4.4.16${KB10}`)],
  [
    'version "4.4.0-a6d2367f" (untagged build)',
    "version",
    "is an untagged build (git sha suffix)",
    version("4.4.0-a6d2367f"),
  ],
  ['version "5.0.0"', "version", "EMQX 5.0.0 cannot be reached by a hot upgrade", version("5.0.0")],
  [
    'version "4.3.20" (another minor)',
    "version",
    "EmqxRelease manages EMQX 4.4 only; 4.3.20 is not a 4.4 patch version",
    version("4.3.20"),
  ],
  ["version 4.4 (a number)", "version", 'must be a string such as "4.4.16", got number', version(4.4)],
  ["version missing", "version", 'is required, e.g. "4.4.16"', version(undefined)],
  // packagePath
  [
    "packagePath with a space in the file name",
    "packagePath",
    "is not named as EMQX names its packages",
    file("emqx 4.4.16-otp24.3.4.2-1-debian12-amd64.zip"),
  ],
  [
    "packagePath with a quote in the file name",
    "packagePath",
    "is not named as EMQX names its packages",
    file("emqx-4.4.16'-otp24.3.4.2-1-debian12-amd64.zip"),
  ],
  [
    "packagePath with $(reboot) in the file name",
    "packagePath",
    "is not named as EMQX names its packages",
    file("emqx-4.4.16-$(reboot)-otp24.3.4.2-1-debian12-amd64.zip"),
  ],
  [
    "packagePath with a newline",
    "packagePath",
    "must be a file path without NUL or newline characters",
    file(`x\n${PKG}`),
  ],
  [
    "packagePath with a carriage return",
    "packagePath",
    "must be a file path without NUL or newline characters",
    file(`${PKG}\r`),
  ],
  [
    "packagePath with a NUL byte",
    "packagePath",
    "must be a file path without NUL or newline characters",
    file(`${PKG}\u0000.txt`),
  ],
  ['packagePath ending in ".."', "packagePath", '".." is not named as EMQX names its packages', file(`${PKG}/..`)],
  ["packagePath through .. to a package that is not there", "packagePath", "cannot read", file(`../../nowhere/${PKG}`)],
  [
    "packagePath of 10 kB",
    "packagePath",
    "is 10000 characters long",
    (b) => ({ ...b, packagePath: `/${"a".repeat(10_000 - 1 - PKG.length - 1)}/${PKG}` }),
  ],
  ["packagePath empty", "packagePath", "must be a file path", set("packagePath", "")],
  [
    "packagePath of another version than version",
    "packagePath",
    'is the package of EMQX 4.4.15, but version is "4.4.16"',
    file("emqx-4.4.15-otp24.3.4.2-1-debian12-amd64.zip"),
  ],
  [
    "packagePath of a macOS package",
    "packagePath",
    "EMQX cannot hot-upgrade on macOS or Windows",
    file("emqx-4.4.16-otp24.3.4.2-1-macos12-amd64.zip"),
  ],
  [
    "packagePath of an EMQX Edge package",
    "packagePath",
    "is an EMQX Edge build",
    file("emqx-edge-4.4.16-otp24.3.4.2-1-debian12-amd64.zip"),
  ],
  ['packageSha256 "abc;rm -rf /"', "packageSha256", "must be 64 hex digits", set("packageSha256", "abc;rm -rf /")],
  [
    'edition "ce; id"',
    "edition",
    'must be "ce" (EMQX) or "ee" (EMQX Enterprise), got "ce; id"',
    set("edition", "ce; id"),
  ],
  // connection
  [
    'connection.host "10.0.0.7;reboot"',
    "connection.host",
    "must be a host name or IP address",
    conn({ host: "10.0.0.7;reboot" }),
  ],
  ['connection.host "$(id)"', "connection.host", "must be a host name or IP address", conn({ host: "$(id)" })],
  ['connection.host "a b" (space)', "connection.host", "must be a host name or IP address", conn({ host: "a b" })],
  [
    'connection.host "10.0.0.7\\n" (newline)',
    "connection.host",
    "must be a host name or IP address",
    conn({ host: "10.0.0.7\n" }),
  ],
  [
    'connection.host "-oProxyCommand" (an option)',
    "connection.host",
    "must be a host name or IP address",
    conn({ host: "-oProxyCommand" }),
  ],
  [
    'connection.host "ｅｘａｍｐｌｅ" (fullwidth letters)',
    "connection.host",
    "must be a host name or IP address",
    conn({ host: "ｅｘａｍｐｌｅ" }),
  ],
  [
    "connection.host of 10 kB",
    "connection.host",
    "must be a host name or IP address",
    conn({ host: "a".repeat(10_000) }),
  ],
  ["connection.host empty", "connection.host", "must be a host name or IP address", conn({ host: "" })],
  ['connection.user "root;id"', "connection.user", "must be a user name", conn({ user: "root;id" })],
  [
    'connection.user "-oProxyCommand=sh" (an option)',
    "connection.user",
    "must be a user name",
    conn({ user: "-oProxyCommand=sh" }),
  ],
  ['connection.user "$(id)"', "connection.user", "must be a user name", conn({ user: "$(id)" })],
  ['connection.user "root\\n"', "connection.user", "must be a user name", conn({ user: "root\n" })],
  ["connection.user of 40 characters", "connection.user", "must be a user name", conn({ user: "u".repeat(40) })],
  ["connection.port 0", "connection.port", "must be a whole number of port from 1 to 65535, got 0", conn({ port: 0 })],
  ["connection.port 65536", "connection.port", "got 65536", conn({ port: 65536 })],
  ['connection.port "22; id" (a string)', "connection.port", 'got "22; id"', conn({ port: "22; id" })],
  [
    "connection.hostKey with a shell command appended",
    "connection.hostKey",
    "must be an OpenSSH public key line",
    conn({ hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDB6C4u8j1q1Py9ebfx40JUSfSDPITtJRVv8QjWfrtVK\n$(reboot)" }),
  ],
  [
    'connection.hostKey "SHA256:$(id)"',
    "connection.hostKey",
    "must be an OpenSSH public key line",
    conn({ hostKey: "SHA256:$(id)" }),
  ],
  [
    "connection.knownHosts not text (a number)",
    "connection.knownHosts",
    "must be the text of a known_hosts file",
    conn({ knownHosts: 42 }),
  ],
  [
    "connection.privateKey a file path, not the key",
    "connection",
    "privateKey is not a PEM or OpenSSH private key",
    conn({ privateKey: `/root/.ssh/${SECRET}` }),
  ],
  [
    "connection.password not a string (an object)",
    "connection",
    "password must be a string",
    conn({ password: { value: SECRET } }),
  ],
  [
    'connection.agentSocketPath "$(id)"',
    "connection.agentSocketPath",
    "must be the absolute path of an ssh-agent socket",
    conn({ agentSocketPath: "$(id)" }),
  ],
  [
    'connection.proxy.host "bastion;id"',
    "connection.proxy.host",
    "must be a host name or IP address",
    conn({ proxy: { host: "bastion;id" } }),
  ],
  [
    "connection.proxy with a proxy of its own",
    "connection.proxy.proxy",
    "only one bastion hop is supported",
    conn({ proxy: { host: "bastion", proxy: { host: "b2" } } }),
  ],
  ['connection "10.0.0.7" (a string)', "connection", "must be an object", set("connection", "10.0.0.7")],
  // emqxPath and runAs: argv[0] and sudo -u on the host
  ['emqxPath "emqx; reboot"', "emqxPath", "must be a command name or absolute path", set("emqxPath", "emqx; reboot")],
  [
    'emqxPath "/opt/emqx/bin/emqx $(id)"',
    "emqxPath",
    "must be a command name or absolute path",
    set("emqxPath", "/opt/emqx/bin/emqx $(id)"),
  ],
  ['emqxPath "`id`"', "emqxPath", "must be a command name or absolute path", set("emqxPath", "`id`")],
  ['emqxPath "emqx\\nreboot"', "emqxPath", "must be a command name or absolute path", set("emqxPath", "emqx\nreboot")],
  ['emqxPath "../../bin/sh"', "emqxPath", "no spaces, quotes or ..", set("emqxPath", "../../bin/sh")],
  [
    'emqxPath "/opt/emqx/../../bin/sh"',
    "emqxPath",
    "no spaces, quotes or ..",
    set("emqxPath", "/opt/emqx/../../bin/sh"),
  ],
  ['emqxPath "-s" (an option)', "emqxPath", "must be a command name or absolute path", set("emqxPath", "-s")],
  [
    "emqxPath of 10 kB",
    "emqxPath",
    "must be a command name or absolute path",
    set("emqxPath", `/${"a".repeat(9_999)}`),
  ],
  ['runAs "emqx;id"', "runAs", "must be a user name", set("runAs", "emqx;id")],
  ['runAs "-s" (a sudo option)', "runAs", "must be a user name", set("runAs", "-s")],
  ['runAs "$(id)"', "runAs", "must be a user name", set("runAs", "$(id)")],
  ['runAs "emqx\\n"', "runAs", "must be a user name", set("runAs", "emqx\n")],
  // other inputs
  ['permanent "yes"', "permanent", 'must be true or false, got "yes"', set("permanent", "yes")],
  [
    "commandTimeoutMs -1",
    "commandTimeoutMs",
    "must be a whole number of milliseconds from 1000 to 3600000, got -1",
    set("commandTimeoutMs", -1),
  ],
  ['commandTimeoutMs "60000" (a string)', "commandTimeoutMs", 'got "60000"', set("commandTimeoutMs", "60000")],
  [
    "upgradeTimeoutMs 1000 (below EMQX's 300 s)",
    "upgradeTimeoutMs",
    "above EMQX's own 300 s RPC timeout",
    set("upgradeTimeoutMs", 1000),
  ],
  [
    "healthGate.command with a NUL byte",
    "healthGate.command",
    "must be an argv list",
    set("healthGate", { command: ["curl", "a\u0000b"] }),
  ],
  [
    "healthGate.command a shell string, not a list",
    "healthGate.command",
    "must be an argv list",
    set("healthGate", { command: "curl -fsS x; reboot" }),
  ],
];

const rows: InputRow[] = TABLE.map(([c, property, fragment, change]) => ({
  area: "input",
  case: c,
  expected: `check refuses ${property} ("${fragment}"); create fails with InvalidInputError on ${property}; no connection, no command`,
  property,
  fragment,
  change,
}));

reliabilityEach(rows, async (row, probe) => {
  const news = row.change(base);
  const before = { connections: host.sshd.connectionCount(), commands: host.calls().length };

  const { failures } = await provider.check({}, news);
  expect(failures).toContainEqual({ property: row.property, reason: expect.stringContaining(row.fragment) });
  // Nothing else is refused, except that a changed version no longer matches the package's name.
  const consequence = (f: { property: string; reason: string }) =>
    row.property === "version" &&
    f.property === "packagePath" &&
    /is the package of EMQX 4\.4\.16, but version is/.test(f.reason);
  expect(failures.filter((f) => f.property !== row.property && !consequence(f))).toEqual([]);

  const r = await underFault(() => provider.create(news));
  if (r.error?.name !== "InvalidInputError")
    throw new Error(
      `create: expected InvalidInputError, got ${r.error ? `${r.error.name}: ${r.error.message}` : "success"}`,
    );
  expect([JSON.parse(r.error.fields).property, r.error.message]).toEqual([
    row.property,
    expect.stringContaining(row.fragment),
  ]);

  // The credentials this row's inputs carry (its private key, or what it put in a credential field)
  // must show in none of check's reasons, create's error (message, fields, stack) or logs.
  expectNoLeaks(probe, r, news, [{ source: "check failures", text: JSON.stringify(failures) }]);
  expect({ connections: host.sshd.connectionCount(), commands: host.calls().length }).toEqual(before);
});
