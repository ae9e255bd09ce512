// The provider as Pulumi runs it: the object EmqxRelease hands to `dynamic.Resource`
// (RELEASE_PROVIDER), serialized the way `dynamic.Resource` does (`serializeFunction(() => provider,
// { allowSecrets: true })`; from this repo every module by value), loaded in a fresh node process
// the way the dynamic provider host does (`requireFromString(text).handler()`, resolving modules
// from its working directory), and called there. Each call must behave exactly as it does on the
// provider in this process: same results, same error names, messages and fields.
// Past bugs this catches: `new.target`, module-level Set/Map, `import * as` of npm modules
// (copied by value), Error subclasses whose message was set only through `super`.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runtime } from "@pulumi/pulumi";
import { EmqxProviderError } from "../../../provider/errors";
import { RELEASE_PROVIDER } from "../../../provider/pulumi/release";
import { EmqxReleaseProvider } from "../../../provider/pulumi/release-provider";
import { REPO_ROOT } from "../../../sandbox/engine";
import { buildPackageZip, packageEntries, packageFileName } from "../../../sandbox/package-zip";
import { writeZip } from "../../../sandbox/zip-writer";

type Props = Record<string, unknown>;
interface Call {
  method: "check" | "diff" | "create" | "read" | "update" | "delete";
  args: unknown[];
}
/** What a call returned, or what it threw (own fields plus name and message). */
type Outcome = { ok: true; value: unknown } | { ok: false; error: Props; isError?: boolean; text?: string };

const RESULT_PREFIX = "SERIALIZED-PROVIDER-RESULT ";

// Runs in the child: loads the module text like @pulumi/pulumi's cmd/dynamic-provider does, calls
// each method in turn and prints one result line.
const CHILD = `
const fs = require("fs");
const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
let input = "";
process.stdin.on("data", (d) => (input += d)).on("end", async () => {
  const { modulePath, calls } = JSON.parse(input);
  const provider = requireFromString(fs.readFileSync(modulePath, "utf8")).handler();
  const out = [];
  for (const c of calls) {
    try {
      out.push({ ok: true, value: await provider[c.method](...c.args) });
    } catch (e) {
      out.push({ ok: false, error: { ...e, name: e.name, message: e.message, cause: undefined }, isError: e instanceof Error, text: String(e) });
    }
  }
  process.stdout.write(${JSON.stringify(RESULT_PREFIX)} + JSON.stringify(out) + "\\n");
});`;

const provider = new EmqxReleaseProvider();
let dir: string;
let modulePath: string;
let containsSecrets: boolean;
let valid: Props;

beforeAll(async () => {
  jest.spyOn(console, "log").mockImplementation(() => undefined);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "provider-serialization-"));
  const serialized = await runtime.serializeFunction(() => RELEASE_PROVIDER, { allowSecrets: true });
  modulePath = path.join(dir, "provider.js");
  fs.writeFileSync(modulePath, serialized.text);
  containsSecrets = serialized.containsSecrets;
  const packagePath = await buildPackageZip(dir, { version: "4.4.16" });
  // Nothing listens on port 1; and without credentials connecting fails before dialing anyway.
  valid = {
    connection: { host: "127.0.0.1", port: 1, user: "root" },
    version: "4.4.16",
    packagePath,
    emqxPath: "/opt/emqx/bin/emqx",
  };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `calls` on the serialized provider in a fresh node process. */
function callSerialized(calls: Call[]): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", CHILD], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (!line)
        return reject(new Error(`the serialized provider printed no result (exit ${code}):\n${stdout}\n${stderr}`));
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
    });
    child.stdin.end(JSON.stringify({ modulePath, calls }));
  });
}

/** The same calls on the provider in this process, as JSON would carry them. */
async function callHere(calls: Call[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const c of calls) {
    const method = provider[c.method] as (...args: unknown[]) => Promise<unknown>;
    try {
      out.push({ ok: true, value: JSON.parse(JSON.stringify((await method.apply(provider, c.args)) ?? null)) });
    } catch (e) {
      const err = e as Error;
      out.push({
        ok: false,
        error: JSON.parse(JSON.stringify({ ...err, name: err.name, message: err.message, cause: undefined })),
      });
    }
  }
  return out;
}

const FACTS = {
  osId: "debian12",
  arch: "amd64",
  otpMajor: 24,
  edition: "ce",
  binScriptsVersion: "4.4.0",
  relupDownTo: [],
};

test("serializes without capturing secrets", () => {
  expect(containsSecrets).toBe(false);
  expect(fs.readFileSync(modulePath, "utf8")).toMatch(/^exports\.handler = /);
});

