// check's look at a remote package, against a real HTTP server on loopback: the refusals (the
// successes are in test/integration/pulumi/release-provider.package-url.test.ts).
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkRemotePackage, forgetRemotePackages } from "../../../provider/package/remote-package";
import { PackageServer, startPackageServer } from "../../../sandbox/package-server";
import { packageShelf } from "../../../sandbox/test-host";

jest.setTimeout(60_000);
const ADDRESS = "127.0.0.173";
const shelf = packageShelf();
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-cache-"));
let server: PackageServer;
let pkg: string;
let sha: string;

beforeAll(async () => {
  pkg = await shelf.build({ version: "4.4.16" });
  sha = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
  server = await startPackageServer(ADDRESS);
  server.route(`/${path.basename(pkg)}`, { file: pkg });
});
beforeEach(() => {
  forgetRemotePackages();
  server.reset();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

const req = (over: Partial<Parameters<typeof checkRemotePackage>[0]> = {}) => ({
  url: server.url(`/${path.basename(pkg)}`),
  version: "4.4.16",
  sha256: sha,
  idleTimeoutMs: 5000,
  cacheDir,
  ...over,
});

test("fails on a 404 with the URL and what to check", async () => {
  expect(await checkRemotePackage(req({ url: server.url(`/nothing/${path.basename(pkg)}`) }))).toEqual([
    {
      property: "packageUrl",
      reason: expect.stringMatching(/: the server answered 404: there is no file at that URL; check packageUrl$/),
    },
  ]);
});

test("fails when the server ignores ranges and the one download has another sha256; nothing stays in the cache", async () => {
  server.ranges = false;
  try {
    const r = await checkRemotePackage(req({ sha256: "b".repeat(64) }));
    expect(r).toEqual([
      {
        property: "packageSha256",
        reason: expect.stringContaining(`has sha256 ${sha}, not the pinned ${"b".repeat(64)}`),
      },
    ]);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  } finally {
    server.ranges = true;
  }
});

test("a query string (a presigned URL's token) appears in no reason", async () => {
  const r = await checkRemotePackage(req({ url: `${server.url(`/nothing/${path.basename(pkg)}`)}?sig=T0KEN` }));
  expect(JSON.stringify(r)).not.toContain("T0KEN");
});

describe("one process checks a package once", () => {
  test("checks of many nodes at once share one read: the others make no request", async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => checkRemotePackage(req())));
    const vias = all.map((r) => (Array.isArray(r) ? "refused" : r.via));
    expect([vias.filter((v) => v === "range").length, vias.filter((v) => v === "reused").length]).toEqual([1, 19]);
    const requests = server.log.length;
    expect(requests).toBeGreaterThan(0);
    expect(all.map((r) => !Array.isArray(r) && r.requests)).toEqual([requests, ...Array(19).fill(0)]);
    // Every answer is the same package.
    expect(new Set(all.map((r) => JSON.stringify({ ...r, via: 0, requests: 0, bytesFetched: 0 }))).size).toBe(1);
    const later = await checkRemotePackage(req());
    expect([!Array.isArray(later) && later.via, server.log.length]).toEqual(["reused", requests]);
  });

  test("other headers, another pin or another version ask the server again", async () => {
    await checkRemotePackage(req());
    const first = server.log.length;
    for (const over of [
      { headers: { Authorization: "Bearer other" } },
      { sha256: "c".repeat(64) },
      { version: "4.4.15" },
    ]) {
      const before = server.log.length;
      await checkRemotePackage(req(over));
      expect([over, server.log.length > before]).toEqual([over, true]);
    }
    expect(first).toBeGreaterThan(0);
  });

  test("a refusal is not remembered: the next check asks again and sees the file once it is there", async () => {
    const url = server.url(`/later/${path.basename(pkg)}`);
    expect(await checkRemotePackage(req({ url }))).toEqual([expect.objectContaining({ property: "packageUrl" })]);
    server.route(`/later/${path.basename(pkg)}`, { file: pkg });
    expect(await checkRemotePackage(req({ url }))).toMatchObject({ via: "range", sha256: sha });
  });
});
