// A command-line driver that runs Pulumi operations on one stack through the Automation API with an
// INLINE program (no language host needed, docs/pulumi-dynamic-providers.md §6.1), streaming the engine's output as
// it comes and ending with one machine-readable line. It runs in its own process, never inside jest: the Pulumi
// runtime keeps global state per process, and an interrupted `up` must not take the test runner with it. Usage: `node
// dist/sandbox/stack-driver.js '<spec json>'` (or the spec on stdin). The jest side is sandbox/run-stack.ts.
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { OutputMap, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { CLEAN_OUTPUT, stripProgress } from "./engine-output";

/** Prefix of the final line: `STACK-DRIVER-RESULT {"ok":...,"results":[...]}`. */
export const RESULT_PREFIX = "STACK-DRIVER-RESULT ";
/** Printed before each operation: `STACK-DRIVER-OP up`. */
export const OP_PREFIX = "STACK-DRIVER-OP ";

/** What one operation does:
 * - `preview`, `preview-diff`: `pulumi preview` (the plan, with check refusals; `-diff` adds `--diff`)
 * - `up`, `up-diff`: `pulumi up --skip-preview` (the Automation API always skips the preview)
 * - `refresh`, `refresh-clear-pending`: `pulumi refresh` (the latter with `--clear-pending-creates`)
 * - `destroy`: `pulumi destroy` (runs the state's provider code, not the program's)
 * - `export`: `pulumi stack export` WITHOUT `--show-secrets`, i.e. the state as stored, to scan for
 *   leaked secrets (the Automation API's `exportStack` decrypts them, so it is not used)
 * - `outputs`: the stack outputs (secret values masked)
 * - `cancel`: `pulumi cancel --yes` (on the file backend it returns at once; interrupt with SIGINT instead) */
export type OpName =
  | "preview"
  | "preview-diff"
  | "up"
  | "up-diff"
  | "refresh"
  | "refresh-clear-pending"
  | "destroy"
  | "export"
  | "outputs"
  | "cancel";

/** One operation with its options; a bare OpName means the defaults. */
export interface OpSpec {
  op: OpName;
  /** `--parallel N`. @default spec.upOptions.parallel, else the engine's (4 x cores) */
  parallel?: number;
  /** `--expect-no-changes`: the op fails if anything would change. @default false */
  expectNoChanges?: boolean;
  /** `--target URN...` @default all resources */
  target?: string[];
  /** `--refresh` before preview/up/destroy. @default false */
  refresh?: boolean;
  /** preview: `--save-plan <file>` (the plan file, scanned for secrets); up: `--plan <file>`. @default none */
  planFile?: string;
}

/** The whole input of one driver run. */
export interface StackDriverSpec {
  /** The project dir: the driver's cwd and Pulumi.yaml `main`, so the dynamic-provider process runs
   * there and `require` in serialized provider code resolves this repo's node_modules
   * (docs/pulumi-dynamic-providers.md §2.1). */
  workDir: string;
  /** Where Pulumi.yaml and Pulumi.<stack>.yaml (config, encryption salt) are written. Keep it for
   * the stack's life. @default a `.pulumi-workspace` dir beside the backend, see run-stack.ts */
  workspaceDir: string;
  projectName: string;
  stackName: string;
  /** Absolute path of a compiled JS module. If it exports a function (`default`, `program`, or the
   * module itself) that function is the program; otherwise requiring it is the program (its
   * top-level code registers resources) and its other exports become the stack outputs. */
  programModule: string;
  /** The stack's whole config (keys without `:` get the project's namespace): keys set by an earlier
   * run and missing here are removed. Omit it to leave the stored config as it is. */
  config?: Record<string, { value: string; secret?: boolean }>;
  ops: Array<OpName | OpSpec>;
  /** Defaults applied to every preview/up/refresh/destroy. */
  upOptions?: { parallel?: number };
  /** Extra environment for the program, the CLI and the provider process. */
  env?: Record<string, string>;
  /** Run the remaining ops after one fails. @default false */
  continueOnError?: boolean;
}

/** What one operation produced. */
export interface OpResult {
  op: OpName;
  ok: boolean;
  durationMs: number;
  /** Resource changes by kind (`create`, `same`, `update`, `delete`, ...). Absent when the op failed. */
  summary?: Record<string, number>;
  /** Everything the engine printed on stdout / stderr during this op. */
  stdout: string;
  stderr: string;
  /** When `ok` is false: the failed command and the engine's `error:` lines (or the exception). */
  error?: string;
  /** The CLI's exit code when it failed. */
  exitCode?: number;
  /** True when a SIGINT/SIGTERM reached the driver during this op. */
  interrupted?: boolean;
  /** Stack outputs after `up` and `outputs`; secret values read "[secret]". */
  outputs?: Record<string, { value: unknown; secret: boolean }>;
  /** The state as stored (secrets encrypted), for `export`. */
  exported?: unknown;
}

/** The final line's payload. */
export interface StackDriverResult {
  ok: boolean;
  results: OpResult[];
  /** Set when the driver itself failed (bad spec, stack could not be created or selected). */
  error?: string;
}

/** The CLI returns output in chunks; this prints whole lines as soon as they are complete (without
 * progress-spinner text, should any come: see engine-output.ts). `text` keeps everything. */
class LineWriter {
  private partial = "";
  text = "";
  constructor(private readonly out: NodeJS.WriteStream) {}
  write(chunk: string): void {
    this.text += chunk;
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      const shown = stripProgress(line);
      if (shown !== undefined) this.out.write(`${shown}\n`);
    }
  }
  flush(): void {
    const shown = this.partial ? stripProgress(this.partial) : undefined;
    if (shown !== undefined) this.out.write(`${shown}\n`);
    this.partial = "";
  }
}

