// EmqxRelease through the real pulumi CLI: two emulated EMQX 4.4.0 nodes behind real sshd, one
// stack, the tests in order. Adopt at 4.4.0, the preview as upgrade plan (hosts untouched), refusals
// in preview, up with --no-permanent, a restart that loses it, make permanent, a manual downgrade,
// destroy with the provider code stored in state, and a scan for secrets over everything left.
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT, ensureEngine } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import {
  compiledPath,
  newStackDir,
  runStack,
  type OpName,
  type OpSpec,
  type RunStackResult,
  type StackDirs,
} from "../../sandbox/run-stack";
import { filesUnder, keySlices, scanForSecrets, withJsonEscaped, type Needle } from "../support/secret-scan";
import { packageShelf, shareClientKey, startTestHost, type TestHost } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 5 * 60 * 1000;
const KEY_PASSPHRASE = `kp-${randomBytes(9).toString("hex")}`;
const PASSWORD = `pw-${randomBytes(9).toString("hex")}`;

let hosts: TestHost[] = [];
let dirs: StackDirs;
let packages: Record<"v440" | "v4416" | "v4316" | "ee4416", string>;
let encryptedKey: string;
let programModule: string;
/** A copy of dist/provider the program takes EmqxRelease from; changed before destroy. */
let providerCopy: string;
const transcript: Array<{ source: string; text: string }> = [];

function emqx(h: TestHost, ...args: string[]): string {
  return execFileSync(h.emqxPath, args, { encoding: "utf8" });
}

/** The emulator's call log of a host as `argv` strings, e.g. "upgrade --no-permanent 4.4.16". */
function calls(h: TestHost): string[] {
  return h.calls().map((c) => c.argv.join(" "));
}

function releaseCalls(h: TestHost): string[] {
  return calls(h).filter((c) => /^(upgrade|downgrade|install|uninstall|unpack)\b/.test(c));
}

/** Everything a host shows to the outside: install tree, emulator calls, sshd connections. */
function untouched(): string[] {
  return hosts.map((h) => `${h.fingerprint()} ssh=${h.sshd.connectionCount()}`);
}

async function run(
  ops: Array<OpName | OpSpec>,
  declared: { version: string; packagePath: string; permanent?: boolean; hosts?: TestHost[] },
  label: string,
): Promise<RunStackResult> {
  const config: Record<string, { value: string; secret?: boolean }> = {
    hosts: {
      value: JSON.stringify(
        (declared.hosts ?? hosts).map((h, i) => ({
          name: `node-${i + 1}`,
          host: h.connection.host,
          port: h.connection.port,
          hostKey: h.connection.hostKey,
          emqxPath: h.emqxPath,
        })),
      ),
    },
    privateKey: { value: encryptedKey, secret: true },
    privateKeyPassword: { value: KEY_PASSPHRASE, secret: true },
    password: { value: PASSWORD, secret: true },
    version: { value: declared.version },
    packagePath: { value: declared.packagePath },
    providerModule: { value: path.join(providerCopy, "index.js") },
  };
  if (declared.permanent !== undefined) config.permanent = { value: String(declared.permanent) };
  const res = await runStack(
    { projectName: "emqx-release-e2e", stackName: "lifecycle", programModule, config, ops },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
  transcript.push({ source: `${label} stdout`, text: res.stdout }, { source: `${label} stderr`, text: res.stderr });
  return res;
}

const V440 = () => ({ version: "4.4.0", packagePath: packages.v440 });
const V4416 = (permanent?: boolean) => ({ version: "4.4.16", packagePath: packages.v4416, permanent });

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("test/e2e/fixtures/release-program.ts");
  compiledPath("provider/index.ts");
  dirs = newStackDir("release");
  providerCopy = path.join(REPO_ROOT, ".e2e-work", `provider-${process.pid}`);
  fs.rmSync(providerCopy, { recursive: true, force: true });
  fs.cpSync(path.join(REPO_ROOT, "dist", "provider"), providerCopy, { recursive: true });
  hosts = [
    await startTestHost({ version: "4.4.0" }, "127.0.0.21"),
    await startTestHost({ version: "4.4.0" }, "127.0.0.22"),
  ];
  // One client key for both nodes, passphrase-protected, as a fleet's deploy key would be.
  shareClientKey(hosts);
  const keyFile = path.join(dirs.root, "deploy_key");
  fs.copyFileSync(hosts[0].sshd.clientPrivateKeyPath, keyFile);
  fs.chmodSync(keyFile, 0o600);
  execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", KEY_PASSPHRASE, "-f", keyFile], { stdio: "pipe" });
  encryptedKey = fs.readFileSync(keyFile, "utf8");
  fs.rmSync(keyFile);
  const shelf = packageShelf();
  packages = {
    v440: await shelf.build({ version: "4.4.0" }),
    v4416: await shelf.build({ version: "4.4.16" }),
    v4316: await shelf.build({ version: "4.3.16", relupFrom: [] }),
    ee4416: await shelf.build({ version: "4.4.16", edition: "ee" }),
  };
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  dirs?.cleanup();
  if (providerCopy) fs.rmSync(providerCopy, { recursive: true, force: true });
});

