// The jest side of the stack driver: runs `node dist/sandbox/stack-driver.js` in a child
// process with the offline environment, relays its lines, and parses its final result line.
// The driver must run compiled (the Pulumi runtime serializes compiled JS and keeps global state),
// so a missing or stale dist/ is an error that says to run `npm run build`.
import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { offlineEnv, REPO_ROOT } from "./engine";
import { OP_PREFIX, RESULT_PREFIX, type OpResult, type StackDriverResult, type StackDriverSpec } from "./stack-driver";

export type { OpName, OpResult, OpSpec, StackDriverResult, StackDriverSpec } from "./stack-driver";

/** Compiled driver; `npm run build` puts it there. */
export const DRIVER_JS = path.join(REPO_ROOT, "dist", "sandbox", "stack-driver.js");

/** One stack's private directories: file backend, PULUMI_HOME and workspace (Pulumi*.yaml). */
export interface StackDirs {
  root: string;
  backendDir: string;
  pulumiHome: string;
  workspaceDir: string;
  passphrase: string;
  /** Removes `root` (kept when EMQX_E2E_KEEP_DIRS is set, for post-mortems). */
  cleanup(): void;
}

/** Fresh temp dirs for one stack (or several stacks sharing a backend). */
export function newStackDir(label = "stack"): StackDirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `emqx-e2e-${label}-`));
  const dirs = {
    root,
    backendDir: path.join(root, "backend"),
    pulumiHome: path.join(root, "pulumi-home"),
    workspaceDir: path.join(root, "workspace"),
    passphrase: randomBytes(12).toString("hex"),
    cleanup: () => {
      if (!process.env.EMQX_E2E_KEEP_DIRS) fs.rmSync(root, { recursive: true, force: true });
    },
  };
  for (const d of [dirs.backendDir, dirs.pulumiHome, dirs.workspaceDir]) fs.mkdirSync(d, { recursive: true });
  return dirs;
}

/** The compiled JS files `jsPath` requires by relative path, itself included, followed
 * recursively (tsc keeps `require("./x")` as written, so a regex over the output finds them). */
function localClosure(jsPath: string, seen = new Set<string>()): Set<string> {
  if (seen.has(jsPath) || !fs.existsSync(jsPath)) return seen;
  seen.add(jsPath);
  const text = fs.readFileSync(jsPath, "utf8");
  for (const m of text.matchAll(/require\("(\.{1,2}\/[^"]*)"\)/g)) {
    const base = path.resolve(path.dirname(jsPath), m[1]);
    const dep = [`${base}.js`, path.join(base, "index.js"), base].find(
      (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
    );
    if (dep) localClosure(dep, seen);
  }
  return seen;
}

/** Throws unless `jsPath` exists and it and every local module it requires are newer than their
 * .ts sources. Only what the program loads is checked, so unrelated files mid-edit do not matter. */
function assertFresh(jsPath: string): void {
  const hint = "run 'npm run build' first (the e2e tests run compiled JS from dist/)";
  if (!fs.existsSync(jsPath)) throw new Error(`${path.relative(REPO_ROOT, jsPath)} does not exist: ${hint}`);
  const distDir = path.join(REPO_ROOT, "dist");
  for (const js of localClosure(jsPath)) {
    const rel = path.relative(distDir, js);
    if (rel.startsWith("..")) continue;
    const ts = path.join(REPO_ROOT, rel.replace(/\.js$/, ".ts"));
    if (fs.existsSync(ts) && fs.statSync(ts).mtimeMs > fs.statSync(js).mtimeMs) {
      throw new Error(`${path.relative(REPO_ROOT, js)} is older than ${path.relative(REPO_ROOT, ts)}: ${hint}`);
    }
  }
}

/** Absolute path of the compiled JS of a repo .ts file (`test/e2e/fixtures/x.ts` ->
 * `<repo>/dist/test/e2e/fixtures/x.js`), checked to exist and be up to date. */
export function compiledPath(tsPath: string): string {
  const rel = path.relative(REPO_ROOT, path.resolve(REPO_ROOT, tsPath));
  const js = path.join(REPO_ROOT, "dist", rel.replace(/\.ts$/, ".js"));
  assertFresh(js);
  return js;
}

/** A spec for `runStack`: `workDir` defaults to the repo root, `workspaceDir` to `dirs.workspaceDir`. */
export type RunStackSpec = Omit<StackDriverSpec, "workDir" | "workspaceDir"> &
  Partial<Pick<StackDriverSpec, "workDir" | "workspaceDir">>;

/** Lets a line handler act on the running driver. */
export interface DriverControl {
  /** SIGINT to the driver, which forwards it to the engine (a second call terminates the engine). */
  interrupt(): void;
  pid: number;
}

export interface RunStackOptions {
  dirs: StackDirs;
  /** The driver's process group is killed after this long and runStack rejects. */
  timeoutMs: number;
  /** Called with every line the driver prints (engine output, `STACK-DRIVER-OP <op>` markers). */
  onLine?: (line: string, stream: "stdout" | "stderr", driver: DriverControl) => void;
  /** Echo the driver's output to this process's stderr as it comes (also with EMQX_E2E_VERBOSE),
   * each line prefixed with its stream; `"plain"`: the engine's lines as they are, on stdout (the demo). @default false */
  echo?: boolean | "plain";
}

export interface RunStackResult {
  /** The driver's exit code: 0 all ops ok, 1 an op failed, 2 the driver itself failed. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The driver's output, without the final result line. */
  stdout: string;
  stderr: string;
  results: OpResult[];
  driver: StackDriverResult;
}

const live = new Set<number>();
process.once("exit", () => {
  for (const pid of live)
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
});

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs the spec's ops in a driver child process; resolves when it exits (whatever the ops' outcome,
 * see `results[i].ok`), rejects on timeout or when the driver printed no result line. */
