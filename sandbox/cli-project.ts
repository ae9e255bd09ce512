// A Pulumi project as a user has it, driven by the real `pulumi` CLI: an example directory copied
// as it is (Pulumi.yaml, package.json, index.ts, scripts), its dependencies installed from the
// `npm pack` tarball of this commit and `@pulumi/pulumi` from the registry, its index.ts compiled
// by Pulumi's Node language host, state in a file backend. No Automation API anywhere.
//
// CI time: the tarball is packed once per content (keyed by a hash of package.json and dist/provider)
// and one `npm install` per tarball serves every project (each project's node_modules is a link to
// it); both are cached under the OS temp dir, and concurrent jest workers share them safely (each
// build happens in a private dir that is renamed into place).
import { execFileSync, spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as semver from "semver";
import { ensureEngine, offlineEnv, REPO_ROOT } from "./engine";
import { newStackDir, type StackDirs } from "./run-stack";

/** Where packed tarballs and shared installs live between test files and runs. */
const CACHE_ROOT = process.env.EMQX_CLI_PROJECT_CACHE ?? path.join(os.tmpdir(), "emqx-release-cli-projects");

/** The `@pulumi/pulumi` a user project gets: the version this repo pins (the last for Node 20). */
export function pinnedPulumiVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
  const v = pkg.devDependencies?.["@pulumi/pulumi"];
  if (!semver.valid(v))
    throw new Error(`package.json devDependencies pins @pulumi/pulumi to '${v}', not one exact version`);
  return v;
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Hash of what `npm pack` puts in the tarball: package.json and every file under `dir`/dist/provider. */
function packInputsHash(dir: string): string {
  const h = createHash("sha256");
  h.update(fs.readFileSync(path.join(dir, "package.json")));
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(`${path.relative(dir, p)}\0`).update(fs.readFileSync(p));
    }
  };
  const dist = path.join(dir, "dist", "provider");
  if (!fs.existsSync(dist)) throw new Error(`${dist} does not exist: run 'npm run build' first`);
  walk(dist);
  return h.digest("hex").slice(0, 16);
}

/** Entries of the cache older than this are removed when a new one is built (each install is ~100 MB;
 * every change of dist/provider makes a new one). Long enough for any run still using one. */
const STALE_MS = 6 * 60 * 60 * 1000;

function pruneCache(): void {
  for (const name of fs.existsSync(CACHE_ROOT) ? fs.readdirSync(CACHE_ROOT) : []) {
    const p = path.join(CACHE_ROOT, name);
    try {
      if (Date.now() - fs.statSync(p).mtimeMs > STALE_MS) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // removed by a concurrent prune
    }
  }
}

/** Runs `build(tmpDir)` unless `finalDir` exists, then renames tmpDir to finalDir. A concurrent
 * builder that got there first wins; ours is dropped. */
