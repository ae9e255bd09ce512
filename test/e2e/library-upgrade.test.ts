// A user upgrades pulumi-emqx-release in a project that has already rolled a fleet out: the fleet
// deployed by examples/fleet with the `npm pack` tarball of this commit, then a later build of the
// library installed in its place (version bumped, provider code changed: a progress line reads
// differently), all through the real CLI and language host. The later build must plan no change
// (`pulumi preview --expect-no-changes`), its `pulumi up` must run no command on any node, and it
// must read the state the earlier build wrote: a refresh, then an upgrade that its code performs.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { emulatorVersions } from "../../sandbox/emulator/install";
import {
  newCliProject,
  packLibrary,
  sharedNodeModules,
  type CliProject,
  type PackedLibrary,
} from "../../sandbox/cli-project";
import { resourceCounts, setFleetConfig } from "../../sandbox/cli-output";
import { packageShelf, shareClientKey, startTestHost, type TestHost } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);

/** The progress line the later build changes, as the compiled provider logs it. */
const LINE = 'log("pre-flight")';
const PATCHED_LINE = 'log("pre-flight (later build)")';

/** A later build of `lib`: its package unpacked, the version's patch number bumped, `LINE` in
 * dist/provider/emqx/apply-release.js changed, packed again (without the `prepare` build). */
function laterBuild(lib: PackedLibrary, workDir: string): PackedLibrary {
  const dir = path.join(workDir, "package");
  fs.mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["xzf", lib.tarball, "-C", dir, "--strip-components=1"]);
  const pkgFile = path.join(dir, "package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
  const [major, minor, patch] = String(pkg.version).split(".").map(Number);
  pkg.version = `${major}.${minor}.${patch + 1}`;
  // The packed package carries dist/ but not the sources its `prepare` script (tsc) builds from, so
  // packing it again would fail in `prepare`: this build is already built, as a published one is.
  delete pkg.scripts.prepare;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  const code = path.join(dir, "dist", "provider", "emqx", "apply-release.js");
  const text = fs.readFileSync(code, "utf8");
  if (!text.includes(LINE))
    throw new Error(`${code} has no ${LINE}: update this test's LINE to a progress line the provider logs`);
  fs.writeFileSync(code, text.replace(LINE, PATCHED_LINE));
  return packLibrary(dir);
}

describe("a later build of the library over a fleet the earlier build rolled out", () => {
  const hosts: TestHost[] = [];
  const packages: Record<string, string> = {};
  let shelfDir: string;
  let earlier: PackedLibrary;
  let later: PackedLibrary;
  let p: CliProject;

  const commandsRun = () => hosts.map((h) => h.calls().length);
  const sshLogins = () => hosts.map((h) => h.sshd.connectionCount());
  const running = (h: TestHost) => emulatorVersions(h.root).find((r) => r.status === "permanent")?.version;

  beforeAll(async () => {
    earlier = packLibrary();
    for (const a of ["127.0.0.91", "127.0.0.92"]) hosts.push(await startTestHost({ version: "4.4.0" }, a));
    shareClientKey(hosts);
    const shelf = packageShelf();
    shelfDir = shelf.dir;
    for (const v of ["4.4.16", "4.4.17"]) packages[v] = await shelf.build({ version: v });
    p = newCliProject("fleet", earlier);
    later = laterBuild(earlier, p.dirs.root);
    await p.pulumiOk(["stack", "init", "e2e"]);
    await setFleetConfig(p, hosts, "4.4.16", packages["4.4.16"]);
  });

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    p?.cleanup();
    if (shelfDir) fs.rmSync(shelfDir, { recursive: true, force: true });
  });

  test("the earlier build rolls the fleet out to 4.4.16", async () => {
    const r = await p.pulumiOk(["up", "--yes"]);
    expect(r.stdout).toContain("pre-flight");
    expect(r.stdout).not.toContain("later build");
    expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16"]);
  });

  test("the later build is another version with other provider code", () => {
    expect(later.version).not.toBe(earlier.version);
    expect(later.sha256).not.toBe(earlier.sha256);
    p.useNodeModules(sharedNodeModules(later));
    const installed = JSON.parse(
      fs.readFileSync(path.join(p.dir, "node_modules", "pulumi-emqx-release", "package.json"), "utf8"),
    );
    expect(installed.version).toBe(later.version);
    expect(
      fs.readFileSync(
        path.join(p.dir, "node_modules", "pulumi-emqx-release", "dist", "provider", "emqx", "apply-release.js"),
        "utf8",
      ),
    ).toContain(PATCHED_LINE);
  });

  test("with the later build, pulumi preview --expect-no-changes passes without contacting a node", async () => {
    const before = { commands: commandsRun(), logins: sshLogins() };
    const r = await p.pulumi(["preview", "--expect-no-changes"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(resourceCounts(r.stdout)).toEqual({ same: expect.any(Number) });
    expect({ commands: commandsRun(), logins: sshLogins() }).toEqual(before);
  });

  test("with the later build, pulumi up changes nothing and runs no command on any node", async () => {
    const before = { commands: commandsRun(), logins: sshLogins() };
    const r = await p.pulumiOk(["up", "--yes", "--expect-no-changes"]);
    expect(Object.keys(resourceCounts(r.stdout))).toEqual(["same"]);
    expect({ commands: commandsRun(), logins: sshLogins() }).toEqual(before);
    expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16"]);
  });

  test("the later build reads the earlier build's state: refresh finds each node as recorded", async () => {
    const reads = () => hosts.map((h) => h.calls().filter((c) => c.argv[0] === "versions").length);
    const before = reads();
    const r = await p.pulumiOk(["refresh", "--yes", "--expect-no-changes"]);
    expect(Object.keys(resourceCounts(r.stdout))).toEqual(["same"]);
    // Each node was read (emqx versions) by the later build's refresh.
    expect(reads().every((n, i) => n > before[i])).toBe(true);
  });

  test("then the later build's code upgrades the fleet from the recorded 4.4.16 to 4.4.17", async () => {
    await p.pulumiOk(["config", "set", "version", "4.4.17"]);
    await p.pulumiOk(["config", "set", "packagePath", packages["4.4.17"]]);
    const r = await p.pulumiOk(["up", "--yes"]);
    expect(r.stdout).toContain("pre-flight (later build)");
    expect(hosts.map(running)).toEqual(["4.4.17", "4.4.17"]);
    const summary = JSON.parse((await p.pulumiOk(["stack", "output", "summary", "--json"])).stdout);
    expect(summary).toEqual({ "emqx-1": "4.4.16 -> 4.4.17", "emqx-2": "4.4.16 -> 4.4.17" });
  });
});
