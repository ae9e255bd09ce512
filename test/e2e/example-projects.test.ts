// examples/single-host, examples/fleet and examples/sandbox deployed as a user deploys them: each
// example directory copied as it is, its package.json satisfied by the library's `npm pack` tarball
// of this commit and @pulumi/pulumi from the registry, its index.ts compiled by Pulumi's Node
// language host, config set with `pulumi config set` as the example's own comments say (the key
// with --secret), then `pulumi preview --diff`, `up`, `refresh` and `destroy` by the real CLI in
// the project directory. Three test hosts (real sshd in front of the EMQX CLI emulator) serve all
// three examples in turn, each example taking them one patch version further.
import * as fs from "fs";
import * as path from "path";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { newCliProject, packLibrary, type CliProject, type PackedLibrary } from "../../sandbox/cli-project";
import { resourceCounts, setFleetConfig, setSecretFromFile } from "../../sandbox/cli-output";
import { filesUnder, keySlices, scanForSecrets, withJsonEscaped } from "../support/secret-scan";
import { packageShelf, shareClientKey, startTestHost, type TestHost } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);

const hosts: TestHost[] = [];
const packages: Record<string, string> = {};
let shelfDir: string;
let lib: PackedLibrary;

beforeAll(async () => {
  lib = packLibrary();
  for (const a of ["127.0.0.81", "127.0.0.82", "127.0.0.83"]) hosts.push(await startTestHost({ version: "4.4.0" }, a));
  shareClientKey(hosts);
  const shelf = packageShelf();
  shelfDir = shelf.dir;
  for (const v of ["4.4.16", "4.4.17", "4.4.18"]) packages[v] = await shelf.build({ version: v });
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  if (shelfDir) fs.rmSync(shelfDir, { recursive: true, force: true });
});

const running = (h: TestHost) => emulatorVersions(h.root).find((r) => r.status === "permanent")?.version;
const untouched = () => hosts.map((h) => `${h.fingerprint()} ssh=${h.sshd.connectionCount()}`);

/** No slice of the deploy key in anything the CLI printed, nor in any file of the backend,
 * PULUMI_HOME or the project (Pulumi.<stack>.yaml holds it encrypted). */
function expectNoKeyLeak(p: CliProject): void {
  const needles = keySlices(hosts[0].connection.privateKey).flatMap((s, i) =>
    withJsonEscaped(`privateKey slice ${i}`, s),
  );
  const printed = p.runs.flatMap((r, i) => [
    { source: `run ${i} (pulumi ${r.args.join(" ")}) stdout`, text: r.stdout },
    { source: `run ${i} stderr`, text: r.stderr },
  ]);
  expect(scanForSecrets([...printed, ...filesUnder(p.dirs.root)], needles)).toEqual([]);
}

/** The stack's outputs as `pulumi stack output --json` prints them. */
async function outputs(p: CliProject): Promise<Record<string, unknown>> {
  return JSON.parse((await p.pulumiOk(["stack", "output", "--json"])).stdout);
}

describe("examples/single-host as a project", () => {
  let p: CliProject;
  beforeAll(async () => {
    p = newCliProject("single-host", lib);
    const h = hosts[0];
    await p.pulumiOk(["stack", "init", "e2e"]);
    // The example's own comment: pulumi config set --secret privateKey < ~/.ssh/id_ed25519
    await setSecretFromFile(p, "privateKey", h.connection.privateKey);
    for (const [k, v] of Object.entries({
      host: h.connection.host,
      port: String(h.connection.port),
      hostKey: h.connection.hostKey,
      packagePath: packages["4.4.16"],
      emqxPath: h.emqxPath,
    })) {
      await p.pulumiOk(["config", "set", k, v]);
    }
  });
  afterAll(() => p?.cleanup());

  test("the project loads the library from its node_modules, installed from the packed tarball", () => {
    const installed = JSON.parse(
      fs.readFileSync(path.join(p.dir, "node_modules", "pulumi-emqx-release", "package.json"), "utf8"),
    );
    expect(installed.version).toBe(lib.version);
    expect(
      fs.existsSync(path.join(p.dir, "node_modules", "pulumi-emqx-release", "dist", "provider", "index.d.ts")),
    ).toBe(true);
    // The example as committed: no compiled JS next to index.ts, so the language host compiled it.
    expect(fs.readdirSync(p.dir).filter((f) => f.endsWith(".js"))).toEqual([]);
  });

  test("pulumi preview --diff plans the release with the key shown as [secret], touching nothing", async () => {
    const before = untouched();
    const r = await p.pulumiOk(["preview", "--diff"]);
    expect(resourceCounts(r.stdout)).toMatchObject({ create: 2 });
    expect(r.stdout).toContain("+ pulumi-nodejs:dynamic/emqx:EmqxRelease: (create)");
    expect(r.stdout).toMatch(/version\s*: "4\.4\.16"/);
    expect(r.stdout).toMatch(/privateKey\s*: \[secret\]/);
    expect(untouched()).toEqual(before);
  });

  test("pulumi up upgrades the node from 4.4.0 to 4.4.16", async () => {
    const r = await p.pulumiOk(["up", "--yes"]);
    expect(resourceCounts(r.stdout)).toMatchObject({ create: 2 });
    expect(running(hosts[0])).toBe("4.4.16");
    expect(hosts[0].calls().map((c) => c.argv.join(" "))).toContain("upgrade 4.4.16");
    expect(await outputs(p)).toMatchObject({ currentVersion: "4.4.16" });
  });

  test("pulumi refresh reads the node and finds what up left", async () => {
    const r = await p.pulumiOk(["refresh", "--yes", "--expect-no-changes"]);
    expect(resourceCounts(r.stdout)).toMatchObject({ same: 2 });
  });

  test("pulumi destroy removes the release from the stack and leaves the broker running 4.4.16", async () => {
    const r = await p.pulumiOk(["destroy", "--yes"]);
    expect(resourceCounts(r.stdout)).toMatchObject({ delete: 2 });
    expect(r.stdout).toContain("4.4.16 is the permanent release");
    expect(running(hosts[0])).toBe("4.4.16");
    expectNoKeyLeak(p);
  });
});

