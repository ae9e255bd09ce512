// examples/fleet with packageUrl through the real pulumi CLI: two emulated EMQX 4.4.0 nodes behind
// real sshd, a real HTTP server on loopback that wants an Authorization header (a secret). The
// preview checks the remote package with range requests only; `up` has each node download it (the
// runner sends none of it); the token is nowhere in the state, the engine output or the backend.
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { PackageServer, startPackageServer } from "../../sandbox/package-server";
import { compiledPath, newStackDir, runStack, type OpName, type StackDirs } from "../../sandbox/run-stack";
import { packageShelf, shareClientKey, startTestHost, type TestHost } from "../../sandbox/test-host";
import { filesUnder, scanForSecrets, withJsonEscaped } from "../support/secret-scan";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 5 * 60 * 1000;
const TOKEN = `Bearer tk-${randomBytes(16).toString("hex")}`;
const hosts: TestHost[] = [];
let server: PackageServer;
let dirs: StackDirs;
let programModule: string;
let pkg: string;
let sha: string;
const transcript: Array<{ source: string; text: string }> = [];

beforeAll(async () => {
  ensureEngine();
  programModule = compiledPath("examples/fleet/index.ts");
  dirs = newStackDir("fleet-url");
  for (const a of ["127.0.0.176", "127.0.0.177"]) hosts.push(await startTestHost({ version: "4.4.0" }, a));
  shareClientKey(hosts);
  pkg = await packageShelf().build({ version: "4.4.16", extraBytes: 8 * 1024 * 1024 });
  sha = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
  server = await startPackageServer("127.0.0.176");
  server.route(`/emqx/${path.basename(pkg)}`, { file: pkg });
  server.requireHeader = { name: "Authorization", value: TOKEN };
});
afterAll(async () => {
  for (const h of hosts) await h.stop();
  await server?.stop();
  dirs?.cleanup();
});

async function run(ops: OpName[], label: string) {
  const res = await runStack(
    {
      projectName: "emqx-fleet-url-e2e",
      stackName: "url",
      programModule,
      config: {
        hosts: {
          value: JSON.stringify(
            hosts.map((h, i) => ({
              name: `n${i + 1}`,
              host: h.connection.host,
              port: h.connection.port,
              hostKey: h.connection.hostKey,
              emqxPath: h.emqxPath,
            })),
          ),
        },
        privateKey: { value: hosts[0].connection.privateKey, secret: true },
        version: { value: "4.4.16" },
        packageUrl: { value: server.url(`/emqx/${path.basename(pkg)}`) },
        packageSha256: { value: sha },
        packageHeaders: { value: JSON.stringify({ Authorization: TOKEN }), secret: true },
        rollout: { value: JSON.stringify({ canary: 1, batchSize: 1 }) },
      },
      ops,
    },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
  transcript.push({ source: `${label} stdout`, text: res.stdout }, { source: `${label} stderr`, text: res.stderr });
  return res;
}

test("preview validates the remote package with range requests only, a fraction of its bytes, and contacts no node", async () => {
  const before = hosts.map((h) => `${h.fingerprint()} ssh=${h.sshd.connectionCount()}`);
  server.reset();
  const res = await run(["preview"], "preview");
  expect(res.results[0]).toMatchObject({ ok: true });
  expect(server.log.length).toBeGreaterThan(0);
  expect(server.log.every((l) => l.status === 206 && l.range !== undefined)).toBe(true);
  expect(server.bytesSent()).toBeLessThan(fs.statSync(pkg).size / 10);
  expect(hosts.map((h) => `${h.fingerprint()} ssh=${h.sshd.connectionCount()}`)).toEqual(before);
});

test("up: each node downloads the package with its Authorization header and upgrades", async () => {
  server.reset();
  const res = await run(["up"], "up");
  expect(res.results[0]).toMatchObject({ ok: true });
  for (const h of hosts) expect(emulatorVersions(h.root)[0]).toEqual({ version: "4.4.16", status: "permanent" });
  const downloads = server.log.filter((l) => l.status === 200);
  expect(downloads).toHaveLength(2);
  for (const d of downloads) expect(d.headers["user-agent"]).toMatch(/^curl\//);
  expect(server.log.filter((l) => l.status === 401)).toEqual([]);
});

test("the Authorization token is in no engine output, stack export, backend or PULUMI_HOME file", async () => {
  const exported = await runStack(
    { projectName: "emqx-fleet-url-e2e", stackName: "url", programModule, ops: ["export"] },
    { dirs, timeoutMs: TIMEOUT_MS },
  );
  expect(exported.results[0].ok).toBe(true);
  const sources = [...transcript, { source: "stack export", text: exported.stdout }, ...filesUnder(dirs.root)];
  const needles = withJsonEscaped("packageHeaders.Authorization", TOKEN.slice("Bearer ".length));
  // The scan would see it: the export holds packageHeaders, encrypted.
  expect(exported.stdout).toMatch(/packageHeaders/);
  expect(scanForSecrets(sources, needles)).toEqual([]);
});
