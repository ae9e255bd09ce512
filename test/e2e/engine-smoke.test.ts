// The engine path every other e2e test relies on, proved with a trivial dynamic resource
// (test/e2e/fixtures/trivial-program.ts): the real pulumi CLI, a file backend, an inline program
// run by the stack driver in a child process, and the pulumi-nodejs dynamic provider.
// The tests share one stack and run in order: preview, refused preview, up, no-op up, refresh,
// destroy, then the secret scan over everything the engine printed and stored.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureEngine } from "../../sandbox/engine";
import {
  compiledPath,
  newStackDir,
  runStack,
  type OpName,
  type OpSpec,
  type RunStackResult,
  type StackDirs,
} from "../../sandbox/run-stack";
import { BAD_INPUT_REASON, markerContent } from "./fixtures/trivial-program";

const TIMEOUT_MS = 5 * 60 * 1000;
// jest reads `testTimeout` from the global config only; the e2e project's own value is ignored.
jest.setTimeout(10 * 60 * 1000);
const SECRET = `smoke-secret-${randomBytes(8).toString("hex")}`;

describe("the pulumi engine drives a dynamic resource offline", () => {
  let dirs: StackDirs;
  let markerDir: string;
  let markerFile: string;
  let programModule: string;
  /** Every byte the driver printed, for the secret scan at the end. */
  const transcript: string[] = [];

  beforeAll(() => {
    ensureEngine(); // throws (the suite fails) when no CLI can be found or built
    programModule = compiledPath("test/e2e/fixtures/trivial-program.ts");
    dirs = newStackDir("smoke");
    markerDir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-e2e-marker-"));
    markerFile = path.join(markerDir, "marker.marker");
  });

  afterAll(() => {
    dirs?.cleanup();
    if (markerDir) fs.rmSync(markerDir, { recursive: true, force: true });
  });

  async function run(ops: Array<OpName | OpSpec>, extraConfig: Record<string, string> = {}): Promise<RunStackResult> {
    const config: Record<string, { value: string; secret?: boolean }> = {
      dir: { value: markerDir },
      token: { value: SECRET, secret: true },
    };
    for (const [k, v] of Object.entries(extraConfig)) config[k] = { value: v };
    const res = await runStack(
      { projectName: "engine-smoke", stackName: "smoke", programModule, config, ops },
      { dirs, timeoutMs: TIMEOUT_MS },
    );
    transcript.push(res.stdout, res.stderr);
    return res;
  }

  test("preview --diff plans the create and touches nothing", async () => {
    const res = await run(["preview-diff"]);
    expect(res.results[0]).toMatchObject({ op: "preview-diff", ok: true, summary: { create: 2 } });
    expect(res.stdout).toContain("+ pulumi-nodejs:dynamic/e2e:Marker: (create)");
    expect(res.stdout).toMatch(/token\s*: \[secret\]/);
    expect(fs.existsSync(markerFile)).toBe(false);
  });

  test("fails the preview with the provider's check reason and creates nothing", async () => {
    const res = await run(["preview"], { bad: "yes" });
    expect(res.exitCode).toBe(1);
    expect(res.results[0]).toMatchObject({ op: "preview", ok: false, exitCode: 1 });
    expect(res.results[0].error).toContain(
      `pulumi-nodejs:dynamic/e2e:Marker resource 'marker': property bad value {yes} has a problem: ${BAD_INPUT_REASON}`,
    );
    expect(res.stdout).toContain(BAD_INPUT_REASON);
    expect(fs.existsSync(markerFile)).toBe(false);
  });

  test("up creates the marker with the secret reaching the provider in clear", async () => {
    const res = await run(["up"]);
    expect(res.results[0]).toMatchObject({ op: "up", ok: true, summary: { create: 2 } });
    expect(res.results[0].outputs).toEqual({
      file: { value: markerFile, secret: false },
      token: { value: "[secret]", secret: true },
    });
    expect(fs.readFileSync(markerFile, "utf8")).toBe(markerContent(SECRET));
  });

  test("a second up changes nothing", async () => {
    const res = await run([{ op: "up", expectNoChanges: true }]);
    expect(res.results[0]).toMatchObject({ ok: true, summary: { same: 2 } });
    expect(res.results[0].summary).not.toHaveProperty("create");
    expect(res.results[0].summary).not.toHaveProperty("update");
  });

  test("state keeps the secret encrypted", async () => {
    const res = await run(["export"]);
    expect(res.results[0].ok).toBe(true);
    const state = JSON.stringify(res.results[0].exported);
    expect(state).toContain("pulumi-nodejs:dynamic/e2e:Marker");
    expect(state).toContain("ciphertext");
    expect(state).not.toContain(SECRET);
  });

  test("refresh keeps a marker that exists and drops one deleted behind the engine's back", async () => {
    const kept = await run(["refresh"]);
    expect(kept.results[0]).toMatchObject({ op: "refresh", ok: true, summary: { same: 2 } });

    fs.rmSync(markerFile);
    const dropped = await run(["refresh", "preview"]);
    expect(dropped.results[0]).toMatchObject({ op: "refresh", ok: true, summary: { same: 1, delete: 1 } });
    expect(dropped.results[1]).toMatchObject({ op: "preview", ok: true, summary: { create: 1 } });

    const recreated = await run(["up"]);
    expect(recreated.results[0]).toMatchObject({ ok: true, summary: { create: 1, same: 1 } });
    expect(fs.existsSync(markerFile)).toBe(true);
  });

  test("destroy deletes the marker", async () => {
    const res = await run(["destroy"]);
    expect(res.results[0]).toMatchObject({ op: "destroy", ok: true, summary: { delete: 2 } });
    expect(fs.existsSync(markerFile)).toBe(false);
  });

  test("the secret never appears in clear in anything the engine printed", () => {
    expect(transcript.length).toBeGreaterThanOrEqual(14);
    const all = transcript.join("\n");
    expect(all).toContain("[secret]");
    expect(all).not.toContain(SECRET);
  });
});
