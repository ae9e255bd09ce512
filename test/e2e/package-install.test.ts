// The library installed the way the README's Install section says, into fresh projects: its
// `npm install` lines are read from README.md and run with two substitutions, this checkout's
// tarball (`npm pack`) for the .tgz path and `git+file://<this repo>#<HEAD>` for the git URL. In
// each project a user's program (fixtures/consumer/program.ts) is compiled with tsc --strict
// against the installed types (module resolution node16, nodenext and node10), run with the
// engine replaced by pulumi.runtime.setMocks (EmqxRelease and EmqxFleet constructed, their
// providers serialized from node_modules), and the library is required from plain CommonJS.
// The edges of the @pulumi/pulumi peer range are both run: the version the README pins (this
// repo's devDependency, the newest that supports this machine's Node) and the range's floor.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../sandbox/engine";
import { packLibrary, type PackedLibrary } from "../support/installed-package";

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const FIXTURES = path.join(REPO_ROOT, "test", "e2e", "fixtures", "consumer");
const TSC = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
/** A TypeScript user of Pulumi has Node's types; installed with the README's command. */
const NODE_TYPES = `@types/node@${process.versions.node.split(".")[0]}`;
const INSTALL_TIMEOUT_MS = 20 * 60 * 1000;

/** The `npm install` lines of the README's Install section, as argument lists (quotes removed,
 * comments dropped). */
function readmeInstallCommands(): string[][] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = /\n## Install\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .flatMap((b) => b.split("\n"))
    .map((l) => l.trim())
    .filter((l) => l.startsWith("npm install "))
    .map((l) => {
      const words = l.match(/"[^"]*"|'[^']*'|#.*|\S+/g) ?? [];
      const end = words.findIndex((w) => w.startsWith("#"));
      return words.slice(0, end < 0 ? undefined : end).map((w) => w.replace(/^(["'])(.*)\1$/, "$2"));
    });
}

/** npm's environment without the npm_* variables of the `npm test` around us (npm_config_local_prefix
 * would point a nested install at this repo); registry, cache and proxy settings stay. */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|globalconfig|cafile|https?_proxy|proxy|noproxy|strict_ssl)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || keep.test(k)) env[k] = v;
  // The cache holds what `npm ci` fetched; the commands are the README's either way.
  return {
    ...env,
    npm_config_prefer_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  timeout = INSTALL_TIMEOUT_MS,
  env: NodeJS.ProcessEnv = {},
): string {
  try {
    const options = {
      cwd,
      env: { ...npmEnv(), ...env },
      encoding: "utf8" as const,
      timeout,
      maxBuffer: 64 * 1024 * 1024,
    };
    return execFileSync(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(" ")} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`,
    );
  }
}

/** Runs `npm <args>` (an install) in `dir`. npm's cache in the home directory is shared with every
 * other npm on the machine; when an install fails on it (a cache entry vanishing or corrupted under
 * a concurrent npm), it is retried once, visibly, with a cache of its own. */
function npm(args: string[], dir: string): void {
  try {
    run("npm", args, dir);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!/_cacache|EINTEGRITY/.test(message)) throw e;
    const reason = /npm error (?:code|enoent|path) .*/.exec(message)?.[0] ?? "npm cache error";
    process.stderr.write(
      `npm ${args.join(" ")}: attempt 1/2 failed on npm's shared cache (${reason}); retrying with a cache of its own\n`,
    );
    run("npm", args, dir, INSTALL_TIMEOUT_MS, { npm_config_cache: path.join(root, "npm-cache") });
  }
}

