// scripts/check-npm-name.js against a registry served from this process: what each answer of the
// registry (free, ours, someone else's, already published, broken, unreachable) makes it say and
// exit with, in CI (no flag) and at release time (--release).
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import { REPO_ROOT } from "../../../sandbox/engine";

const SCRIPT = path.join(REPO_ROOT, "scripts", "check-npm-name.js");
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
};
const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();

/** What the fake registry answers for the package's document. */
let answer: { status: number; body?: unknown } = { status: 404 };
const requested: string[] = [];
let server: http.Server;
let registry: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requested.push(req.url ?? "");
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body ?? { error: "Not found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs the script (asynchronously: the registry answers from this process). */
function check(registryUrl: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SCRIPT, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, npm_config_registry: registryUrl } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const published = (versions: Record<string, string | undefined>) => ({
  status: 200,
  body: {
    name: pkg.name,
    versions: Object.fromEntries(
      Object.entries(versions).map(([v, gitHead]) => [v, { name: pkg.name, version: v, gitHead }]),
    ),
  },
});

test("a name never published is free, in CI and at release time", async () => {
  answer = { status: 404 };
  requested.length = 0;
  for (const flags of [[], ["--release"]]) {
    const r = await check(registry, ...flags);
    expect(r).toEqual({ code: 0, out: `npm name check: ${pkg.name} is free on ${registry} (never published)\n` });
  }
  expect(requested).toEqual([`/${pkg.name}`, `/${pkg.name}`]);
});

test("versions published from this repository's commits are ours; the next version may be published", async () => {
  answer = published({ "0.0.1": head });
  const r = await check(registry, "--release");
  expect(r.code).toBe(0);
  expect(r.out).toContain(
    `${pkg.name} is ours on ${registry}: 1 version(s) published, all from this repository's commits; ${pkg.version} is not published yet`,
  );
});

test("fails when a version came from commits this repository does not have: someone else's package", async () => {
  answer = published({ "0.0.1": head, "9.9.9": "0123456789abcdef0123456789abcdef01234567", "10.0.0": undefined });
  const r = await check(registry);
  expect(r.code).toBe(1);
  expect(r.out).toContain("9.9.9 (gitHead 0123456789abcdef0123456789abcdef01234567), 10.0.0 (gitHead none)");
  expect(r.out).toContain("rename the package (package.json name, README install lines) before publishing");
  expect(r.out).not.toContain("0.0.1 (");
});

test("fails at release time when package.json's version is already published; CI only notes it", async () => {
  answer = published({ [pkg.version]: head });
  const ci = await check(registry);
  expect(ci.code).toBe(0);
  expect(ci.out).toContain(
    `${pkg.name}@${pkg.version} is already published (from this repository); the next release bumps it`,
  );
  const release = await check(registry, "--release");
  expect(release.code).toBe(1);
  expect(release.out).toContain("bump the version (RELEASING.md)");
});

test("says NOT CHECKED when the registry answers with an error or not at all: exit 0 in CI, 1 at release time", async () => {
  answer = { status: 503 };
  expect(await check(registry)).toEqual({
    code: 0,
    out: `npm name check: NOT CHECKED: ${registry}${pkg.name} answered HTTP 503; check by hand: npm view ${pkg.name}\n`,
  });
  expect((await check(registry, "--release")).code).toBe(1);

  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const nobody = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const ci = await check(nobody);
  expect(ci).toEqual({
    code: 0,
    out: `npm name check: NOT CHECKED: ${nobody} did not answer (ECONNREFUSED); check by hand: npm view ${pkg.name}\n`,
  });
  expect((await check(nobody, "--release")).code).toBe(1);
});
