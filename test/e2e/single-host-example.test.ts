// examples/single-host deployed as a user deploys it: the library packed with `npm pack` and
// installed into a fresh project's node_modules, the compiled example program beside it (it imports
// `pulumi-emqx-release` by its package name), the real pulumi CLI and a file backend, against one
// test host, a real sshd on 127.0.0.5 in front of the EMQX CLI emulator running 4.4.0.
// The tests share one stack and run in order: preview, up, destroy.
import * as fs from "fs";
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { installPackedLibrary, type InstalledProject } from "../support/installed-package";
import { compiledPath, newStackDir, runStack, type OpName, type RunStackResult, type StackDirs } from "../../sandbox/run-stack";
import { packageShelf, startTestHost, type TestHost } from "../../sandbox/test-host";

const TIMEOUT_MS = 5 * 60 * 1000;
// jest reads `testTimeout` from the global config only; the e2e project's own value is ignored.
jest.setTimeout(10 * 60 * 1000);
const FROM = "4.4.0";
const TARGET = "4.4.16";

describe("examples/single-host upgrades one node over SSH", () => {
  let dirs: StackDirs;
  let host: TestHost;
  let shelfDir: string;
  let project: InstalledProject;
  let config: Record<string, { value: string; secret?: boolean }>;

  beforeAll(async () => {
    ensureEngine(); // throws (the suite fails) when no CLI can be found or built
    project = installPackedLibrary(compiledPath("examples/single-host/index.ts"), "single-host");
    dirs = newStackDir("single-host");
    host = await startTestHost({ version: FROM }, "127.0.0.5");
    const shelf = packageShelf();
    shelfDir = shelf.dir;
    config = {
      host: { value: host.connection.host },
      port: { value: String(host.connection.port) },
      hostKey: { value: host.connection.hostKey },
      privateKey: { value: host.connection.privateKey, secret: true },
      version: { value: TARGET },
      packagePath: { value: await shelf.build({ version: TARGET }) },
      emqxPath: { value: host.emqxPath },
    };
  });

  afterAll(async () => {
    await host?.stop();
    dirs?.cleanup();
    project?.cleanup();
    if (shelfDir) fs.rmSync(shelfDir, { recursive: true, force: true });
  });

  const run = (ops: OpName[]): Promise<RunStackResult> =>
    runStack({ projectName: "emqx-single-host", stackName: "e2e", programModule: project.programModule, workDir: project.dir, config, ops }, { dirs, timeoutMs: TIMEOUT_MS });

  test("the program loads the library from the project's node_modules, not from this repo", () => {
    const resolved = require.resolve("pulumi-emqx-release", { paths: [project.dir] });
    expect(resolved).toBe(fs.realpathSync(`${project.dir}/node_modules/pulumi-emqx-release/dist/provider/index.js`));
  });

  test("preview --diff plans the release with the key kept secret, and touches nothing on the node", async () => {
    const before = host.fingerprint();
    const res = await run(["preview-diff"]);
    expect(res.results[0]).toMatchObject({ op: "preview-diff", ok: true, summary: { create: 2 } });
    expect(res.stdout).toContain("+ pulumi-nodejs:dynamic/emqx:EmqxRelease: (create)");
    expect(res.stdout).toMatch(/version\s*: "4\.4\.16"/);
    expect(res.stdout).toMatch(/privateKey\s*: \[secret\]/);
    expect(host.fingerprint()).toBe(before);
  });

  test("up upgrades the node from 4.4.0 to 4.4.16 and makes 4.4.16 permanent", async () => {
    const res = await run(["up"]);
    expect(res.results[0]).toMatchObject({ op: "up", ok: true, summary: { create: 2 } });
    expect(res.results[0].outputs?.currentVersion).toEqual({ value: TARGET, secret: false });
    expect(emulatorVersions(host.root)).toEqual([
      { version: TARGET, status: "permanent" },
      { version: FROM, status: "old" },
    ]);
    expect(host.calls().map((c) => c.argv.join(" "))).toContain(`upgrade ${TARGET}`);
  });

  test("destroy removes the release from the stack and leaves the running broker as it is", async () => {
    const res = await run(["destroy"]);
    expect(res.results[0]).toMatchObject({ op: "destroy", ok: true, summary: { delete: 2 } });
    expect(res.stdout).toContain(`${TARGET} is the permanent release`);
    expect(emulatorVersions(host.root)).toEqual([
      { version: TARGET, status: "permanent" },
      { version: FROM, status: "old" },
    ]);
  });
});