test("up at the version the nodes run adopts them and runs nothing that changes them", async () => {
  const res = await run(["up"], V440(), "adopt");
  expect(res.results[0]).toMatchObject({ op: "up", ok: true, summary: { create: 3 } });
  expect(res.results[0].outputs?.nodes.value).toEqual({
    "node-1": { current: "4.4.0", permanent: "4.4.0", lastAction: "adopt" },
    "node-2": { current: "4.4.0", permanent: "4.4.0", lastAction: "adopt" },
  });
  for (const h of hosts) expect(releaseCalls(h)).toEqual([]);
});

test("preview --diff shows version 4.4.0 => 4.4.16 for each node and contacts no host", async () => {
  const before = untouched();
  const res = await run(
    [{ op: "preview-diff", planFile: path.join(dirs.root, "upgrade.plan.json") }],
    V4416(),
    "preview",
  );
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 2, same: 1 } });
  expect(res.stdout.match(/~ version\s*: "4\.4\.0" => "4\.4\.16"/g)).toHaveLength(2);
  expect(res.stdout).toMatch(/privateKey\s*: \[secret\]/);
  expect(fs.existsSync(path.join(dirs.root, "upgrade.plan.json"))).toBe(true);
  expect(untouched()).toEqual(before);
});

test("fails the preview of a cross-minor target with the provider's reason, hosts untouched", async () => {
  const before = untouched();
  const res = await run(["preview"], { version: "4.3.16", packagePath: packages.v4316 }, "cross-minor");
  expect(res.results[0]).toMatchObject({ ok: false, exitCode: 1 });
  expect(res.results[0].error).toContain("EmqxRelease manages EMQX 4.4 only; 4.3.16 is not a 4.4 patch version");
  expect(untouched()).toEqual(before);
});

test("fails the preview of a CE -> EE change with the provider's reason, hosts untouched", async () => {
  const before = untouched();
  const res = await run(["preview"], { version: "4.4.16", packagePath: packages.ee4416 }, "ce-ee");
  expect(res.results[0]).toMatchObject({ ok: false, exitCode: 1 });
  expect(res.results[0].error).toContain(
    "changes the edition from CE to EE: hot upgrade between EMQX and EMQX Enterprise is not allowed",
  );
  expect(untouched()).toEqual(before);
});

test("up with permanent: false runs one `emqx upgrade --no-permanent` per node", async () => {
  const res = await run(["up"], V4416(false), "up-no-permanent");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 2, same: 1 } });
  for (const h of hosts) {
    expect(releaseCalls(h)).toEqual(["upgrade --no-permanent 4.4.16"]);
    expect(emulatorVersions(h.root)).toEqual([
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ]);
  }
  expect(res.results[0].outputs?.nodes.value).toMatchObject({
    "node-1": { current: "4.4.16", permanent: "4.4.0", lastAction: "upgrade" },
  });
});

test("a second up reports no changes and contacts no host", async () => {
  const before = untouched();
  const res = await run([{ op: "up", expectNoChanges: true }], V4416(false), "no-change-up");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { same: 3 } });
  expect(untouched()).toEqual(before);
});

test("a restart that loses the --no-permanent release shows in refresh, and the next up upgrades that node again", async () => {
  const [one, two] = hosts;
  emqx(two, "stop");
  emqx(two, "start");
  expect(emqx(two, "versions")).toMatch(/4\.4\.0\tpermanent/);
  const oneBefore = calls(one);

  const refreshed = await run(["refresh", "preview"], V4416(false), "refresh-restart");
  expect(refreshed.results[0]).toMatchObject({ op: "refresh", ok: true, summary: { update: 1, same: 2 } });
  expect(refreshed.results[1]).toMatchObject({ op: "preview", ok: true, summary: { update: 1, same: 2 } });

  const res = await run(["up"], V4416(false), "up-after-restart");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 1, same: 2 } });
  expect(releaseCalls(two)).toEqual(["upgrade --no-permanent 4.4.16", "upgrade --no-permanent 4.4.16"]);
  expect(emulatorVersions(two.root)).toContainEqual({ version: "4.4.16", status: "current" });
  // The node that kept its release was only read (refresh), never changed.
  expect(releaseCalls(one)).toEqual(["upgrade --no-permanent 4.4.16"]);
  expect(
    calls(one)
      .slice(oneBefore.length)
      .every((c) => !/^(upgrade|install|downgrade|uninstall)/.test(c)),
  ).toBe(true);
});

