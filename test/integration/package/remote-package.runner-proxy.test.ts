// check's range reads through the proxy the runner's environment names (http_proxy, https_proxy,
// no_proxy; runnerProxy in provider/package/http-range.ts), against real HTTP servers on loopback:
// one acting as the proxy (absolute-form requests and CONNECT tunnels, sandbox/package-server.ts),
// one serving the package over TLS with a certificate only a child process is told to trust.
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkRemotePackage, forgetRemotePackages } from "../../../provider/package/remote-package";
import { REPO_ROOT } from "../../../sandbox/engine";
import { PackageServer, selfSignedCert, startPackageServer } from "../../../sandbox/package-server";
import { packageShelf } from "../../../sandbox/test-host";

jest.setTimeout(60_000);
const ADDRESS = "127.0.0.178";
const shelf = packageShelf();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-runner-proxy-"));
const PROXY_ENV = ["http_proxy", "https_proxy", "HTTPS_PROXY", "HTTP_PROXY", "no_proxy", "NO_PROXY"];
const saved = Object.fromEntries(PROXY_ENV.map((k) => [k, process.env[k]]));
let proxy: PackageServer;
let tlsServer: PackageServer;
let certFile: string;
let pkg: string;
let name: string;
let sha: string;

beforeAll(async () => {
  pkg = await shelf.build({ version: "4.4.16", extraBytes: 2 * 1024 * 1024 });
  name = path.basename(pkg);
  sha = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
  proxy = await startPackageServer(ADDRESS);
  proxy.route(`/pkgs/${name}`, { file: pkg });
  const tls = selfSignedCert(ADDRESS, dir);
  certFile = tls.certFile;
  tlsServer = await startPackageServer(ADDRESS, tls);
  tlsServer.route(`/pkgs/${name}`, { file: pkg });
});
afterAll(async () => {
  await proxy?.stop();
  await tlsServer?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const k of PROXY_ENV) delete process.env[k];
  forgetRemotePackages();
  proxy.reset();
  proxy.connectStatus = 200;
  tlsServer.reset();
});
afterEach(() => {
  for (const k of PROXY_ENV)
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
});

const req = (url: string) => ({ url, version: "4.4.16", sha256: sha, idleTimeoutMs: 10_000, cacheDir: dir });

test("an http URL only the proxy can reach is read through http_proxy, with range requests", async () => {
  process.env.http_proxy = proxy.url("");
  const r = await checkRemotePackage(req(`http://packages.invalid/pkgs/${name}`));
  expect(r).toMatchObject({ via: "range", fileName: name, sha256: sha });
  expect(proxy.log.length).toBeGreaterThan(0);
  expect(proxy.log.every((l) => l.proxied && l.status === 206 && l.headers.host === "packages.invalid")).toBe(true);
});

test("no_proxy naming the package server bypasses the proxy", async () => {
  process.env.http_proxy = "http://127.0.0.1:9"; // nothing listens there
  process.env.no_proxy = `other.example,${ADDRESS}`;
  expect(await checkRemotePackage(req(proxy.url(`/pkgs/${name}`)))).toMatchObject({ via: "range" });
  expect(proxy.log.every((l) => !l.proxied)).toBe(true);
});

test("an https URL goes through a CONNECT tunnel and TLS is still verified against the package server", async () => {
  process.env.https_proxy = proxy.url("");
  const url = tlsServer.url(`/pkgs/${name}`);
  const r = await checkRemotePackage(req(url));
  expect(r).toEqual([
    {
      property: "packageUrl",
      reason: expect.stringMatching(
        new RegExp(
          `through the runner's proxy http://127\\.0\\.0\\.178:\\d+: TLS: 127\\.0\\.0\\.178:\\d+'s certificate is not trusted`,
        ),
      ),
    },
  ]);
  expect(proxy.log).toEqual([expect.objectContaining({ connect: new URL(url).host, status: 200 })]);
  expect(tlsServer.log).toEqual([]);
});

test("a proxy that refuses CONNECT, or wants credentials, is named with what to do; its password is in no message", async () => {
  process.env.https_proxy = `http://ops:Pr0xyPa55@${new URL(proxy.url("")).host}`;
  proxy.connectStatus = 403;
  const refused = JSON.stringify(await checkRemotePackage(req(tlsServer.url(`/pkgs/${name}`))));
  expect(refused).toMatch(
    /the proxy answered 403 to CONNECT 127\.0\.0\.178:\d+: check that it allows the package server/,
  );
  proxy.connectStatus = 407;
  const auth = JSON.stringify(await checkRemotePackage(req(tlsServer.url(`/pkgs/${name}`))));
  expect(auth).toMatch(/the proxy answered 407: it wants credentials/);
  expect(refused + auth).not.toContain("Pr0xyPa55");
  expect(proxy.log.map((l) => l.headers["proxy-authorization"])).toEqual([
    `Basic ${Buffer.from("ops:Pr0xyPa55").toString("base64")}`,
    `Basic ${Buffer.from("ops:Pr0xyPa55").toString("base64")}`,
  ]);
});

test("through the tunnel, a runner that trusts the certificate reads the https package with range requests (dist/, a fresh process with NODE_EXTRA_CA_CERTS)", async () => {
  const dist = path.join(REPO_ROOT, "dist", "provider", "package", "remote-package.js");
  expect(fs.existsSync(dist) ? "built" : `missing ${dist}: run npm run build`).toBe("built");
  const script = `require(${JSON.stringify(dist)}).checkRemotePackage(${JSON.stringify(req(tlsServer.url(`/pkgs/${name}`)))})
    .then((r) => process.stdout.write(JSON.stringify(r)));`;
  // Asynchronously: the proxy and the package server answer from this process.
  // It must also exit on its own: a tunnel left open would keep it alive (killed after 20 s).
  const child = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
    const c = spawn(process.execPath, ["-e", script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile, https_proxy: proxy.url("") },
    });
    let [stdout, stderr] = ["", ""];
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => c.kill(), 20_000);
    c.on("close", (code) => {
      clearTimeout(kill);
      resolve({ stdout, stderr, code });
    });
  });
  expect([child.stderr, child.code]).toEqual(["", 0]);
  expect(JSON.parse(child.stdout)).toMatchObject({ via: "range", fileName: name, sha256: sha });
  // One tunnel per range request.
  const target = new URL(tlsServer.url("")).host;
  expect(proxy.log.every((l) => l.connect === target && l.status === 200)).toBe(true);
  expect([tlsServer.log.length > 1, proxy.log.length]).toEqual([true, tlsServer.log.length]);
  expect(tlsServer.log.every((l) => l.status === 206 && !l.proxied)).toBe(true);
});
