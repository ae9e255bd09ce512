// The EMQX 4.4 CLI on one node, through a Runner: builds argv, runs, classifies failures, parses.
import { HostStateError, RemoteCommandError } from "../errors";
import { describeCommandEnd } from "../plan/command-status";
import type { InstalledRelease } from "../plan/upgrade-plan";
import { explainEmqxExit } from "./explain-exit";
import { ClusterStatus, parseClusterStatus } from "./parse-cluster-status";
import { parseCtlStatus, CtlStatus } from "./parse-ctl-status";
import { newProbeMarker, parseProbe, probeArgv, ProbeResult } from "./host-probe";
import { loggingRunner } from "./output-log";
import { parseRootDir } from "./parse-root-dir";
import { parseVersions } from "./parse-versions";
import type { CommandResult, Runner } from "../runner";
import { hasCtlCommand } from "../plan/version";
import { asUser, SudoAs, sudoAdvice, sudoRefusal } from "../ssh/sudo";

/** How to reach the CLI on this node. */
export interface EmqxCliOptions {
  emqxPath: string;
  /** Run every command as this user, through sudo (provider/ssh/sudo.ts). */
  runAs?: string;
  /** The SSH user's sudo password, where sudoers asks for one. Never in argv, logs or errors. */
  sudoPassword?: string;
  commandTimeoutMs: number;
  upgradeTimeoutMs: number;
  /** Log each command with its exit status and output (opt-in: output may carry secrets).
   * @default none (commands are not logged) */
  outputLog?: (line: string) => void;
}

/** The `emqx` commands the provider uses. Mutating commands are never retried. */
export class EmqxCli {
  private readonly runner: Runner;
  private readonly options: EmqxCliOptions;

  constructor(runner: Runner, options: EmqxCliOptions) {
    this.runner = options.outputLog ? loggingRunner(runner, options.outputLog) : runner;
    this.options = options;
  }

  get host(): string {
    return this.runner.host;
  }

  /** The `runAs` user commands run as, if any. */
  get runsAs(): string | undefined {
    return this.options.runAs;
  }

  /** argv as run on the host: with `runAs`, prefixed by sudo (which never prompts). */
  argv(args: string[]): string[] {
    return asUser(args, this.sudoAs()).argv;
  }

  private sudoAs(): SudoAs | undefined {
    return this.options.runAs ? { user: this.options.runAs, password: this.options.sudoPassword } : undefined;
  }

  /** Runs argv (already including the command) with the sudo prefix, returning the raw result. */
  async exec(
    args: string[],
    timeoutMs = this.options.commandTimeoutMs,
    stdin?: string,
  ): Promise<CommandResult & { argv: string[] }> {
    const cmd = asUser(args, this.sudoAs(), stdin);
    const result = await this.runner.run(cmd.argv, { timeoutMs, stdin: cmd.stdin });
    const refusal = this.options.runAs ? sudoRefusal(result.exitCode, result.stderr) : undefined;
    if (refusal) {
      throw new HostStateError({
        host: this.host,
        reason: `${sudoAdvice(refusal, this.runner.user ?? "<ssh user>", this.options.runAs as string)}, or log in as ${this.options.runAs}`,
      });
    }
    return { ...result, argv: cmd.argv };
  }

  /** Runs argv and throws RemoteCommandError unless it exits 0. */
  async execOk(
    args: string[],
    reason: string,
    timeoutMs?: number,
    stdin?: string,
  ): Promise<CommandResult & { argv: string[] }> {
    const timeout = timeoutMs ?? this.options.commandTimeoutMs;
    const r = await this.exec(args, timeout, stdin);
    if (r.exitCode !== 0) throw this.commandError(r, `${reason} (${describeCommandEnd(r, timeout)})`);
    return r;
  }

  private commandError(r: CommandResult & { argv: string[] }, reason: string): RemoteCommandError {
    return new RemoteCommandError({
      host: this.host,
      argv: r.argv,
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr,
      timedOut: r.timedOut,
      reason: `${this.host}: ${reason}`,
    });
  }

  private emqx(...args: string[]): string[] {
    return [this.options.emqxPath, ...args];
  }

  /** True when `emqx ping` answers pong. */
  async ping(): Promise<boolean> {
    const r = await this.exec(this.emqx("ping"));
    return r.exitCode === 0 && /^pong$/m.test(r.stdout);
  }