test("permanent: true makes the running release permanent with `emqx install`, no second upgrade", async () => {
  const res = await run(["up"], V4416(true), "make-permanent");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 2, same: 1 } });
  for (const h of hosts) {
    expect(releaseCalls(h).filter((c) => c.startsWith("install"))).toEqual(["install 4.4.16"]);
    expect(emulatorVersions(h.root)).toEqual(expect.arrayContaining([{ version: "4.4.16", status: "permanent" }]));
  }
  expect(res.results[0].outputs?.nodes.value).toMatchObject({
    "node-1": { current: "4.4.16", permanent: "4.4.16", lastAction: "make-permanent" },
  });
});

test("a manual downgrade shows in refresh, and the next up restores the declared target", async () => {
  const [one] = hosts;
  emqx(one, "downgrade", "4.4.0");
  expect(emqx(one, "versions")).toMatch(/4\.4\.0\tpermanent/);
  const refreshed = await run(["refresh"], V4416(true), "refresh-downgrade");
  expect(refreshed.results[0]).toMatchObject({ ok: true, summary: { update: 1, same: 2 } });
  const before = releaseCalls(one).length;
  const res = await run(["up"], V4416(true), "up-after-downgrade");
  expect(res.results[0]).toMatchObject({ ok: true, summary: { update: 1, same: 2 } });
  expect(releaseCalls(one).slice(before)).toEqual(["upgrade 4.4.16"]);
  expect(emulatorVersions(one.root)).toContainEqual({ version: "4.4.16", status: "permanent" });
});

test("destroy follows the delete rules with the provider code stored in state, after that code changed", async () => {
  const [one, two] = hosts;
  // node-2 is taken back to 4.4.0 by hand, so its declared 4.4.16 is an old release destroy may uninstall.
  emqx(two, "downgrade", "4.4.0");
  // The program's copy of the provider now refuses every delete: if the engine ran it, destroy would fail.
  fs.appendFileSync(
    path.join(providerCopy, "pulumi", "release-provider.js"),
    '\nEmqxReleaseProvider.prototype.delete = async function () { throw new Error("the changed provider code ran delete"); };\n',
  );
  const oneBefore = releaseCalls(one);
  const res = await run(["destroy"], V4416(true), "destroy");
  expect(res.results[0]).toMatchObject({ op: "destroy", ok: true, summary: { delete: 3 } });
  expect(res.stdout).not.toContain("the changed provider code ran delete");
  expect(res.stdout).toContain(
    "4.4.16 is the permanent release: EMQX cannot uninstall the running release, so the broker is left as it is",
  );
  expect(releaseCalls(one)).toEqual(oneBefore);
  expect(emulatorVersions(one.root)).toContainEqual({ version: "4.4.16", status: "permanent" });
  expect(releaseCalls(two).slice(-1)).toEqual(["uninstall 4.4.16"]);
  expect(emulatorVersions(two.root).map((r) => r.version)).toEqual(["4.4.0"]);
});

describe("no secret in clear", () => {
  let needles: Needle[];
  let sources: () => Array<{ source: string; text: string }>;

  beforeAll(async () => {
    const exported = await runStack(
      { projectName: "emqx-release-e2e", stackName: "lifecycle", programModule, ops: ["export"] },
      { dirs, timeoutMs: TIMEOUT_MS },
    );
    expect(exported.results[0].ok).toBe(true);
    transcript.push({ source: "stack export", text: exported.stdout + exported.stderr });
    needles = [
      ...withJsonEscaped("password", PASSWORD),
      ...withJsonEscaped("key passphrase", KEY_PASSPHRASE),
      ...withJsonEscaped("stack passphrase", dirs.passphrase),
      ...keySlices(encryptedKey).flatMap((s, i) => withJsonEscaped(`private key slice ${i + 1}`, s)),
    ];
    sources = () => [...transcript, ...filesUnder(dirs.root)];
  });

  test("the scan finds a value planted in PULUMI_HOME and in the output, raw and JSON-escaped", () => {
    const planted = keySlices(encryptedKey)[0];
    expect(planted).toContain("\n");
    fs.writeFileSync(path.join(dirs.pulumiHome, "planted.json"), JSON.stringify({ planted }));
    const found = scanForSecrets([...sources(), { source: "planted output", text: `...${PASSWORD}...` }], needles);
    fs.rmSync(path.join(dirs.pulumiHome, "planted.json"));
    expect(found).toEqual(
      expect.arrayContaining([
        { label: "private key slice 1 (JSON-escaped)", source: path.join(dirs.pulumiHome, "planted.json") },
        { label: "password", source: "planted output" },
      ]),
    );
  });

  test("no password, passphrase or key slice in the export, the engine output, the saved plan, the backend or PULUMI_HOME", () => {
    const all = sources();
    expect(all.filter((s) => s.source.endsWith("upgrade.plan.json"))).toHaveLength(1);
    expect(all.some((s) => s.source.includes(`${path.sep}backend${path.sep}`) && s.text.includes("ciphertext"))).toBe(
      true,
    );
    expect(transcript.length).toBeGreaterThanOrEqual(20);
    expect(needles.length).toBeGreaterThanOrEqual(12);
    expect(scanForSecrets(all, needles)).toEqual([]);
  });
});
