// The provider users run: the `dist/` build (npm run build), serialized by Pulumi's own closure
// serializer exactly as EmqxRelease hands it to dynamic.Resource (the `__provider` input the engine
// stores in state), then loaded in a fresh node process the way the dynamic provider host loads it
// (`requireFromString(text).handler()`), running check, diff, create, update and read against a
// real OpenSSH sshd host in front of the EMQX emulator, whose `ulimit -n` is 512 so bin/emqx
// prints its warning before the output of every command, as it does on such a node.
// (test/unit/pulumi/release-provider.serialization.test.ts serializes the ts-jest build and
// compares the two without a host.)
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import { REPO_ROOT } from "../../../sandbox/engine";
import { carriedSecrets, scanForSecrets } from "../../support/secret-scan";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(180_000);
const ADDRESS = "127.0.0.160";
const DIST = path.join(REPO_ROOT, "dist", "provider", "index.js");
const shelf = packageShelf();
let host: TestHost;
let dir: string;
let pkg15: string;
let pkg16: string;

type Props = Record<string, unknown>;

/** Runs `script` as a file in a fresh node process (cwd: the repository, as a user's program dir
 * would resolve ssh2 and yauzl), feeding `input` as JSON on stdin; returns the JSON it prints last.
 * A file, not `node -e`: under -e Pulumi's serializer leaves out the non-function exports of the
 * modules it captures (DEFAULTS, MAX_* constants), which `pulumi up` (a file) never does. */
function runNode(name: string, script: string, input: unknown): Promise<Props> {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line)
        return reject(
          new Error(`node exited ${code} without a result:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`),
        );
      resolve(JSON.parse(line.slice("RESULT ".length)));
    });
    child.stdin.end(JSON.stringify(input));
  });
}

// A user's program, reduced: loads the built package, declares one EmqxRelease under Pulumi's
// mocks, and prints the `__provider` text the engine would receive.
const PROGRAM = `
let input = "";
process.stdin.on("data", (d) => (input += d)).on("end", async () => {
  const { dist, args } = JSON.parse(input);
  const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [require("path").dirname(dist)] }));
  const { EmqxRelease } = require(dist);
  let provider;
  await pulumi.runtime.setMocks({
    newResource: (a) => ((provider = a.inputs.__provider), { id: a.name + "-id", state: a.inputs }),
    call: () => ({}),
  }, "project", "stack", false);
  new EmqxRelease("node-1", args);
  for (let waited = 0; provider === undefined && waited < 60000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  process.stdout.write("RESULT " + JSON.stringify({ provider }) + "\\n");
});`;

// The dynamic provider host, reduced: loads the module text, calls check/diff/create/update/read
// on it as the engine would for `pulumi up` (create), then a changed version (update), then refresh.
const HOST = `
const fs = require("fs");
const pulumiDir = require.resolve("@pulumi/pulumi", { paths: [process.cwd()] });
const requireFromString = require(require.resolve("require-from-string", { paths: [pulumiDir] }));
let input = "";
process.stdin.on("data", (d) => (input += d)).on("end", async () => {
  const { modulePath, first, second } = JSON.parse(input);
  const provider = requireFromString(fs.readFileSync(modulePath, "utf8")).handler();
  const steps = {};
  const step = async (name, call) => {
    try {
      steps[name] = { ok: true, value: await call() };
    } catch (e) {
      steps[name] = { ok: false, error: { ...e, name: e.name, message: e.message, stack: String(e.stack), cause: undefined } };
      throw e;
    }
  };
  try {
    await step("check", () => provider.check({}, first));
    if (steps.check.value.failures.length) throw new Error("check failed");
    await step("create", () => provider.create(steps.check.value.inputs));
    const { id, outs } = steps.create.value;
    await step("check2", () => provider.check(outs, second));
    if (steps.check2.value.failures.length) throw new Error("check failed");
    await step("diff", () => provider.diff(id, outs, steps.check2.value.inputs));
    await step("update", () => provider.update(id, outs, steps.check2.value.inputs));
    await step("read", () => provider.read(id, steps.update.value.outs));
  } catch {}
  process.stdout.write("RESULT " + JSON.stringify(steps) + "\\n");
});`;