  /** The install root (`emqx root_dir`, quotes stripped). Throws HostStateError when the node is down. */
  async rootDir(): Promise<string> {
    const r = await this.exec(this.emqx("root_dir"));
    if (r.exitCode === 127 && /not found/.test(r.stderr)) {
      throw new HostStateError({
        host: this.host,
        reason: `no \`${this.options.emqxPath}\` command on the host: set emqxPath to the EMQX CLI (e.g. /usr/bin/emqx or /opt/emqx/bin/emqx)`,
      });
    }
    // bin/emqx of a deb/rpm install re-runs itself as RUNNER_USER and refuses other non-root users
    // (docs/emqx-4.4-hot-upgrade.md §1.1 step 4).
    if (r.exitCode === 1 && /You need to be root or use sudo to run this command/.test(r.stdout)) {
      throw new HostStateError({
        host: this.host,
        reason: `\`${r.argv.join(" ")}\` answered "You need to be root or use sudo to run this command": this EMQX runs as its RUNNER_USER (deb/rpm installs: emqx; see releases/emqx_vars) and refuses other users. ${RUN_AS_ADVICE}; nothing was changed`,
      });
    }
    // Root is re-run as RUNNER_USER through `su - <user>`, a login shell: a deb/rpm install gives
    // emqx /usr/sbin/nologin, which refuses (docs/emqx-4.4-hot-upgrade.md §1.1 step 4).
    if (r.exitCode === 1 && /This account is currently not available/.test(`${r.stdout}\n${r.stderr}`)) {
      throw new HostStateError({
        host: this.host,
        reason: `\`${r.argv.join(" ")}\` answered "This account is currently not available.": bin/emqx re-runs itself for root as its RUNNER_USER (deb/rpm installs: emqx; see releases/emqx_vars) through \`su - <user>\`, and that user's login shell refuses (a deb/rpm install gives emqx /usr/sbin/nologin). ${RUN_AS_ADVICE}; nothing was changed`,
      });
    }
    if (r.exitCode !== 0) {
      throw new HostStateError({
        host: this.host,
        reason: `the EMQX node is not running (\`${r.argv.join(" ")}\` exited ${r.exitCode}: ${firstLine(r.stdout + "\n" + r.stderr)}): start it with \`emqx start\`; nothing was changed`,
      });
    }
    return parseRootDir(r.stdout, r.argv);
  }

  /** `emqx versions`, parsed. */
  async versions(): Promise<InstalledRelease[]> {
    const r = await this.execOk(this.emqx("versions"), "`emqx versions` failed");
    return parseVersions(r.stdout, r.argv);
  }

  /** `emqx ctl status` (bin scripts 4.4.4+) or `emqx_ctl status` (older), parsed. */
  async ctlStatus(binScriptsVersion: string): Promise<CtlStatus> {
    const args = hasCtlCommand(binScriptsVersion)
      ? this.emqx("ctl", "status")
      : [ctlPath(this.options.emqxPath), "status"];
    const r = await this.execOk(args, "the node did not answer `ctl status`");
    return parseCtlStatus(r.stdout, r.argv);
  }

  /** `emqx ctl cluster status` (bin scripts 4.4.4+) or `emqx_ctl cluster status` (older), parsed. */
  async clusterStatus(binScriptsVersion: string): Promise<ClusterStatus> {
    const args = hasCtlCommand(binScriptsVersion)
      ? this.emqx("ctl", "cluster", "status")
      : [ctlPath(this.options.emqxPath), "cluster", "status"];
    const r = await this.execOk(args, "the node did not answer `ctl cluster status`");
    return parseClusterStatus(r.stdout, r.argv);
  }

  /** `emqx ctl <args>` (bin scripts 4.4.4+) or `emqx_ctl <args>` (older): stdout, when it exits 0. */
  async ctl(binScriptsVersion: string, args: string[]): Promise<{ stdout: string; argv: string[] }> {
    const argv = hasCtlCommand(binScriptsVersion)
      ? this.emqx("ctl", ...args)
      : [ctlPath(this.options.emqxPath), ...args];
    const r = await this.execOk(argv, `the node did not answer \`ctl ${args.join(" ")}\``);
    return { stdout: r.stdout, argv: r.argv };
  }

  /** Reads every fact of the node in one round trip (no side effect); `target` adds what is in
   * `releases/<target>/`. */
  async probe(root: string, running: string, target?: string): Promise<ProbeResult> {
    const marker = newProbeMarker();
    const r = await this.execOk(probeArgv(root, running, target, marker), "reading host facts failed");
    return parseProbe(r.stdout, r.argv, marker);
  }