export function runStack(spec: RunStackSpec, opts: RunStackOptions): Promise<RunStackResult> {
  assertFresh(DRIVER_JS);
  const full: StackDriverSpec = {
    ...spec,
    workDir: spec.workDir ?? REPO_ROOT,
    workspaceDir: spec.workspaceDir ?? opts.dirs.workspaceDir,
  };
  const env = { ...process.env, ...offlineEnv(opts.dirs), ...(spec.env ?? {}) };
  const echo = opts.echo || !!process.env.EMQX_E2E_VERBOSE;
  return new Promise((resolve, reject) => {
    // detached: own process group, so a timeout can kill the CLI and provider processes too.
    const child = spawn(process.execPath, [DRIVER_JS, "-"], {
      cwd: full.workDir,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid ?? -1;
    live.add(pid);
    const control: DriverControl = {
      pid,
      interrupt: () => {
        try {
          child.kill("SIGINT");
        } catch {
          /* gone */
        }
      },
    };
    let stdout = "";
    let stderr = "";
    const relay = (stream: "stdout" | "stderr") => {
      let partial = "";
      return (chunk: Buffer) => {
        const text = chunk.toString("utf8");
        if (stream === "stdout") stdout += text;
        else stderr += text;
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (opts.echo === "plain") {
            if (!line.startsWith(RESULT_PREFIX) && !line.startsWith(OP_PREFIX)) process.stdout.write(`${line}\n`);
          } else if (echo && !line.startsWith(RESULT_PREFIX)) process.stderr.write(`[driver ${stream}] ${line}\n`);
          opts.onLine?.(line, stream, control);
        }
      };
    };
    child.stdout.on("data", relay("stdout"));
    child.stderr.on("data", relay("stderr"));
    child.stdin.end(JSON.stringify(full));
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
      reject(
        new Error(
          `stack driver timed out after ${opts.timeoutMs} ms (ops ${JSON.stringify(full.ops)}); last output:\n${tail(stdout)}\n--- stderr:\n${tail(stderr)}`,
        ),
      );
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      live.delete(pid);
      reject(e);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      live.delete(pid);
      const lines = stdout.split("\n");
      const resultLine = lines.find((l) => l.startsWith(RESULT_PREFIX));
      if (!resultLine) {
        reject(
          new Error(
            `stack driver exited (code ${exitCode}, signal ${signal}) without a result line; last output:\n${tail(stdout)}\n--- stderr:\n${tail(stderr)}`,
          ),
        );
        return;
      }
      const driver = JSON.parse(resultLine.slice(RESULT_PREFIX.length)) as StackDriverResult;
      resolve({
        exitCode,
        signal,
        stdout: lines.filter((l) => l !== resultLine).join("\n"),
        stderr,
        results: driver.results,
        driver,
      });
    });
  });
}
