// The two demos a user runs first (`npm run demo`, `npm run demo:fleet`), run as the user runs them:
// the compiled sandbox/demo.js and sandbox/fleet-demo.js in a child process, on the EMQX CLI
// emulator (EMQX_DEMO_MODE=emulator, no Erlang needed), the real engine and real sshd hosts.
// Each test checks what the demo prints at its end: every node's `emqx versions` (demo) and the
// fleet's `summary` output (demo:fleet).
import { spawn } from "child_process";
import { ensureEngine, REPO_ROOT } from "../../sandbox/engine";
import { compiledPath } from "../../sandbox/run-stack";
import { stripProgress } from "../../sandbox/engine-output";

jest.setTimeout(15 * 60 * 1000);

/** Runs a compiled demo to its end: exit code and everything it printed. */
function runDemo(
  tsPath: string,
  env: NodeJS.ProcessEnv,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const js = compiledPath(tsPath);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [js], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

/** The text between `=== <title> ===` and the next banner. */
function section(stdout: string, title: string): string {
  const start = stdout.indexOf(`=== ${title} ===`);
  if (start < 0) throw new Error(`the demo printed no "${title}" section:\n${stdout.slice(-3000)}`);
  const body = stdout.slice(stdout.indexOf("\n", start) + 1);
  const next = body.search(/^=== /m);
  return next < 0 ? body : body.slice(0, next);
}

beforeAll(() => {
  ensureEngine();
});

test("npm run demo (emulator mode): adopts three 4.4.0 nodes, previews and upgrades them, each node then lists 4.4.16 permanent", async () => {
  const r = await runDemo("sandbox/demo.ts", { EMQX_DEMO_MODE: "emulator" });
  expect({ exitCode: r.exitCode, stderr: r.exitCode === 0 ? "" : r.stderr.slice(-3000) }).toEqual({
    exitCode: 0,
    stderr: "",
  });
  expect(r.stdout).toContain(
    "sandbox: three EMQX 4.4.0 nodes (the EMQX CLI emulator) behind real sshd on loopback (EMQX_DEMO_MODE=emulator)",
  );
  // The CLI itself, run in a copy of examples/sandbox: the commands as typed, then the CLI's own output.
  const preview = section(r.stdout, "pulumi preview --diff, declaring 4.4.16 (the upgrade plan)");
  expect(preview).toContain("$ pulumi preview --diff --color never --suppress-progress\nPreviewing update (demo)");
  expect(preview).toMatch(/version\s*:\s*"4\.4\.0" => "4\.4\.16"/);
  const up = section(r.stdout, "pulumi up");
  expect(up).toContain("$ pulumi up --yes --color never --suppress-progress\nPreviewing update (demo)");
  // No progress spinner (`@ updating....`) anywhere in the demo's output: it reads cleanly in a log.
  expect(r.stdout.split("\n").filter((l) => stripProgress(l) !== l)).toEqual([]);
  expect(up).toMatch(/Updating \(demo\)[\s\S]*~ 3 updated/);
  // Each node: one `--- <address>` header, then its `emqx versions`.
  const nodes = section(r.stdout, "emqx versions on each node").split(/^--- /m).slice(1);
  expect(nodes.map((n) => n.split("\n")[0])).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
  for (const n of nodes) {
    expect(n).toMatch(/^\*\s+4\.4\.16\s+permanent$/m);
    expect(n).toMatch(/^\*\s+4\.4\.0\s+old$/m);
  }
});

test("npm run demo:fleet: the rollout's summary lists every node of both clusters as 4.4.0 -> 4.4.16", async () => {
  const r = await runDemo("sandbox/fleet-demo.ts", {});
  expect({ exitCode: r.exitCode, stderr: r.exitCode === 0 ? "" : r.stderr.slice(-3000) }).toEqual({
    exitCode: 0,
    stderr: "",
  });
  expect(section(r.stdout, "pulumi up")).toMatch(/batch 1 of 3 done, every host healthy/);
  expect(JSON.parse(section(r.stdout, "summary (stack output)"))).toEqual({
    "emqx-1": "4.4.0 -> 4.4.16",
    "emqx-2": "4.4.0 -> 4.4.16",
    "emqx-3": "4.4.0 -> 4.4.16",
    "emqx-4": "4.4.0 -> 4.4.16",
  });
});