function buildOnce(finalDir: string, build: (dir: string) => void): string {
  if (fs.existsSync(path.join(finalDir, ".done"))) {
    const now = new Date();
    fs.utimesSync(finalDir, now, now); // in use: not stale
    return finalDir;
  }
  pruneCache();
  fs.mkdirSync(path.dirname(finalDir), { recursive: true });
  const tmp = fs.mkdtempSync(`${finalDir}.tmp-`);
  try {
    build(tmp);
    fs.writeFileSync(path.join(tmp, ".done"), new Date().toISOString());
    try {
      fs.renameSync(tmp, finalDir);
    } catch (e) {
      if (!fs.existsSync(path.join(finalDir, ".done"))) throw e;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return finalDir;
}

/** A packed library: the tarball and its sha256. */
export interface PackedLibrary {
  tarball: string;
  sha256: string;
  version: string;
}

/** `npm pack` of the package in `dir` (default: this repo, dist/ built), cached by content. */
export function packLibrary(dir = REPO_ROOT): PackedLibrary {
  const key = packInputsHash(dir);
  const out = buildOnce(path.join(CACHE_ROOT, `pack-${key}`), (tmp) => {
    execFileSync("npm", ["pack", "--silent", "--pack-destination", tmp], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  });
  const name = fs.readdirSync(out).find((f) => f.endsWith(".tgz"));
  if (!name) throw new Error(`npm pack left no tarball in ${out}`);
  const tarball = path.join(out, name);
  const version = /-(\d+\.\d+\.\d+[^/]*)\.tgz$/.exec(name)?.[1] ?? "";
  return { tarball, sha256: sha256(fs.readFileSync(tarball)), version };
}

/** One `npm install` of the packed library and the pinned `@pulumi/pulumi` from the registry, shared
 * by every project that uses this tarball. Returns the node_modules directory. */
export function sharedNodeModules(lib: PackedLibrary): string {
  const pulumiVersion = pinnedPulumiVersion();
  const dir = buildOnce(path.join(CACHE_ROOT, `modules-${lib.sha256.slice(0, 16)}-pulumi-${pulumiVersion}`), (tmp) => {
    const pkg = {
      name: "emqx-release-example-deps",
      private: true,
      dependencies: { "@pulumi/pulumi": pulumiVersion, "pulumi-emqx-release": `file:${lib.tarball}` },
    };
    fs.writeFileSync(path.join(tmp, "package.json"), JSON.stringify(pkg, null, 2));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], {
      cwd: tmp,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10 * 60 * 1000,
    });
  });
  return path.join(dir, "node_modules");
}

/** What one `pulumi` run did. */
export interface CliRun {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CliRunOptions {
  /** Text on the CLI's stdin (e.g. a secret for `config set`). @default none (stdin closed) */
  input?: string;
  /** @default 5 minutes */
  timeoutMs?: number;
  /** Extra environment for this run. */
  env?: Record<string, string>;
  /** The run's cwd. @default the project dir */
  cwd?: string;
  /** The program to run instead of `pulumi` (e.g. `bash` for a command line as a user types it). */
  command?: string;
  /** Pass the command's output through to this process's stdout/stderr as it comes (the demo). */
  echo?: boolean;
}

/** A project directory with its stack dirs and a `pulumi` runner. */
export interface CliProject {
  /** The copied example: run `pulumi` here. */
  dir: string;
  /** Backend, PULUMI_HOME and passphrase of this project's stacks. */
  dirs: StackDirs;
  /** The environment a user's shell would have: the engine on PATH, the file backend, the passphrase. */
  env: NodeJS.ProcessEnv;
  /** Runs `pulumi <args>` in the project; resolves whatever the exit code (see `code`). */
  pulumi(args: string[], opts?: CliRunOptions): Promise<CliRun>;
  /** Like `pulumi`, but rejects with the command's output unless it exits 0. */
  pulumiOk(args: string[], opts?: CliRunOptions): Promise<CliRun>;
  /** Every run so far, for secret scans and timing. */
  runs: CliRun[];
  /** Points node_modules at another install (a later build of the library). */
  useNodeModules(nodeModules: string): void;
  cleanup(): void;
}

/** Copies `src` to `dst` recursively, leaving out node_modules. */
function copyTree(src: string, dst: string): void {
  fs.cpSync(src, dst, { recursive: true, filter: (p) => path.basename(p) !== "node_modules" });
}

/** Fails unless every dependency in the example's package.json is installed in `nodeModules` at a
 * version its range accepts: the shared install is what `npm install` in the example would give. */
function assertDependenciesFit(projectDir: string, nodeModules: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8"));
  for (const [name, range] of Object.entries<string>(pkg.dependencies ?? {})) {
    const installed = path.join(nodeModules, name, "package.json");
    if (!fs.existsSync(installed))
      throw new Error(`${projectDir}/package.json needs ${name}, which the shared install lacks`);
    const version = JSON.parse(fs.readFileSync(installed, "utf8")).version;
    if (!semver.satisfies(version, range))
      throw new Error(`${projectDir}/package.json wants ${name}@${range}; the shared install has ${version}`);
  }
}

/** Copies `examples/<name>` (or any project dir) to a temp dir, links the shared install as its
 * node_modules and gives it private stack dirs. */
export function newCliProject(example: string, lib: PackedLibrary = packLibrary()): CliProject {
  const src = path.isAbsolute(example) ? example : path.join(REPO_ROOT, "examples", example);
  if (!fs.existsSync(path.join(src, "Pulumi.yaml"))) throw new Error(`${src} has no Pulumi.yaml`);
  const engineDir = ensureEngine();
  const dirs = newStackDir(`cli-${path.basename(src)}`);
  const dir = path.join(dirs.root, path.basename(src));
  copyTree(src, dir);
  const link = path.join(dir, "node_modules");
  const useNodeModules = (nodeModules: string) => {
    assertDependenciesFit(dir, nodeModules);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(nodeModules, link);
  };
  useNodeModules(sharedNodeModules(lib));
  const env: NodeJS.ProcessEnv = { ...process.env, ...offlineEnv({ ...dirs, engineDir }) };
  // A user's shell has neither: plans must work without PULUMI_EXPERIMENTAL, and the program is
  // type-checked as the language host does by default.
  delete env.PULUMI_EXPERIMENTAL;
  delete env.PULUMI_NODEJS_TRANSPILE_ONLY;
  const runs: CliRun[] = [];
  const pulumi = (args: string[], opts: CliRunOptions = {}) =>
    runCli(args, { ...opts, cwd: opts.cwd ?? dir, env: { ...env, ...(opts.env ?? {}) } }).then(
      (r) => (runs.push(r), r),
    );
  const pulumiOk = async (args: string[], opts: CliRunOptions = {}) => {
    const r = await pulumi(args, opts);
    if (r.code !== 0)
      throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${tail(r.stdout)}\n--- stderr:\n${tail(r.stderr)}`);
    return r;
  };
  return { dir, dirs, env, pulumi, pulumiOk, runs, useNodeModules, cleanup: () => dirs.cleanup() };
}

function tail(text: string, lines = 60): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
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

/** Runs one CLI command (`pulumi` from env.PATH) in its own process group. */
export function runCli(
  args: string[],
  opts: Omit<CliRunOptions, "env"> & { cwd: string; env: NodeJS.ProcessEnv },
): Promise<CliRun> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 5 * 60 * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(opts.command ?? "pulumi", args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid ?? -1;
    live.add(pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
      if (opts.echo) process.stdout.write(c);
      else if (process.env.EMQX_E2E_VERBOSE) process.stderr.write(c);
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
      if (opts.echo || process.env.EMQX_E2E_VERBOSE) process.stderr.write(c);
    });
    child.stdin.on("error", () => {
      /* the command did not read its input */
    });
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
      reject(
        new Error(
          `${opts.command ?? "pulumi"} ${args.join(" ")} timed out after ${timeoutMs} ms:\n${tail(stdout)}\n--- stderr:\n${tail(stderr)}`,
        ),
      );
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      live.delete(pid);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      live.delete(pid);
      resolve({ args, code, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}

/** The resource change counts from a `pulumi preview|up|refresh|destroy --json` document. */
export function changeSummary(json: string): Record<string, number> {
  const doc = JSON.parse(json);
  return doc.changeSummary ?? doc.summary?.resourceChanges ?? {};
}
