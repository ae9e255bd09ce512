// Finds (or builds, once) the Pulumi CLI the end-to-end tests drive, and the environment that keeps
// every run offline and isolated: a file backend, a private PULUMI_HOME, no update check, no plugin
// downloads. A missing engine is a test FAILURE with the reason, never a skip (STYLE "habits").
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Root of the repository: the nearest package.json above this file (sandbox or
 * dist/sandbox). */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

/** The script that prints the engine's bin dir, building the pinned CLI into ~/.cache if needed. */
export const ENSURE_PULUMI_SCRIPT = path.join(REPO_ROOT, "scripts", "ensure-pulumi.sh");

/** A first build of the CLI takes minutes on 2 cores; a cached one answers at once. */
const ENSURE_TIMEOUT_MS = 45 * 60 * 1000;

let cachedBinDir: string | undefined;

/** Directory holding `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`; throws
 * with the script's own reason when the CLI or the language host cannot be had. Cached per process. */
export function ensureEngine(): string {
  if (cachedBinDir !== undefined) return cachedBinDir;
  const res = spawnSync("bash", [ENSURE_PULUMI_SCRIPT], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: ENSURE_TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const stderrTail = (res.stderr ?? "").trim().split("\n").slice(-20).join("\n");
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : `exit code ${res.status}${res.signal ? ` (signal ${res.signal})` : ""}`;
    throw new Error(
      `the Pulumi engine is not available: ${ENSURE_PULUMI_SCRIPT} failed (${why}). ` +
        `Run 'bash scripts/ensure-pulumi.sh' to see why: it needs Go to build the pinned CLI, and Pulumi's Node ` +
        `language host (pulumi-language-nodejs) on PATH or in ../shared/tools/pulumi beside the clone.\n${stderrTail}`,
    );
  }
  const dir = res.stdout.trim().split("\n").pop() ?? "";
  if (!path.isAbsolute(dir)) {
    throw new Error(`scripts/ensure-pulumi.sh printed '${dir}', not an absolute directory\n${stderrTail}`);
  }
  cachedBinDir = dir;
  return dir;
}

/** Where one stack's state and Pulumi's own files live; see `offlineEnv`. */
export interface OfflineEnvOptions {
  /** Directory used as the file backend (`file://<backendDir>`). */
  backendDir: string;
  /** Private PULUMI_HOME (plugin cache, workspace settings) so tests never share or touch ~/.pulumi. */
  pulumiHome: string;
  /** Passphrase of the stack's secrets provider. @default "" (accepted by the CLI, docs/pulumi-dynamic-providers.md
   * §6.3) */
  passphrase?: string;
  /** Engine bin dir to put first on PATH. @default ensureEngine() */
  engineDir?: string;
}

/** Environment for an offline, isolated `pulumi` run (docs/pulumi-dynamic-providers.md §6.3). Merge it over
 * process.env. */
export function offlineEnv(opts: OfflineEnvOptions): Record<string, string> {
  const engineDir = opts.engineDir ?? ensureEngine();
  return {
    PATH: `${engineDir}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${path.resolve(opts.backendDir)}`,
    PULUMI_CONFIG_PASSPHRASE: opts.passphrase ?? "",
    PULUMI_HOME: path.resolve(opts.pulumiHome),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    // No colour codes or spinners in captured output, so tests can match text.
    NO_COLOR: "1",
  };
}
