// packageUrl through EmqxReleaseProvider, no engine: real OpenSSH sshd test hosts with the EMQX
// emulator, and a real HTTP server on loopback (sandbox/package-server.ts). check reads the zip by
// range requests; create has the node download it (curl, or wget), check the sha256 and upgrade.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { connectSsh } from "../../../provider/ssh/connect";
import { downloadVerified } from "../../../provider/ssh/download";
import { resolveInputs } from "../../../provider/plan/inputs";
import { forgetRemotePackages } from "../../../provider/package/remote-package";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import { PackageServer, pathWithout, startPackageServer } from "../../../sandbox/package-server";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";
import { mutatingCalls, partFiles, underFault } from "../../support/fault-run";

jest.setTimeout(120_000);
const ADDRESS = "127.0.0.171";
const FROM = "4.4.0";
const TO = "4.4.16";
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-url-"));
let server: PackageServer;
let pkg: string;
let sha: string;
let name: string;
let host: TestHost;

beforeAll(async () => {
  pkg = await shelf.build({ version: TO, extraBytes: 3 * 1024 * 1024 });
  sha = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
  name = path.basename(pkg);
  server = await startPackageServer(ADDRESS);
  server.route(`/pkgs/${name}`, { file: pkg });
  host = await startTestHost({ version: FROM }, ADDRESS);
  process.env.EMQX_RELEASE_CACHE_DIR = path.join(scratch, "cache");
  jest.spyOn(console, "log").mockImplementation(() => undefined);
});
afterAll(async () => {
  await host?.stop();
  await server?.stop();
  delete process.env.EMQX_RELEASE_CACHE_DIR;
  fs.rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  // Each test asks the server itself: what one check read is reused by the next (remote-package.ts).
  forgetRemotePackages();
  server.reset();
  server.ranges = true;
  server.requireHeader = undefined;
});

const news = (h: TestHost, over: Record<string, unknown> = {}) => ({
  connection: h.connection,
  version: TO,
  packageUrl: server.url(`/pkgs/${name}`),
  packageSha256: sha,
  emqxPath: h.emqxPath,
  ...over,
});

test("check validates name, relup and layout of a remote package with range requests, reading a fraction of it", async () => {
  const r = await provider.check({}, news(host));
  expect(r.failures).toEqual([]);
  expect(r.inputs.__package).toMatchObject({
    fileName: name,
    sha256: sha,
    relupUpFrom: expect.arrayContaining([FROM]),
    via: "range",
  });
  const size = fs.statSync(pkg).size;
  expect(server.log.every((l) => l.status === 206)).toBe(true);
  expect(server.bytesSent()).toBeLessThan(size / 10);
  expect((r.inputs.__package as { sizeBytes: number }).sizeBytes).toBe(size);
});

test("fails check when the remote zip is another release: refused at plan time, no node contacted", async () => {
  const other = await shelf.build({ version: "4.4.15" });
  server.route(`/pkgs/bad/${name}`, { file: other });
  const r = await provider.check({}, news(host, { packageUrl: server.url(`/pkgs/bad/${name}`) }));
  expect(r.failures).toEqual([
    {
      property: "packageUrl",
      reason: expect.stringMatching(/no emqx\/releases\/4\.4\.16\/emqx\.rel inside \(it holds release 4\.4\.15\)/),
    },
  ]);
});

test("fails with a wrong packageSha256: the node's download is removed, nothing under the package's name, no EMQX command", async () => {
  const wrong = "0".repeat(64);
  const r = await provider.check({}, news(host, { packageSha256: wrong }));
  expect(r.failures).toEqual([]);
  const out = await underFault(() => provider.create(r.inputs));
  expect(out.error?.message).toMatch(
    new RegExp(
      `the download of http://${ADDRESS.replace(/\./g, "\\.")}:\\d+/pkgs/${name.replace(/\./g, "\\.")} on ${ADDRESS.replace(/\./g, "\\.")} has sha256 ${sha}, not the pinned ${wrong}`,
    ),
  );
  expect(fs.readdirSync(path.join(host.root, "releases")).filter((f) => f.endsWith(".zip"))).toEqual([]);
  expect(partFiles(host.root)).toEqual([]);
  expect(mutatingCalls(host)).toEqual([]);
});