describe("examples/fleet as a project", () => {
  let p: CliProject;
  beforeAll(async () => {
    p = newCliProject("fleet", lib);
    await p.pulumiOk(["stack", "init", "e2e"]);
    await setFleetConfig(p, hosts, "4.4.17", packages["4.4.17"], { cluster: "prod-a" });
  });
  afterAll(() => p?.cleanup());

  test("pulumi preview --diff plans a canary and two batches behind gates, touching nothing", async () => {
    const before = untouched();
    const r = await p.pulumiOk(["preview", "--diff"]);
    // The stack, the fleet, three nodes and a gate after each of the three batches.
    expect(resourceCounts(r.stdout)).toEqual({ create: 8 });
    expect(r.stdout.match(/\+ pulumi-nodejs:dynamic\/emqx:EmqxRelease: \(create\)/g)).toHaveLength(3);
    expect(r.stdout.match(/\+ pulumi-nodejs:dynamic\/emqx:EmqxRolloutGate: \(create\)/g)).toHaveLength(3);
    expect(r.stdout).toMatch(/privateKey\s*: \[secret\]/);
    expect(untouched()).toEqual(before);
  });

  test("pulumi up rolls 4.4.17 out to every node: one from 4.4.16, two from 4.4.0", async () => {
    await p.pulumiOk(["up", "--yes"]);
    expect(hosts.map(running)).toEqual(["4.4.17", "4.4.17", "4.4.17"]);
    const out = await outputs(p);
    expect(out.summary).toEqual({
      "emqx-1": "4.4.16 -> 4.4.17",
      "emqx-2": "4.4.0 -> 4.4.17",
      "emqx-3": "4.4.0 -> 4.4.17",
    });
    expect(out.plan).toMatchObject({
      "emqx-1": { batch: 1, cluster: "prod-a" },
      "emqx-2": { batch: 2 },
      "emqx-3": { batch: 3 },
    });
  });

  test("pulumi refresh finds every node as up left it", async () => {
    await p.pulumiOk(["refresh", "--yes", "--expect-no-changes"]);
  });

  test("pulumi destroy empties the stack and leaves every node running 4.4.17", async () => {
    const r = await p.pulumiOk(["destroy", "--yes"]);
    expect(resourceCounts(r.stdout)).toEqual({ delete: 8 });
    expect(hosts.map(running)).toEqual(["4.4.17", "4.4.17", "4.4.17"]);
    expectNoKeyLeak(p);
  });
});

describe("examples/sandbox (the demo's program) as a project", () => {
  let p: CliProject;
  beforeAll(async () => {
    p = newCliProject("sandbox", lib);
    await p.pulumiOk(["stack", "init", "e2e"]);
    await setFleetConfig(p, hosts, "4.4.18", packages["4.4.18"]);
  });
  afterAll(() => p?.cleanup());

  test("pulumi preview --diff plans the three nodes one after the other", async () => {
    const before = untouched();
    const r = await p.pulumiOk(["preview", "--diff"]);
    expect(resourceCounts(r.stdout)).toEqual({ create: 4 });
    expect(untouched()).toEqual(before);
  });

  test("pulumi up upgrades the nodes one at a time to 4.4.18", async () => {
    await p.pulumiOk(["up", "--yes"]);
    expect(hosts.map(running)).toEqual(["4.4.18", "4.4.18", "4.4.18"]);
    // One at a time: each node's upgrade command ran after the previous node's.
    const upgradeAt = hosts.map((h) =>
      h
        .calls()
        .filter((c) => c.argv.join(" ") === "upgrade 4.4.18")
        .map((c) => c.ts),
    );
    expect(upgradeAt.map((a) => a.length)).toEqual([1, 1, 1]);
    expect(upgradeAt[0][0] <= upgradeAt[1][0] && upgradeAt[1][0] <= upgradeAt[2][0]).toBe(true);
    expect(await outputs(p)).toMatchObject({ versions: ["4.4.18", "4.4.18", "4.4.18"] });
  });

  test("pulumi refresh, then pulumi destroy", async () => {
    await p.pulumiOk(["refresh", "--yes", "--expect-no-changes"]);
    const r = await p.pulumiOk(["destroy", "--yes"]);
    expect(resourceCounts(r.stdout)).toEqual({ delete: 4 });
    expect(hosts.map(running)).toEqual(["4.4.18", "4.4.18", "4.4.18"]);
    expectNoKeyLeak(p);
  });
});
