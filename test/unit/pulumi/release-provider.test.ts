// EmqxReleaseProvider's methods that never touch a host: check (inputs and the local package), diff
// (plan-time refusals from state) and the input errors of create/update. The methods that reach a
// node are tested against real sshd hosts in test/integration/release-provider.test.ts.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { InvalidInputError, SshConnectError, UnsupportedUpgradeError } from "../../../provider/errors";
import { UNKNOWN_VALUE } from "../../../provider/plan/check-inputs";
import { EmqxReleaseProvider } from "../../../provider/pulumi/release-provider";
import { buildPackageZip } from "../../../sandbox/package-zip";

type Props = Record<string, unknown>;
const provider = new EmqxReleaseProvider();
const FACTS = {
  osId: "debian12",
  arch: "amd64",
  otpMajor: 24,
  edition: "ce",
  binScriptsVersion: "4.4.0",
  relupDownTo: [],
};
let dir: string;
let pkg16: string;
let inputs: Props;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-provider-"));
  pkg16 = await buildPackageZip(dir, { version: "4.4.16" });
  inputs = {
    connection: { host: "10.0.0.7", port: 22, user: "root", password: "pw" },
    version: "4.4.16",
    packagePath: pkg16,
  };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** State after a create that left the node on `version`. */
function stateAt(version: string, over: Props = {}): Props {
  return {
    ...inputs,
    version,
    packageSha256: "aa".repeat(32),
    currentVersion: version,
    permanentVersion: version,
    installedVersions: [{ version, status: "permanent" }],
    hostFacts: FACTS,
    ...over,
  };
}

describe("check", () => {
  test("records the package it read in __package and drops the program's digest from the inputs", async () => {
    const r = await provider.check({}, { ...inputs, __packageDigest: undefined });
    expect(r.failures).toEqual([]);
    expect(r.inputs).not.toHaveProperty("__packageDigest");
    expect(r.inputs.__package).toEqual({
      fileName: path.basename(pkg16),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      sizeBytes: fs.statSync(pkg16).size,
      uncompressedBytes: expect.any(Number),
      relupUpFrom: Array.from({ length: 16 }, (_, i) => `4.4.${15 - i}`),
      relupDownTo: Array.from({ length: 16 }, (_, i) => `4.4.${15 - i}`),
    });
  });

  test("trusts the digest the program computed instead of hashing the package again", async () => {
    const digest = "11".repeat(32);
    const r = await provider.check({}, { ...inputs, __packageDigest: digest, packageSha256: digest.toUpperCase() });
    expect(r.failures).toEqual([]);
    expect((r.inputs.__package as Props).sha256).toBe(digest);
  });

  test("fails with the property for a malformed input, and does not read the package then", async () => {
    const r = await provider.check({}, { ...inputs, version: "4.4", connection: { host: "bad host" } });
    expect(r.failures.map((f) => f.property).sort()).toEqual(["connection.host", "packagePath", "version"]);
    expect(r.inputs).not.toHaveProperty("__package");
  });

  test("fails for a package that is not there, naming the path", async () => {
    const missing = path.join(dir, "gone", path.basename(pkg16));
    const r = await provider.check({}, { ...inputs, packagePath: missing });
    expect(r.failures).toEqual([
      { property: "packagePath", reason: expect.stringContaining(`cannot read ${missing} (ENOENT)`) },
    ]);
  });

  test("fails for a downgrade against the previous declaration unless allowDowngrade is set", async () => {
    const pkg15 = await buildPackageZip(fs.mkdtempSync(path.join(dir, "p-")), { version: "4.4.15" });
    const down = { ...inputs, version: "4.4.15", packagePath: pkg15 };
    expect((await provider.check(inputs, down)).failures).toEqual([
      expect.objectContaining({ property: "version", reason: expect.stringContaining("set allowDowngrade: true") }),
    ]);
    expect((await provider.check(inputs, { ...down, allowDowngrade: true })).failures).toEqual([]);
  });

  test("skips values unknown in preview without reading anything", async () => {
    const r = await provider.check({}, { ...inputs, packagePath: UNKNOWN_VALUE });
    expect(r.failures).toEqual([]);
    expect(r.inputs).not.toHaveProperty("__package");
  });
});

