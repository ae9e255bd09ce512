// test/upstream/build.sh: the packages whose CLI is EMQX's own. The pinned upstream files are
// checked before anything is built (a missing or changed one fails, named); the packages carry
// them byte for byte, and each relup went through its tag's inject-relup.escript.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../sandbox/engine";
import { ensureUpstreamReleases, UPSTREAM_BUILD_SCRIPT } from "../../sandbox/upstream-host";

jest.setTimeout(900_000);
const PINS = path.join(REPO_ROOT, "test", "upstream", "upstream-files.sha256");
const pins = fs
  .readFileSync(PINS, "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => {
    const [sum, file, source] = l.split(/\s+/);
    return { sum, file, source };
  });
const UPSTREAM = path.resolve(REPO_ROOT, "..", "shared", "emqx-upstream");

/** Runs build.sh against a copy of the upstream files changed by `change`; returns its failure. */
function buildWith(change: (dir: string) => void): { code: number; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-upstream-copy-"));
  try {
    fs.cpSync(process.env.EMQX_UPSTREAM_DIR ?? UPSTREAM, dir, { recursive: true });
    execFileSync("chmod", ["-R", "u+w", dir]);
    change(dir);
    execFileSync("bash", [UPSTREAM_BUILD_SCRIPT], { env: { ...process.env, EMQX_UPSTREAM_DIR: dir }, stdio: "pipe" });
    return { code: 0, stderr: "" };
  } catch (e) {
    const err = e as { status: number; stderr: Buffer };
    return { code: err.status, stderr: err.stderr.toString() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("a pinned upstream file that is missing fails the build, naming it and where it comes from", () => {
  const r = buildWith((dir) => fs.rmSync(path.join(dir, "v4.4.17", "nodetool")));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("missing upstream file");
  expect(r.stderr).toContain("v4.4.17/nodetool (bin/nodetool at its tag)");
});

test("a pinned upstream file with other bytes fails the build, naming it and both digests", () => {
  const r = buildWith((dir) => fs.appendFileSync(path.join(dir, "v4.4.2", "install_upgrade.escript"), "\n"));
  expect(r.code).toBe(1);
  const pin = pins.find((p) => p.file === "v4.4.2/install_upgrade.escript");
  expect(r.stderr).toContain(`v4.4.2/install_upgrade.escript has sha256`);
  expect(r.stderr).toContain(`pins ${pin?.sum}`);
});

test("the packages carry the tags' scripts byte for byte, bin/<f>-<V> copies, relups rewritten by inject-relup", () => {
  const releases = ensureUpstreamReleases();
  expect(releases.sets).toEqual({ new: ["4.4.16", "4.4.17", "4.4.18"], old: ["4.4.0", "4.4.1", "4.4.2"] });
  const sumOf = (file: string) => pins.find((p) => p.file === file)?.sum;
  const sha = (buf: Buffer) => crypto.createHash("sha256").update(buf).digest("hex");
  const unzipped = (zip: string, member: string) => execFileSync("unzip", ["-p", zip, member], { maxBuffer: 1 << 26 });
  for (const v of [...releases.sets.new, ...releases.sets.old]) {
    const zip = releases.zips[v];
    expect(path.basename(zip)).toBe(`emqx-${v}-otp${releases.otp}-${releases.os}-${releases.arch}.zip`);
    for (const f of ["emqx", "emqx_ctl", "nodetool", "install_upgrade.escript"]) {
      expect({ v, f, sha: sha(unzipped(zip, `emqx/bin/${f}`)) }).toEqual({ v, f, sha: sumOf(`v${v}/${f}`) });
      expect({ v, f, sha: sha(unzipped(zip, `emqx/bin/${f}-${v}`)) }).toEqual({ v, f, sha: sumOf(`v${v}/${f}`) });
    }
    expect(unzipped(zip, "emqx/releases/emqx_vars").toString()).toMatch(
      new RegExp(`^REL_VSN="${v.replace(/\./g, "\\.")}"\nERTS_VSN="${releases.erts}"$`, "m"),
    );
  }
  // 4.4.2+: the tag's inject-relup.escript appended its instructions and wrote `~p.` with no newline.
  for (const v of ["4.4.17", "4.4.18", "4.4.2"]) {
    const relup = unzipped(releases.zips[v], `emqx/releases/${v}/relup`).toString();
    expect(relup).toContain("{apply,{emqx_relup,post_release_upgrade,");
    expect(relup.endsWith("}.")).toBe(true);
  }
  // 4.4.1 predates inject-relup.escript: its relup is systools' own.
  expect(unzipped(releases.zips["4.4.1"], "emqx/releases/4.4.1/relup").toString()).not.toContain("emqx_relup");
});
