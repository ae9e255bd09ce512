// Host identity rows of RELIABILITY.md: EmqxReleaseProvider.create/update against real OpenSSH
// sshd test hosts (127.0.0.91) in front of the EMQX emulator. A refused host key must stop the
// operation before authentication: no login in sshd's log, no emqx command in the emulator's.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider/pulumi/release-provider";
import { expectNoLeaks, underFault } from "../../support/fault-run";
import { reliabilityEach, reliabilityTest, RowProbe } from "../../support/reliability";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

const ADDRESS = "127.0.0.91";
// Another host's ed25519 key and its fingerprint (ssh-keygen -lf).
const OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDB6C4u8j1q1Py9ebfx40JUSfSDPITtJRVv8QjWfrtVK";
const OTHER_FP = "SHA256:TTrXNnKWjAObiL4gJ7sbKP0KKLxE8rOPNMwWm1/2Rlo";

jest.setTimeout(120_000);
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let host: TestHost;
let pkg: string;
let logged: string[];

beforeAll(async () => {
  pkg = await shelf.build({ version: "4.4.16" });
  host = await startTestHost({ version: "4.4.16" }, ADDRESS);
});
afterAll(async () => {
  await host?.stop();
  fs.rmSync(shelf.dir, { recursive: true, force: true });
});
beforeEach(() => {
  logged = [];
  jest.spyOn(console, "log").mockImplementation((line: string) => void logged.push(String(line)));
});
afterEach(() => jest.restoreAllMocks());

type Props = Record<string, unknown>;

/** Inputs for `h` with `connection` fields replaced (`undefined` removes one), checked as the engine would. */
async function checkedInputs(h: TestHost, connection: Props): Promise<Props> {
  const c: Props = { ...h.connection, ...connection };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  const r = await provider.check({}, { connection: c, version: "4.4.16", packagePath: pkg, emqxPath: h.emqxPath });
  expect(r.failures).toEqual([]);
  return r.inputs;
}

/** Logins sshd accepted and emqx commands the emulator ran so far: both stay put when a host key is refused. */
function activity(h: TestHost): { logins: number; commands: number } {
  return {
    logins: h.sshd
      .readLog()
      .split("\n")
      .filter((l) => /Accepted publickey/.test(l)).length,
    commands: h.calls().length,
  };
}

/** The error an operation fails with; searches it (message, fields, stack) and what was logged for
 * the credentials the row's `inputs` carry. */
async function failure(
  op: () => Promise<unknown>,
  inputs: Props,
  probe: RowProbe,
): Promise<{ stage: string; message: string }> {
  const r = await underFault(op);
  if (r.error?.name !== "SshConnectError")
    throw new Error(`expected SshConnectError, got ${r.error ? `${r.error.name}: ${r.error.message}` : "success"}`);
  expectNoLeaks(probe, r, inputs);
  return { stage: JSON.parse(r.error.fields).stage, message: r.error.message };
}

/** known_hosts text for `h` with another host's entry before it; hashed with ssh-keygen -H. */
function knownHosts(h: TestHost, hashed: boolean, keyLine = h.sshd.hostKeyLine): string {
  const file = path.join(h.sshd.dir, `known_hosts_${hashed ? "hashed" : "plain"}`);
  fs.writeFileSync(file, `# test\nother.example ${OTHER_KEY}\n[${h.sshd.host}]:${h.sshd.port} ${keyLine}\n`);
  if (hashed) execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "pipe" });
  return fs.readFileSync(file, "utf8");
}

describe("refused host keys", () => {
  reliabilityEach(
    [
      {
        area: "host-identity" as const,
        case: "hostKey pinned as another key's OpenSSH line",
        expected:
          "create fails: SshConnectError stage host-key naming the presented and the expected fingerprint; no login, no command ran",
        connection: () => ({ hostKey: OTHER_KEY }),
        fragment: () => `does not match hostKey; expected ${OTHER_FP}`,
      },
      {
        area: "host-identity" as const,
        case: "hostKey pinned as another key's SHA256 fingerprint",
        expected: "create fails: SshConnectError stage host-key naming both fingerprints; no login, no command ran",
        connection: () => ({ hostKey: OTHER_FP }),
        fragment: () => `does not match hostKey; expected ${OTHER_FP}`,
      },
      {
        area: "host-identity" as const,
        case: "knownHosts without an entry for the host",
        expected: 'create fails: SshConnectError stage host-key "is not in knownHosts"; no login, no command ran',
        connection: () => ({ hostKey: undefined, knownHosts: `other.example ${OTHER_KEY}\n` }),
        fragment: () => `is not in knownHosts (no entry for [${ADDRESS}]:${host.sshd.port})`,
      },
      {
        area: "host-identity" as const,
        case: "knownHosts listing another key for the host",
        expected: "create fails: SshConnectError stage host-key naming both fingerprints; no login, no command ran",
        connection: () => ({ hostKey: undefined, knownHosts: knownHosts(host, false, OTHER_KEY) }),
        fragment: () =>
          `does not match the 1 knownHosts entry for [${ADDRESS}]:${host.sshd.port} (lines 3); expected ${OTHER_FP}`,
      },
      {
        area: "host-identity" as const,
        case: "knownHosts marking the host's own key @revoked",
        expected: 'create fails: SshConnectError stage host-key "marked @revoked"; no login, no command ran',
        connection: () => ({
          hostKey: undefined,
          knownHosts: `${knownHosts(host, false)}@revoked * ${host.sshd.hostKeyLine}\n`,
        }),
        fragment: () => "is marked @revoked in knownHosts (line 4)",
      },
    ],
    async (row, probe) => {
      const inputs = await checkedInputs(host, row.connection());
      const before = activity(host);
      const err = await failure(() => provider.create(inputs), inputs, probe);
      expect(err.stage).toBe("host-key");
      expect(err.message).toContain(
        `the host presented ssh-ed25519 key ${host.sshd.hostKeyFingerprint}, which ${row.fragment()}`,
      );
      expect(activity(host)).toEqual(before);
    },
  );
});