beforeAll(async () => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} not found: run \`npm run build\` first (npm test does)`);
  const stale = newerSources(path.join(REPO_ROOT, "provider"));
  if (stale) throw new Error(`dist/ is older than ${stale}: run \`npm run build\` (npm test does)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dist-provider-"));
  [pkg15, pkg16] = await Promise.all([shelf.build({ version: "4.4.15" }), shelf.build({ version: "4.4.16" })]);
  // sshd (and so every session) has `ulimit -n` 512: bin/emqx prints its warning before every output.
  host = await startTestHost({ version: "4.4.0" }, ADDRESS, { sshd: { openFilesLimit: 512 } });
});
afterAll(async () => {
  await host?.stop();
  fs.rmSync(shelf.dir, { recursive: true, force: true });
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A provider/*.ts newer than its dist/provider/*.js, if any. */
function newerSources(src: string): string | undefined {
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const p = path.join(src, e.name);
    if (e.isDirectory()) {
      const found = newerSources(p);
      if (found) return found;
    } else if (e.name.endsWith(".ts")) {
      const built = path.join(REPO_ROOT, "dist", path.relative(REPO_ROOT, p)).replace(/\.ts$/, ".js");
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(p).mtimeMs)
        return path.relative(REPO_ROOT, p);
    }
  }
  return undefined;
}

test("the host's sessions get bin/emqx's ulimit warning on every command", () => {
  const ssh = [
    "-i",
    host.sshd.clientPrivateKeyPath,
    "-p",
    String(host.sshd.port),
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    `root@${ADDRESS}`,
  ];
  const out = execFileSync("ssh", [...ssh, host.emqxPath, "root_dir"], { encoding: "utf8" });
  expect(out).toBe(`!!!!\n!!!! WARNING: ulimit -n is 512; 1024 is the recommended minimum.\n!!!!\n"${host.root}"\n`);
});

test("the dist/ provider, serialized as EmqxRelease registers it, upgrades a real host in a fresh process", async () => {
  const connection = host.connection;
  const { provider } = await runNode("program", PROGRAM, {
    dist: DIST,
    args: { connection, version: "4.4.15", packagePath: pkg15, emqxPath: host.emqxPath },
  });
  expect(provider).toMatch(/^exports\.handler = /);
  const text = provider as string;
  // Pulumi serialized the built JavaScript: no TypeScript transform or test path got in, and none
  // of the credentials the program declared is in the text the engine stores.
  expect(text).not.toMatch(/ts-jest|\/test\/support\/|cov_[0-9a-z]+\(\)/);
  const { searched, needles } = carriedSecrets({ connection });
  expect(searched).toEqual(["private key"]);
  expect(scanForSecrets([{ source: "__provider", text }], needles)).toEqual([]);
  const modulePath = path.join(dir, "provider.js");
  fs.writeFileSync(modulePath, text);

  const first = { connection, version: "4.4.15", packagePath: pkg15, emqxPath: host.emqxPath };
  const second = { ...first, version: "4.4.16", packagePath: pkg16 };
  const steps = (await runNode("provider-host", HOST, { modulePath, first, second })) as Record<
    string,
    { ok: boolean; value?: Props; error?: Props }
  >;
  for (const [name, s] of Object.entries(steps))
    if (!s.ok) throw new Error(`${name} failed in the serialized provider: ${JSON.stringify(s.error)}`);
  expect(steps.check.value).toMatchObject({ failures: [] });
  expect(steps.check2?.value).toMatchObject({ failures: [] });

  expect(steps.create.value).toMatchObject({
    id: `${ADDRESS}:${host.sshd.port}`,
    outs: { lastAction: "upgrade", currentVersion: "4.4.15", permanentVersion: "4.4.15" },
  });
  expect(steps.diff.value).toMatchObject({ changes: true, replaces: [] });
  expect(steps.update.value).toMatchObject({
    outs: { lastAction: "upgrade", previousVersion: "4.4.15", currentVersion: "4.4.16", permanentVersion: "4.4.16" },
  });
  expect(steps.read.value).toMatchObject({ props: { currentVersion: "4.4.16" } });
  // The node went through both hot upgrades, one each, as EMQX lists them.
  expect(
    host
      .calls()
      .filter((c) => c.argv[0] === "upgrade")
      .map((c) => c.argv.join(" ")),
  ).toEqual(["upgrade 4.4.15", "upgrade 4.4.16"]);
  expect(emulatorVersions(host.root)).toEqual([
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.15", status: "old" },
    { version: "4.4.0", status: "old" },
  ]);
});
