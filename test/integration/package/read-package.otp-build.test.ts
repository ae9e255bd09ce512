// test/otp/build.sh (the "otp-build" aspect of package/read-package.ts: the packages it reads for the
// real-OTP tests): the OTP test releases are real EMQX-style zips the provider accepts, built once
// per source hash (two builders at once share one build through the lock, a rerun is cached), and
// a machine without rebar3 fails with the Debian packages to install.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readPackageManifest } from "../../../provider/package/read-package";
import { parsePackageName } from "../../../provider/plan/package-name";
import { OTP_BUILD_SCRIPT, ensureOtpReleases } from "../../../sandbox/otp-build";

jest.setTimeout(600_000);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-otp-build-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function build(
  cache: string,
  script = OTP_BUILD_SCRIPT,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile("bash", [script], { env: { ...env, EMQX_OTP_CACHE: cache }, encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({
        code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
        stdout,
        stderr,
        ms: Date.now() - started,
      }),
    );
  });
}

test("each zip is named by this machine's facts and holds emqx/releases/<V>/emqx.rel and a relup covering every earlier version", async () => {
  const r = ensureOtpReleases();
  const osRelease = fs.readFileSync("/etc/os-release", "utf8");
  const id = /^ID=(.*)$/m.exec(osRelease)?.[1].replace(/"/g, "");
  expect(r.os.startsWith(id ?? "?")).toBe(true);
  expect(r.versions).toEqual(["4.4.0", "4.4.1", "4.4.2", "4.4.3"]);
  for (const v of r.versions) {
    const name = parsePackageName(path.basename(r.zips[v]));
    expect(name).toMatchObject({ edition: "ce", os: r.os, arch: r.arch, otpMajor: Number(r.otp.split(".")[0]) });
    const m = await readPackageManifest(r.zips[v], v);
    const earlier = r.versions.slice(0, r.versions.indexOf(v)).reverse();
    expect(m).toMatchObject({ topFolder: "emqx", releaseVersion: v, ertsVersion: r.erts });
    expect(m.relup).toEqual(earlier.length ? { upFrom: earlier, downTo: earlier } : null);
    expect(m.binScripts).toEqual(["emqx", "emqx_ctl", "nodetool", "install_upgrade.escript"]);
    expect(fs.readFileSync(`${r.zips[v]}.sha256`, "utf8")).toMatch(/^[0-9a-f]{64}$/);
  }
});

test("two builders at once share one build through the lock, and a rerun is served from the cache", async () => {
  const cache = path.join(scratch, "cache");
  const [a, b] = await Promise.all([build(cache), build(cache)]);
  expect([a.code, b.code]).toEqual([0, 0]);
  const dir = a.stdout.trim().split("\n").pop();
  expect(b.stdout.trim().split("\n").pop()).toBe(dir);
  // One output dir, no work dir or lock left behind.
  expect(fs.readdirSync(cache)).toEqual([path.basename(dir as string)]);
  const again = await build(cache);
  expect(again.stdout.trim()).toBe(dir);
  expect(again.ms).toBeLessThan(Math.min(a.ms, b.ms));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir as string, "manifest.json"), "utf8"));
  process.stdout.write(`OTP build: ${manifest.buildSeconds} s by the builder; ${again.ms} ms cached\n`);
});

test("a changed source is built into a new directory (the cache key is the sources' hash)", async () => {
  const copy = path.join(scratch, "otp");
  fs.cpSync(path.dirname(OTP_BUILD_SCRIPT), copy, { recursive: true });
  const cache = path.join(scratch, "cache-changed");
  const first = await build(cache, path.join(copy, "build.sh"));
  fs.appendFileSync(path.join(copy, "emqx", "src", "emqx_conn.erl"), "%% changed\n");
  const second = await build(cache, path.join(copy, "build.sh"));
  expect([first.code, second.code]).toEqual([0, 0]);
  expect(second.stdout.trim()).not.toBe(first.stdout.trim());
});

test("fails naming the Debian packages when rebar3 is missing", async () => {
  // A PATH with every tool of this machine except rebar3.
  const bin = path.join(scratch, "bin-without-rebar3");
  fs.mkdirSync(bin);
  for (const dir of ["/usr/local/bin", "/usr/bin", "/bin"]) {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (f !== "rebar3" && !fs.existsSync(path.join(bin, f))) fs.symlinkSync(path.join(dir, f), path.join(bin, f));
    }
  }
  const r = await build(path.join(scratch, "cache-none"), OTP_BUILD_SCRIPT, { ...process.env, PATH: bin });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    "rebar3 not found: install Debian's erlang-base erlang-dev erlang-tools erlang-crypto erlang-syntax-tools erlang-parsetools rebar3",
  );
});