describe("accepted host keys", () => {
  reliabilityEach(
    [
      {
        area: "host-identity" as const,
        case: "knownHosts text with a plain entry for the host",
        expected: "create connects and adopts the node; hostKeyFingerprint is the host's",
        connection: () => ({ hostKey: undefined, knownHosts: knownHosts(host, false) }),
      },
      {
        area: "host-identity" as const,
        case: "knownHosts text with hashed entries (ssh-keygen -H)",
        expected: "create connects and adopts the node; hostKeyFingerprint is the host's",
        connection: () => ({ hostKey: undefined, knownHosts: knownHosts(host, true) }),
      },
      {
        area: "host-identity" as const,
        case: "hostKey pinned as the host's own SHA256 fingerprint",
        expected: "create connects and adopts the node; no trust-on-first-use warning",
        connection: () => ({ hostKey: host.sshd.hostKeyFingerprint }),
      },
    ],
    async (row, probe) => {
      const c = row.connection() as Props;
      if (c.knownHosts)
        expect(c.knownHosts).toMatch(c.knownHosts && row.case.includes("hashed") ? /^\|1\|/m : /^\[127\.0\.0\.91\]:/m);
      const before = activity(host);
      const inputs = await checkedInputs(host, c);
      const r = await underFault(() => provider.create(inputs));
      expect(r.error).toBeUndefined();
      expectNoLeaks(probe, r, inputs);
      const { outs } = r.value as { outs: Props };
      // The same measure the refusals assert unchanged does move when a connection is accepted.
      expect(activity(host).logins).toBe(before.logins + 1);
      expect(activity(host).commands).toBeGreaterThan(before.commands);
      expect(outs).toMatchObject({
        lastAction: "adopt",
        currentVersion: "4.4.16",
        hostKeyFingerprint: host.sshd.hostKeyFingerprint,
      });
      expect(r.logs.filter((l) => /trusting the host key/.test(l))).toEqual([]);
    },
  );
});

describe("trust on first use", () => {
  reliabilityTest(
    {
      area: "host-identity",
      case: "no hostKey or knownHosts: first contact, then the host's key changes",
      expected:
        "first create records the fingerprint with a warning; the next update is refused, SshConnectError stage host-key naming the pinned and the new fingerprint; no login, no command ran after the change",
    },
    async (probe) => {
      const h = await startTestHost({ version: "4.4.16" }, ADDRESS);
      try {
        const inputs = await checkedInputs(h, { hostKey: undefined });
        const first = await provider.create(inputs);
        const pinned = h.sshd.hostKeyFingerprint;
        expect(first.outs.hostKeyFingerprint).toBe(pinned);
        expect(logged.filter((l) => l.includes(`trusting the host key seen now (${pinned})`))).toHaveLength(1);

        const changed = await rotateHostKey(h);
        expect(changed).not.toBe(pinned);
        const before = activity(h);
        const err = await failure(() => provider.update(first.id, first.outs, inputs), inputs, probe);
        expect(err.stage).toBe("host-key");
        expect(err.message).toContain(
          `the host presented ssh-ed25519 key ${changed}, which does not match the fingerprint pinned on first contact; expected ${pinned}`,
        );
        expect(activity(h)).toEqual(before);
      } finally {
        await h.stop();
      }
    },
  );
});

/** Gives the host's sshd a new ed25519 host key (as a reinstalled machine would have) and waits
 * until it serves it; returns the new fingerprint. sshd re-executes itself on SIGHUP and reloads its keys. */
async function rotateHostKey(h: TestHost): Promise<string> {
  const key = path.join(h.sshd.dir, "ssh_host_ed25519_key");
  fs.rmSync(key);
  fs.rmSync(`${key}.pub`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { stdio: "pipe" });
  const fingerprint = execFileSync("ssh-keygen", ["-lf", `${key}.pub`])
    .toString()
    .split(" ")[1];
  process.kill(Number(fs.readFileSync(path.join(h.sshd.dir, "sshd.pid"), "utf8").trim()), "SIGHUP");
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    let served = "";
    try {
      served = execFileSync("ssh-keyscan", ["-T", "2", "-t", "ed25519", "-p", String(h.sshd.port), h.sshd.host], {
        stdio: ["ignore", "pipe", "ignore"],
      }).toString();
    } catch {
      continue; // sshd is restarting
    }
    const line = served.split("\n").find((l) => l.includes("ssh-ed25519"));
    if (line && execFileSync("ssh-keygen", ["-lf", "-"], { input: line }).toString().split(" ")[1] === fingerprint)
      return fingerprint;
  }
  throw new Error(
    `sshd on ${h.sshd.host}:${h.sshd.port} did not serve its new host key ${fingerprint} within 20 s of SIGHUP`,
  );
}