test("check, diff and the errors of create behave the same once serialized", async () => {
  const checked = (await provider.check({}, valid)).inputs;
  const state = {
    ...checked,
    version: "4.4.0",
    packageSha256: "aa".repeat(32),
    currentVersion: "4.4.0",
    permanentVersion: "4.4.0",
    installedVersions: [{ version: "4.4.0", status: "permanent" }],
    hostFacts: FACTS,
  };
  const calls: Call[] = [
    { method: "check", args: [{}, valid] },
    { method: "check", args: [{}, { ...valid, version: "4.4.x" }] },
    { method: "check", args: [{}, { ...valid, packageSha256: "0".repeat(64) }] },
    { method: "diff", args: ["127.0.0.1:1", state, checked] },
    { method: "diff", args: ["127.0.0.1:1", state, { ...checked, connection: { host: "127.0.0.2", port: 1 } }] },
    { method: "diff", args: ["127.0.0.1:1", { ...state, hostFacts: { ...FACTS, arch: "arm64" } }, checked] },
    { method: "create", args: [{ ...checked, version: "4.4" }] },
    { method: "create", args: [checked] },
    {
      method: "create",
      args: [
        {
          ...checked,
          connection: {
            host: "127.0.0.1",
            port: 1,
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
          },
        },
      ],
    },
  ];
  const [there, here] = await Promise.all([callSerialized(calls), callHere(calls)]);
  expect(there.map(comparable)).toEqual(here.map(comparable));

  const [ok, badVersion, badPin, update, replace, refused, invalid, noAuth, badKey] = there;
  // check: a real package read with yauzl and hashed, no failures.
  expect(ok).toMatchObject({
    ok: true,
    value: {
      failures: [],
      inputs: {
        __package: {
          fileName: path.basename(valid.packagePath as string),
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
          relupUpFrom: expect.arrayContaining(["4.4.0"]),
        },
      },
    },
  });
  expect(badVersion).toMatchObject({
    ok: true,
    value: { failures: expect.arrayContaining([expect.objectContaining({ property: "version" })]) },
  });
  expect(badPin).toMatchObject({
    ok: true,
    value: {
      failures: [
        expect.objectContaining({ property: "packageSha256", reason: expect.stringContaining("not the pinned 0000") }),
      ],
    },
  });
  expect(update).toEqual({ ok: true, value: { changes: true, replaces: [], deleteBeforeReplace: true } });
  expect(replace).toMatchObject({ ok: true, value: { replaces: ["connection"] } });
  // Errors keep their subclass name, message, fields and brand.
  expectError(refused, "UnsupportedUpgradeError", /^127\.0\.0\.1 is arm64 but emqx-4\.4\.16-.* is built for amd64/, {
    from: "4.4.0",
    to: "4.4.16",
    property: "packagePath",
  });
  expectError(invalid, "InvalidInputError", /^version: /, { property: "version" });
  expectError(
    noAuth,
    "SshConnectError",
    /^127\.0\.0\.1:1: no privateKey, password or agentSocketPath given for user root$/,
    { host: "127.0.0.1", port: 1, stage: "client-authentication" },
  );
  expectError(
    badKey,
    "SshConnectError",
    /^127\.0\.0\.1:1: privateKey cannot be used \(.+\); check privateKey and privateKeyPassword$/,
    { stage: "client-authentication" },
  );
});

/** An outcome without what only the child records (whether the error is an Error, its text). */
function comparable(o: Outcome): Outcome {
  return o.ok ? o : { ok: false, error: o.error };
}

function expectError(outcome: Outcome, name: string, message: RegExp, fields: Props): void {
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: Props }).error;
  expect(error).toMatchObject({ name, ...fields });
  expect(error.message).toMatch(message);
  expect(EmqxProviderError.isInstance(error)).toBe(true);
}

// Two bugs this test found, kept as regressions. The first test collects what the serialized
// provider does; the two after it check it.
describe("serialized errors (regressions)", () => {
  let thrown: Outcome;
  let damagedThere: Outcome;
  let damagedHere: unknown;

  test("answers the calls that show them", async () => {
    const spec = { version: "4.4.16" };
    const damaged = path.join(fs.mkdtempSync(path.join(dir, "damaged-")), packageFileName(spec));
    await writeZip(
      damaged,
      packageEntries(spec).map((e) => (e.name.endsWith("/relup") ? { ...e, data: '{"4.4.16",[{"4.4.0",' } : e)),
    );
    const news = { ...valid, packagePath: damaged };
    const here = await provider.check({}, news);
    expect(here.failures).toEqual([
      expect.objectContaining({
        property: "packagePath",
        reason: expect.stringContaining("is not a valid Erlang term"),
      }),
    ]);
    damagedHere = JSON.parse(JSON.stringify(here));
    [thrown, damagedThere] = await callSerialized([
      { method: "create", args: [{ ...valid, version: "4.4" }] },
      { method: "check", args: [{}, news] },
    ]);
    expect(thrown).toMatchObject({ ok: false, error: { name: "InvalidInputError" } });
    expect(damagedThere).toBeDefined();
  });

  // errors.ts: Pulumi serializes a class as a plain function and emits its `prototype` only when it
  // has members of its own, so our error classes (a constructor and statics only) lost their link
  // to Error.prototype, and the dynamic provider host logged "[object Object]: undefined".
  test("errors it throws are Error instances with their name in String(e)", () => {
    expect(thrown).toMatchObject({ isError: true, text: expect.stringMatching(/^InvalidInputError: version: /) });
  });

  // plan/erlang-term-scanner.ts: ErlangTermSyntaxError set `message` only through `super` (lost
  // once serialized) and its isInstance required `instanceof Error`, so check threw an object
  // without a message ("Unknown Error") instead of reporting a packagePath failure.
  test("check reports a package whose relup is not an Erlang term as a packagePath failure", () => {
    expect(damagedThere).toEqual({ ok: true, value: damagedHere });
  });
});