test("create: the node downloads the package (the runner sends none of it), checks it and upgrades; a rerun downloads nothing", async () => {
  const r = await provider.check({}, news(host));
  server.reset();
  const out = await underFault(() => provider.create(r.inputs));
  expect(out.error).toBeUndefined();
  expect(emulatorVersions(host.root)[0]).toEqual({ version: TO, status: "permanent" });
  // One GET of the whole file, by curl on the node.
  const gets = server.log.filter((l) => l.path === `/pkgs/${name}`);
  expect(gets).toEqual([expect.objectContaining({ status: 200, bodyBytes: fs.statSync(pkg).size, range: undefined })]);
  expect(gets[0].headers["user-agent"]).toMatch(/^curl\//);
  expect(out.logs.join("\n")).toMatch(/downloaded emqx-4\.4\.16\S+ on 127\.0\.0\.171 .* sha256 verified/);
  const releases = fs.readdirSync(path.join(host.root, "releases"));
  expect(releases).toContain(name);
  expect(releases).toContain(`.${name}.${sha}.emqx-release-stamp`);
  expect(partFiles(host.root)).toEqual([]);

  // The stamp vouches for the file: a second download of it is skipped without a request.
  server.reset();
  const want = resolveInputs(news(host) as never);
  const session = await connectSsh(want.target, () => undefined);
  try {
    const again = await downloadVerified(session, {
      url: want.packageUrl as string,
      remoteDir: path.join(host.root, "releases"),
      finalName: name,
      sha256: sha,
      tool: "curl",
      stallTimeoutMs: 5000,
      timeoutMs: 30_000,
    });
    expect(again.skipped).toBe(true);
  } finally {
    await session.close();
  }
  expect(server.log).toEqual([]);
});

test("fails before any write when the node has neither curl nor wget, saying to install one", async () => {
  const bare = await startTestHost({ version: FROM }, ADDRESS, {
    sshd: { extraConfig: [pathWithout(path.join(scratch, "no-curl"), ["curl", "wget"])] },
  });
  try {
    const before = bare.fingerprint();
    const r = await provider.check({}, news(bare));
    server.reset();
    const out = await underFault(() => provider.create(r.inputs));
    expect(out.error?.message).toMatch(
      /packageUrl asks the node to download emqx-4\.4\.16\S+, but neither curl nor wget is on its PATH: install one \(apt-get install curl/,
    );
    expect(out.error?.message).toMatch(/nothing was changed/);
    expect(server.log).toEqual([]);
    expect(bare.fingerprint().split(" ")[0]).toBe(before.split(" ")[0]);
    expect(mutatingCalls(bare)).toEqual([]);
  } finally {
    await bare.stop();
  }
});

test("a node with wget only downloads with wget; an Authorization header reaches the server and no log or error", async () => {
  const token = `Bearer ${createHash("sha256").update(String(Date.now())).digest("hex")}`;
  server.requireHeader = { name: "Authorization", value: token };
  const wgetOnly = await startTestHost({ version: FROM }, ADDRESS, {
    sshd: { extraConfig: [pathWithout(path.join(scratch, "wget-only"), ["curl"])] },
  });
  try {
    const r = await provider.check({}, news(wgetOnly, { packageHeaders: { Authorization: token } }));
    expect(r.failures).toEqual([]);
    server.reset();
    const out = await underFault(() => provider.create(r.inputs));
    expect(out.error).toBeUndefined();
    expect(emulatorVersions(wgetOnly.root)[0]).toEqual({ version: TO, status: "permanent" });
    const get = server.log.find((l) => l.path === `/pkgs/${name}` && l.status === 200);
    expect(get?.headers["user-agent"]).toMatch(/^Wget\//);
    expect(out.logs.join("\n")).not.toContain(token.slice(7));
    expect(wgetOnly.sshd.readLog()).not.toContain(token.slice(7));
    expect(JSON.stringify(out.value)).toContain(token.slice(7)); // echoed input: a pulumi secret (release.ts)
  } finally {
    await wgetOnly.stop();
  }
});

test("a node downloads through packageProxy: a host only the proxy can reach", async () => {
  const direct = await provider.check({}, news(host, { packageProxy: server.url("") }));
  expect(direct.failures).toEqual([]);
  const viaProxy = { ...direct.inputs, packageUrl: `http://packages.invalid/pkgs/${name}` };
  // The host was upgraded by an earlier test: a fresh node.
  const fresh = await startTestHost({ version: FROM }, ADDRESS);
  try {
    server.reset();
    const out = await underFault(() =>
      provider.create({ ...viaProxy, connection: fresh.connection, emqxPath: fresh.emqxPath }),
    );
    expect(out.error).toBeUndefined();
    expect(emulatorVersions(fresh.root)[0]).toEqual({ version: TO, status: "permanent" });
    expect(server.log).toEqual([expect.objectContaining({ path: `/pkgs/${name}`, proxied: true, status: 200 })]);
  } finally {
    await fresh.stop();
  }
});

test("check against a server without range support downloads the package once into the cache, then reads the cache", async () => {
  server.ranges = false;
  const cacheDir = process.env.EMQX_RELEASE_CACHE_DIR as string;
  {
    const first = await provider.check({}, news(host));
    expect(first.failures).toEqual([]);
    expect(first.inputs.__package).toMatchObject({ via: "download", sha256: sha });
    expect(server.log).toHaveLength(1);
    expect(fs.readdirSync(cacheDir)).toEqual([`${sha}.zip`]);
    server.reset();
    // The same process answers from what it read (no request, not even the cache file)...
    expect((await provider.check({}, news(host))).inputs.__package).toMatchObject({ via: "reused" });
    // ...and a later `pulumi preview`, another process, reads the cached copy.
    forgetRemotePackages();
    const second = await provider.check({}, news(host));
    expect(second.inputs.__package).toMatchObject({ via: "cache" });
    expect(server.log).toEqual([]);
  }
});
