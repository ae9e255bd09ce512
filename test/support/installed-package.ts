// The library as a user gets it: `npm pack` of this repo, unpacked into a fresh project's
// node_modules/pulumi-emqx-release, with a compiled example program beside it. Programs in the repo
// resolve `pulumi-emqx-release` by self-reference, so Pulumi serializes the whole library by value
// into every resource; from node_modules it emits `require("pulumi-emqx-release/dist/...")` instead,
// which only works when package.json's `exports` allows those paths. This is what tests that path.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../sandbox/engine";

/** What `npm pack` made of this checkout. */
export interface PackedLibrary {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** The paths in it, sorted (`package.json`, `dist/provider/index.js`, ...). */
  files: string[];
  version: string;
}

/** `npm pack` of this repo into `destDir`. dist/ must be built (`npm run build` writes the same
 * dist/provider/ as `prepare`); `--ignore-scripts` keeps `prepare` from deleting and rebuilding
 * dist/provider/ under the other test suites that run from it. */
export function packLibrary(destDir: string): PackedLibrary {
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", destDir], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  const [packed] = JSON.parse(out) as Array<{ filename: string; version: string; files: Array<{ path: string }> }>;
  return {
    tarball: path.join(destDir, packed.filename),
    files: packed.files.map((f) => f.path).sort(),
    version: packed.version,
  };
}

/** A throwaway project with the packed library installed. */
export interface InstalledProject {
  /** The project dir: use it as the stack's workDir (the dynamic provider resolves modules here). */
  dir: string;
  /** The program, copied into `dir`. */
  programModule: string;
  cleanup(): void;
}

/** Packs the repo (dist/ must be built) and installs it with `compiledProgram` into a new project.
 * The library's own dependencies are linked from this repo's node_modules, so that `@pulumi/pulumi`
 * is the very copy the stack driver loaded (node keys modules by real path). */
export function installPackedLibrary(compiledProgram: string, label = "installed"): InstalledProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `emqx-${label}-`));
  const modules = path.join(dir, "node_modules");
  const target = path.join(modules, "pulumi-emqx-release");
  fs.mkdirSync(target, { recursive: true });
  execFileSync("tar", ["xzf", packLibrary(dir).tarball, "-C", target, "--strip-components=1"]);
  for (const name of fs.readdirSync(path.join(REPO_ROOT, "node_modules"))) {
    if (name.startsWith(".") || name === "pulumi-emqx-release") continue;
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules", name), path.join(modules, name));
  }
  const programModule = path.join(dir, "index.js");
  fs.copyFileSync(compiledProgram, programModule);
  return { dir, programModule, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