describe("diff", () => {
  const checked = async (news: Props = inputs) => (await provider.check({}, news)).inputs;

  test("reports an update for a new version and nothing for the same declaration", async () => {
    const news = await checked();
    expect(await provider.diff("id", stateAt("4.4.0"), news)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
    const same = stateAt("4.4.16", { packageSha256: (news.__package as Props).sha256 });
    expect(await provider.diff("id", same, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
  });

  test("replaces the resource when the connection points at another node", async () => {
    const news = await checked({ ...inputs, connection: { host: "10.0.0.8", password: "pw" } });
    expect((await provider.diff("id", stateAt("4.4.16"), news)).replaces).toEqual(["connection"]);
  });

  test("fails at plan time when the recorded host facts rule the new package out", async () => {
    const err = await provider
      .diff("id", stateAt("4.4.0", { hostFacts: { ...FACTS, osId: "el8" } }), await checked())
      .catch((e) => e);
    expect(UnsupportedUpgradeError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ from: "4.4.0", to: "4.4.16", property: "packagePath" });
    expect(err.message).toMatch(/^10\.0\.0\.7 is el8 but emqx-4\.4\.16-.* is built for debian12/);
  });

  test("a refusal about a package named by packageUrl points at packageUrl", async () => {
    const news = await checked();
    const byUrl = {
      ...news,
      packagePath: undefined,
      packageUrl: `https://packages.internal/${(news.__package as Props).fileName}`,
    };
    const err = await provider
      .diff("id", stateAt("4.4.0", { hostFacts: { ...FACTS, osId: "el8" } }), byUrl)
      .catch((e) => e);
    expect(UnsupportedUpgradeError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ from: "4.4.0", to: "4.4.16", property: "packageUrl" });
  });

  test("never fails for an unchanged declaration (refresh calls diff with the old one)", async () => {
    const news = await checked();
    const drifted = stateAt("4.4.16", {
      packageSha256: (news.__package as Props).sha256,
      currentVersion: "4.4.0",
      hostFacts: { ...FACTS, arch: "arm64" },
    });
    expect(await provider.diff("id", drifted, news)).toMatchObject({ changes: true, replaces: [] });
  });

  test('does not judge a node whose failure was recorded before it was ever read (currentVersion "")', async () => {
    const recorded = stateAt("", {
      hostFacts: {},
      version: "4.4.15",
      lastResult: { action: "none", error: "lock held" },
    });
    await expect(provider.diff("id", recorded, await checked())).resolves.toMatchObject({
      changes: true,
      replaces: [],
    });
  });

  test("does not judge a change whose package check could not run (unknown in preview)", async () => {
    const news = { ...inputs, packagePath: UNKNOWN_VALUE };
    await expect(
      provider.diff("id", stateAt("4.4.0", { hostFacts: { ...FACTS, arch: "arm64" } }), news),
    ).resolves.toMatchObject({ changes: true });
  });
});

describe("create and update before connecting", () => {
  beforeAll(() => jest.spyOn(console, "log").mockImplementation(() => undefined));

  test("fails with InvalidInputError for inputs preview could not check", async () => {
    const err = await provider.create({ ...inputs, version: "v4.4.16" }).catch((e) => e);
    expect(InvalidInputError.isInstance(err)).toBe(true);
    expect(err.property).toBe("version");
    await expect(provider.update("id", stateAt("4.4.0"), { ...inputs, emqxPath: "emqx; rm -rf /" })).rejects.toThrow(
      /^emqxPath: /,
    );
  });

  test("fails with InvalidInputError when the package no longer matches its pinned digest", async () => {
    const err = await provider.create({ ...inputs, packageSha256: "0".repeat(64) }).catch((e) => e);
    expect(InvalidInputError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ property: "packageSha256" });
  });

  test("fails with SshConnectError, before dialing, when no credential is given", async () => {
    const err = await provider.create({ ...inputs, connection: { host: "10.0.0.7" } }).catch((e) => e);
    expect(SshConnectError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ host: "10.0.0.7", port: 22, stage: "client-authentication", attempts: 1 });
  });
});