/** The inline program: a fresh `require` of the module on every run (each op is a new engine run). */
function programFrom(modulePath: string): PulumiFn {
  return async () => {
    const resolved = require.resolve(modulePath);
    delete require.cache[resolved];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(resolved);
    const fn = [mod, mod?.default, mod?.program].find((f) => typeof f === "function");
    if (fn) return await fn();
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(mod ?? {})) if (k !== "__esModule" && v !== undefined) outputs[k] = v;
    return outputs;
  };
}

function maskOutputs(outputs: OutputMap): Record<string, { value: unknown; secret: boolean }> {
  const masked: Record<string, { value: unknown; secret: boolean }> = {};
  for (const [k, v] of Object.entries(outputs))
    masked[k] = { value: v.secret ? "[secret]" : v.value, secret: !!v.secret };
  return masked;
}

/** `pulumi stack export` as stored: secrets stay ciphertext (no `--show-secrets`). */
function exportStored(spec: StackDriverSpec, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "pulumi",
      ["stack", "export", "--stack", spec.stackName, "--non-interactive"],
      { cwd: spec.workspaceDir, env, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`pulumi stack export failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** The CLI's exit code from an Automation API CommandError ("Command failed with exit code 1: ..."). */
function exitCodeOf(e: unknown): number | undefined {
  const m = /Command failed with exit code (\d+)/.exec(e instanceof Error ? e.message : String(e));
  return m ? Number(m[1]) : undefined;
}

/** A CommandError's message repeats the whole output twice; keep the failed command line and the
 * engine's `error:` diagnostics (the full output is in `stdout`/`stderr`). */
function shortError(e: unknown, output: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const command = /Command failed with exit code \d+: [^\n]*/.exec(message);
  if (!command) return e instanceof Error ? `${e.name}: ${message}` : message;
  const diagnostics = [
    ...new Set(
      output
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.startsWith("error:")),
    ),
  ];
  return [command[0], ...diagnostics.slice(0, 20)].join("\n");
}

/** Pids of this process's direct children (Linux /proc), for a second Ctrl-C. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Runs one operation on `stack`, streaming its output. Exported for its unit test. */
export async function runOp(
  stack: Stack,
  spec: StackDriverSpec,
  opSpec: OpSpec,
  abort: AbortSignal,
): Promise<OpResult> {
  const started = Date.now();
  const out = new LineWriter(process.stdout);
  const err = new LineWriter(process.stderr);
  const base = {
    onOutput: (s: string) => out.write(s),
    onError: (s: string) => err.write(s),
    signal: abort,
    parallel: opSpec.parallel ?? spec.upOptions?.parallel,
    target: opSpec.target,
    ...CLEAN_OUTPUT, // no colour codes, no `@ updating....` progress lines
  };
  const result: OpResult = { op: opSpec.op, ok: false, durationMs: 0, stdout: "", stderr: "" };
  process.stdout.write(`${OP_PREFIX}${opSpec.op}\n`);
  try {
    switch (opSpec.op) {
      case "preview":
      case "preview-diff": {
        const r = await stack.preview({
          ...base,
          diff: opSpec.op === "preview-diff",
          expectNoChanges: opSpec.expectNoChanges,
          refresh: opSpec.refresh,
          plan: opSpec.planFile,
        });
        result.summary = r.changeSummary as Record<string, number>;
        break;
      }
      case "up":
      case "up-diff": {
        const r = await stack.up({
          ...base,
          diff: opSpec.op === "up-diff",
          expectNoChanges: opSpec.expectNoChanges,
          refresh: opSpec.refresh,
          plan: opSpec.planFile,
        });
        result.summary = r.summary.resourceChanges as Record<string, number>;
        result.outputs = maskOutputs(r.outputs);
        break;
      }
      case "refresh":
      case "refresh-clear-pending": {
        const r = await stack.refresh({
          ...base,
          expectNoChanges: opSpec.expectNoChanges,
          clearPendingCreates: opSpec.op === "refresh-clear-pending",
        });
        result.summary = r.summary.resourceChanges as Record<string, number>;
        break;
      }
      case "destroy": {
        const r = await stack.destroy({ ...base, refresh: opSpec.refresh });
        result.summary = r.summary.resourceChanges as Record<string, number>;
        break;
      }
      case "export": {
        const text = await exportStored(spec, process.env);
        out.write(text);
        result.exported = JSON.parse(text);
        break;
      }
      case "outputs":
        result.outputs = maskOutputs(await stack.outputs());
        break;
      case "cancel":
        await stack.cancel();
        break;
      default:
        throw new Error(`unknown op '${String((opSpec as OpSpec).op)}'`);
    }
    result.ok = true;
  } catch (e) {
    result.exitCode = exitCodeOf(e);
    result.error = shortError(e, out.text + err.text);
  } finally {
    out.flush();
    err.flush();
  }
  result.stdout = out.text;
  result.stderr = err.text;
  result.durationMs = Date.now() - started;
  return result;
}

function readSpec(argv: string[]): StackDriverSpec {
  const text = argv[0] && argv[0] !== "-" ? argv[0] : fs.readFileSync(0, "utf8");
  const spec = JSON.parse(text) as StackDriverSpec;
  for (const key of ["workDir", "workspaceDir", "projectName", "stackName", "programModule"] as const) {
    if (typeof spec[key] !== "string" || !spec[key]) throw new Error(`stack-driver spec: '${key}' is required`);
  }
  if (!path.isAbsolute(spec.programModule))
    throw new Error(`stack-driver spec: programModule must be absolute, got '${spec.programModule}'`);
  if (!Array.isArray(spec.ops) || spec.ops.length === 0)
    throw new Error("stack-driver spec: 'ops' must be a non-empty list");
  return spec;
}

/** Makes the stack's config exactly `config`: sets every key and removes keys a previous run set
 * that this spec does not name (so a test can drop, say, a refused input again). */
async function replaceConfig(
  stack: Stack,
  projectName: string,
  config: NonNullable<StackDriverSpec["config"]>,
): Promise<void> {
  const qualify = (k: string) => (k.includes(":") ? k : `${projectName}:${k}`);
  const wanted = new Set(Object.keys(config).map(qualify));
  const stale = Object.keys(await stack.getAllConfig()).filter((k) => !wanted.has(k));
  if (stale.length > 0) await stack.removeAllConfig(stale);
  if (wanted.size > 0) {
    await stack.setAllConfig(
      Object.fromEntries(Object.entries(config).map(([k, v]) => [qualify(k), { value: v.value, secret: !!v.secret }])),
    );
  }
}

/** Runs the spec's ops in order; resolves with every op's result. */
export async function runSpec(spec: StackDriverSpec): Promise<StackDriverResult> {
  Object.assign(process.env, spec.env ?? {});
  process.chdir(spec.workDir);
  fs.mkdirSync(spec.workspaceDir, { recursive: true });
  // Loaded here, not at the top: importing the types above must not start the Pulumi runtime.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LocalWorkspace } = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");

  let interrupts = 0;
  let current: AbortController | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupts += 1;
    interrupted = true;
    process.stderr.write(`stack-driver: interrupt ${interrupts} received, forwarding SIGINT to the engine\n`);
    // First: the Automation API sends SIGINT to `pulumi` (it cancels: in-flight steps finish).
    // Again: SIGINT the CLI once more, which makes it terminate at once (docs/pulumi-dynamic-providers.md §5).
    if (interrupts === 1 && current) current.abort();
    else
      for (const pid of childPids())
        try {
          process.kill(pid, "SIGINT");
        } catch {
          /* gone */
        }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const stack = await LocalWorkspace.createOrSelectStack(
    { projectName: spec.projectName, stackName: spec.stackName, program: programFrom(spec.programModule) },
    {
      workDir: spec.workspaceDir,
      projectSettings: { name: spec.projectName, runtime: "nodejs", main: spec.workDir },
      envVars: { ...(spec.env ?? {}) },
    },
  );
  if (spec.config) await replaceConfig(stack, spec.projectName, spec.config);

  const results: OpResult[] = [];
  for (const raw of spec.ops) {
    if (interrupted) break;
    const opSpec: OpSpec = typeof raw === "string" ? { op: raw } : raw;
    current = new AbortController();
    const r = await runOp(stack, spec, opSpec, current.signal);
    if (interrupted) r.interrupted = true;
    results.push(r);
    if (!r.ok && !spec.continueOnError) break;
  }
  return { ok: results.length === spec.ops.length && results.every((r) => r.ok), results };
}

/** When the process that started the driver dies (a test runner killed with Ctrl-C: its exit
 * handlers do not run inside jest workers), the driver is reparented. It then kills its own process
 * group (itself, the CLI, the provider) instead of running on, orphaned, with nobody reading it. */
function exitWhenOrphaned(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid === parent) return;
    process.stderr.write(`stack-driver: parent ${parent} is gone; killing the engine and exiting\n`);
    try {
      process.kill(-process.pid, "SIGKILL"); // the group, when runStack started it detached
    } catch {
      process.exit(3);
    }
    process.exit(3);
  }, 1000).unref();
}

async function main(): Promise<void> {
  exitWhenOrphaned();
  let result: StackDriverResult;
  let exitCode: number;
  try {
    result = await runSpec(readSpec(process.argv.slice(2)));
    exitCode = result.ok ? 0 : 1;
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    process.stderr.write(`stack-driver: ${message}\n`);
    result = { ok: false, results: [], error: message };
    exitCode = 2;
  }
  // Exit explicitly once the line is out: the Pulumi runtime may keep handles open.
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`, () => process.exit(exitCode));
}

if (require.main === module) {
  void main();
}