  /** Restarts the node (`emqx stop`, then `emqx start`), which boots its permanent release: the
   * EMQX way back from a release installed with --no-permanent. Clients reconnect. Not retried. */
  async restart(): Promise<void> {
    const stop = await this.exec(this.emqx("stop"), this.options.upgradeTimeoutMs);
    // "Node is not running!" (exit 1) is fine: start is what matters.
    if (stop.exitCode !== 0 && !/not running/i.test(stop.stdout + stop.stderr))
      throw this.commandError(
        stop,
        `\`emqx stop\` failed (${describeCommandEnd(stop, this.options.upgradeTimeoutMs)}); the node may be down: check it and run \`emqx start\``,
      );
    await this.execOk(
      this.emqx("start"),
      "`emqx start` failed after `emqx stop`: the node is DOWN; check the EMQX log and start it by hand",
      this.options.upgradeTimeoutMs,
    );
  }

  /** Runs a mutating release command once (`upgrade`, `downgrade`, `install`, `uninstall`) and
   * throws RemoteCommandError with EMQX's meaning of the exit code. */
  async releaseCommand(
    command: "upgrade" | "downgrade" | "install" | "uninstall",
    version: string,
    permanent = true,
    pgidFile?: string,
  ): Promise<CommandResult> {
    const args = this.emqx(command, ...(permanent ? [] : ["--no-permanent"]), version);
    const timeout = command === "uninstall" ? this.options.commandTimeoutMs : this.options.upgradeTimeoutMs;
    // sshd ignores a channel's signal request and a closed channel does not stop a command: with
    // `pgidFile` the command records its process group, which a timeout then stops.
    const r = await this.exec(pgidFile ? ["sh", "-c", RECORD_PGID_SCRIPT, "sh", pgidFile, ...args] : args, timeout);
    if (r.exitCode !== 0) {
      const stopped = r.timedOut && pgidFile ? await this.stopRecorded(pgidFile) : undefined;
      const explained = explainEmqxExit(command, version, r.exitCode, `${r.stdout}\n${r.stderr}`, r.timedOut, stopped);
      throw this.commandError(
        r,
        `\`${args.join(" ")}\` failed${r.timedOut ? ` (${describeCommandEnd(r, timeout)})` : ""}: ${explained}`,
      );
    }
    return r;
  }

  /** Stops the process group a command recorded (RECORD_PGID_SCRIPT): TERM, then KILL after 2 s.
   * Says what happened, for the error. */
  private async stopRecorded(pgidFile: string): Promise<string> {
    try {
      const r = await this.exec(["sh", "-c", STOP_PGID_SCRIPT, "sh", pgidFile]);
      const said = r.stdout.trim().split("\n").pop() ?? "";
      return said.startsWith("STOPPED")
        ? "its CLI was stopped (SIGTERM, then SIGKILL, to its process group)"
        : `its CLI could not be stopped (${said || describeCommandEnd(r)}): it may still be running`;
    } catch (e) {
      return `its CLI could not be stopped (${(e as Error).message}): it may still be running`;
    }
  }
}

/** What to do when bin/emqx refuses to run for the SSH user: run it as RUNNER_USER through sudo. */
const RUN_AS_ADVICE =
  'Set runAs to that user, so the CLI runs as it through sudo (the SSH user needs a sudoers rule such as "<ssh user> ALL=(emqx) NOPASSWD: ALL"; root needs none)';

/** `sh -c RECORD_PGID_SCRIPT sh <file> argv...`: writes its process group id (Linux /proc) to
 * <file>, then becomes argv. Everything the command starts stays in that group. */
export const RECORD_PGID_SCRIPT = 'cut -d" " -f5 /proc/$$/stat > "$1" && shift && exec "$@"';

/** `sh -c STOP_PGID_SCRIPT sh <file>`: TERM to the group recorded in <file>, KILL to what is left
 * after 2 s; prints STOPPED, or why not. */
export const STOP_PGID_SCRIPT = [
  'g=$(cat "$1" 2>/dev/null); case "$g" in ""|*[!0-9]*|0|1) echo "no process group recorded in $1"; exit 0;; esac',
  'kill -s TERM -- "-$g" 2>/dev/null || { echo "STOPPED (it had ended)"; exit 0; }',
  'i=0; while [ $i -lt 20 ] && kill -s 0 -- "-$g" 2>/dev/null; do sleep 0.1; i=$((i+1)); done',
  'kill -s KILL -- "-$g" 2>/dev/null; echo STOPPED',
].join("\n");

function ctlPath(emqxPath: string): string {
  return emqxPath.includes("/") ? emqxPath.replace(/emqx$/, "emqx_ctl") : "emqx_ctl";
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith("!!!!")) ?? "no output"
  );
}