/** A new empty project with the consumer fixtures copied in. */
function newProject(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name: `consumer-${name}`, private: true }, null, 2)}\n`,
  );
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  return dir;
}

/** tsc --strict on the program in `dir`, in one `tsc -b` for all the module resolutions given: the
 * first one (node16 or node10) also emits CommonJS to out/ for runProgram, the others type-check. */
function compile(dir: string, resolutions: Array<"node16" | "nodenext" | "node10">): void {
  const configs = resolutions.map((resolution, i) => {
    const module = resolution === "node10" ? "commonjs" : resolution;
    const emit = i === 0 ? { outDir: "out" } : { noEmit: true };
    const compilerOptions = {
      strict: true,
      module,
      moduleResolution: resolution,
      target: "es2022",
      types: ["node"],
      ...emit,
    };
    const file = `tsconfig.${resolution}.json`;
    fs.writeFileSync(path.join(dir, file), JSON.stringify({ compilerOptions, files: ["program.ts"] }));
    return file;
  });
  run(process.execPath, [TSC, "-b", "--force", ...configs], dir, 5 * 60 * 1000);
}

interface ProgramReport {
  seen: Array<{ type: string; name: string; providerBytes?: number; providerFromPackage?: boolean }>;
  running: string;
  plan: Record<string, { batch: number; cluster?: string; held: boolean; to: string }>;
  notOurs: boolean;
}

/** Runs the compiled program under setMocks and checks what the mocked engine saw. Returns the
 * @pulumi/pulumi version the project resolved. */
function runProgram(dir: string): string {
  const out = run(process.execPath, ["out/program.js"], dir, 2 * 60 * 1000);
  const report = JSON.parse(out.trim().split("\n").pop() as string) as ProgramReport;
  expect(report.seen.map((s) => `${s.type} ${s.name}`).sort()).toEqual([
    "emqx:index:EmqxFleet prod",
    "pulumi-nodejs:dynamic/emqx:EmqxRelease broker-1",
    "pulumi-nodejs:dynamic/emqx:EmqxRelease prod-emqx-1",
    "pulumi-nodejs:dynamic/emqx:EmqxRelease prod-emqx-2",
    "pulumi-nodejs:dynamic/emqx:EmqxRolloutGate prod-gate-1",
    "pulumi-nodejs:dynamic/emqx:EmqxRolloutGate prod-gate-2",
  ]);
  // Every dynamic resource carries a provider that loads the library from node_modules.
  const dynamic = report.seen.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic/"));
  expect(dynamic.map((s) => [s.name, s.providerFromPackage, (s.providerBytes ?? 0) > 1000])).toEqual(
    dynamic.map((s) => [s.name, true, true]),
  );
  expect(report.running).toBe("4.4.16");
  expect(report.plan).toEqual({
    "emqx-1": expect.objectContaining({ batch: 1, cluster: "a", held: false, to: "4.4.16" }),
    "emqx-2": expect.objectContaining({ batch: 2, cluster: "a", held: false, to: "4.4.16" }),
  });
  expect(report.notOurs).toBe(false);
  return run(process.execPath, ["-p", 'require("@pulumi/pulumi/package.json").version'], dir, 60_000).trim();
}

/** `require("pulumi-emqx-release")` from plain CommonJS resolves the installed copy and its classes. */
function requireFromCommonJs(dir: string): void {
  const r = JSON.parse(run(process.execPath, ["require.cjs"], dir, 60_000)) as {
    resolved: string;
    kinds: Record<string, string>;
  };
  expect(r.resolved).toBe(path.join(fs.realpathSync(dir), "node_modules", pkg.name, "dist", "provider", "index.js"));
  expect(Object.values(r.kinds)).toEqual(Object.values(r.kinds).map(() => "function"));
}

/** The files of the installed package, relative to its directory, sorted. */
function installedFiles(dir: string): string[] {
  const root = path.join(dir, "node_modules", pkg.name);
  const walk = (rel: string): string[] =>
    fs
      .readdirSync(path.join(root, rel), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(rel, e.name)) : [path.join(rel, e.name)]));
  return walk("").sort();
}

const newest = pkg.devDependencies["@pulumi/pulumi"];
const floor = /^\^(\d+\.\d+\.\d+)$/.exec(pkg.peerDependencies["@pulumi/pulumi"])?.[1];
let root: string;
let packed: PackedLibrary;
let commands: string[][];

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-package-install-"));
  packed = packLibrary(root);
  commands = readmeInstallCommands();
});
afterAll(() => {
  if (root && !process.env.EMQX_E2E_KEEP_DIRS) fs.rmSync(root, { recursive: true, force: true });
});

test("the README's Install section has one tarball and one git install, naming this version and the pinned @pulumi/pulumi", () => {
  const tarball = commands.filter((c) => c.some((a) => a.endsWith(".tgz")));
  const git = commands.filter((c) => c.some((a) => a.startsWith("git+")));
  expect([tarball.length, git.length, commands.length]).toEqual([1, 1, 2]);
  expect(path.basename(tarball[0].find((a) => a.endsWith(".tgz")) as string)).toBe(path.basename(packed.tarball));
  for (const c of commands) expect(c).toContain(`@pulumi/pulumi@${newest}`);
  expect(floor).toBeDefined();
});

test(
  "installed from the packed tarball as the README says: compiles strict (node16, nodenext, node10), runs under setMocks with the pinned @pulumi/pulumi, requires from CommonJS",
  () => {
    const dir = newProject(root, "tarball");
    const command = commands.find((c) => c.some((a) => a.endsWith(".tgz"))) as string[];
    npm([...command.slice(1).map((a) => (a.endsWith(".tgz") ? packed.tarball : a)), NODE_TYPES], dir);
    expect(installedFiles(dir)).toEqual(packed.files);
    compile(dir, ["node16", "nodenext", "node10"]);
    expect(runProgram(dir)).toBe(newest);
    requireFromCommonJs(dir);
  },
  INSTALL_TIMEOUT_MS,
);

test(
  "the floor of the declared @pulumi/pulumi peer range compiles and runs the same program",
  () => {
    const dir = path.join(root, "tarball");
    npm(["install", `@pulumi/pulumi@${floor}`], dir);
    compile(dir, ["node16"]);
    expect(runProgram(dir)).toBe(floor);
  },
  INSTALL_TIMEOUT_MS,
);

test(
  "installed from git as the README says (git+file:// of this repo at HEAD): prepare builds dist/, the package holds what npm pack holds, it compiles, runs and requires",
  () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const dir = newProject(root, "git");
    const command = commands.find((c) => c.some((a) => a.startsWith("git+"))) as string[];
    const url = `git+file://${REPO_ROOT}#${head}`;
    npm([...command.slice(1).map((a) => (a.startsWith("git+") ? url : a)), NODE_TYPES], dir);
    // dist/ is not in git: only `prepare` in npm's clone can have built what is installed.
    expect(installedFiles(dir)).toEqual(packed.files);
    compile(dir, ["node16"]);
    expect(runProgram(dir)).toBe(newest);
    requireFromCommonJs(dir);
  },
  INSTALL_TIMEOUT_MS,
);
