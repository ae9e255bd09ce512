// The health gate of a rollout: right after a node was upgraded, poll it until it reports the
// target version, the user's command succeeds and (with requireClusterRunning) every member of its
// cluster runs, or until the deadline passes. A failing check is an answer, not an error: the gate
// returns passed=false with what was wrong at the last attempt. Transport and setup failures
// (SshConnectError, a sudo that wants a password) still throw.
import { EmqxOutputParseError, RemoteCommandError } from "../errors";
import { describeCommandEnd } from "../plan/command-status";
import type { ResolvedHealthGate } from "../plan/health-gate";
import type { HealthGateOutcome } from "../plan/release-result";
import { runningVersion } from "../plan/upgrade-plan";
import { commandOf } from "../ssh/sudo";
import { EmqxCli } from "./cli";
import { hasCtlCommand } from "../plan/version";
import { cleanLines } from "./clean-output";
import type { CommandResult } from "../runner";

/** Pause between two attempts of the gate. */
export const HEALTH_GATE_INTERVAL_MS = 2000;

/** At most this many lines (and characters) of a failed command's output go into the detail. */
const DETAIL_OUTPUT_LINES = 5;
const DETAIL_OUTPUT_CHARS = 400;
/** At most this many node names go into the detail. */
const MAX_LISTED_NODES = 10;

/** What the gate checks on one node: the release's `healthGate` with its defaults applied
 * (plan/health-gate.ts), plus the node's facts. */
export interface HealthGateSpec extends ResolvedHealthGate {
  /** The version the node must report. */
  version: string;
  /** Version of the node's bin scripts: `emqx ctl` from 4.4.4, else `emqx versions`/`emqx_ctl`. */
  binScriptsVersion: string;
}

/** How the gate ended: the outcome recorded in `lastResult.gate` (plan/release-result.ts), and
 * `checks`, each check's result at the last attempt (`command` and `cluster` only when the gate
 * asks for them). */
export interface HealthGateResult extends HealthGateOutcome {
  checks: { version: boolean; command?: boolean; cluster?: boolean };
}

/** Time, as the gate sees it (tests pass a fake one so nothing really waits). */
export interface HealthGateClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** One check's verdict: `problem` is set when it failed, `summary` says what was seen when it passed. */
type Verdict = { problem: string } | { summary: string };

/** Polls the node every `intervalMs` until every check passes or `gate.deadlineSeconds` passes.
 * Logs one line per failed attempt ("health gate attempt 3: cluster has stopped nodes: emqx@b")
 * and a final line. */
export async function runHealthGate(
  cli: EmqxCli,
  gate: HealthGateSpec,
  log: (line: string) => void,
  clock: HealthGateClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
  intervalMs: number = HEALTH_GATE_INTERVAL_MS,
): Promise<HealthGateResult> {
  const startedAt = clock.now();
  const deadlineAt = startedAt + gate.deadlineSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    const verdicts = await checkOnce(cli, gate, () => deadlineAt - clock.now());
    const problems = Object.values(verdicts).flatMap((v) => ("problem" in v ? [v.problem] : []));
    const checks: HealthGateResult["checks"] = { version: !("problem" in verdicts.version) };
    if (verdicts.command) checks.command = !("problem" in verdicts.command);
    if (verdicts.cluster) checks.cluster = !("problem" in verdicts.cluster);
    const seconds = () => ((clock.now() - startedAt) / 1000).toFixed(1);
    if (problems.length === 0) {
      const detail = Object.values(verdicts)
        .map((v) => ("summary" in v ? v.summary : ""))
        .join("; ");
      log(`health gate passed on attempt ${attempt} after ${seconds()} s: ${detail}`);
      return { passed: true, durationMs: clock.now() - startedAt, attempts: attempt, checks, detail };
    }
    const detail = problems.join("; ");
    log(`health gate attempt ${attempt}: ${detail}`);
    const leftMs = deadlineAt - clock.now();
    // `!(leftMs > 0)` and not `leftMs <= 0`: a NaN deadline must end the loop, not spin.
    if (!(leftMs > 0)) {
      log(
        `health gate failed after ${attempt} attempt${attempt === 1 ? "" : "s"} in ${seconds()} s (deadline ${gate.deadlineSeconds} s): ${detail}`,
      );
      return { passed: false, durationMs: clock.now() - startedAt, attempts: attempt, checks, detail };
    }
    await clock.sleep(Math.min(intervalMs, leftMs));
  }
}

/** One attempt: every check the gate asks for, in order, each to its verdict. */
async function checkOnce(
  cli: EmqxCli,
  gate: HealthGateSpec,
  leftMs: () => number,
): Promise<{ version: Verdict; command?: Verdict; cluster?: Verdict }> {
  const out: { version: Verdict; command?: Verdict; cluster?: Verdict } = {
    version: await asVerdict(() => checkVersion(cli, gate)),
  };
  if (gate.command) {
    const command = gate.command;
    out.command = await asVerdict(() => checkCommand(cli, command, leftMs()));
  }
  if (gate.requireClusterRunning) out.cluster = await asVerdict(() => checkCluster(cli, gate.binScriptsVersion));
  return out;
}

/** The node's own version: `emqx ctl status` (bin scripts 4.4.4+), else the running release of
 * `emqx versions` (4.4.0-4.4.3 have no `emqx ctl`). */
async function checkVersion(cli: EmqxCli, gate: HealthGateSpec): Promise<Verdict> {
  if (hasCtlCommand(gate.binScriptsVersion)) {
    const st = await cli.ctlStatus(gate.binScriptsVersion);
    if (st.version !== gate.version) return { problem: `node reports ${st.version}, not ${gate.version}` };
    if (st.status !== "started") return { problem: `node reports ${st.version} but is ${st.status}` };
    return { summary: `node reports ${st.version}` };
  }
  const running = runningVersion(await cli.versions()) ?? "no running release";
  if (running !== gate.version) return { problem: `node reports ${running}, not ${gate.version} (\`emqx versions\`)` };
  return { summary: `node reports ${running} (\`emqx versions\`)` };
}

/** The user's argv, through the CLI's runner (same `runAs` prefix and quoting as every command). */
async function checkCommand(cli: EmqxCli, command: string[], leftMs: number): Promise<Verdict> {
  // A hanging check must not outlive the gate; give the last attempt at least a second.
  const timeoutMs = Math.max(1000, Math.ceil(leftMs));
  const r = await cli.exec(command, timeoutMs);
  const shown = `command \`${command.join(" ")}\``;
  if (r.exitCode === 0) return { summary: `${shown} exited 0` };
  return { problem: `${shown} ${describeFailure(r, timeoutMs)}` };
}

/** Every member of the node's cluster is running (no `stopped_nodes`). */
async function checkCluster(cli: EmqxCli, binScriptsVersion: string): Promise<Verdict> {
  const c = await cli.clusterStatus(binScriptsVersion);
  if (c.stoppedNodes.length > 0) return { problem: `cluster has stopped nodes: ${listNodes(c.stoppedNodes)}` };
  return { summary: `all ${c.runningNodes.length} cluster nodes running` };
}

/** Runs a check; an EMQX command that failed or printed something unreadable is a failed check,
 * anything else (lost connection, sudo wanting a password) is thrown on. */
async function asVerdict(check: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await check();
  } catch (e) {
    if (RemoteCommandError.isInstance(e))
      return { problem: `\`${commandOf(e.argv).join(" ")}\` ${describeFailure(e)}` };
    if (EmqxOutputParseError.isInstance(e))
      return { problem: `${e.message.split("; output was:")[0]} (output: ${outputExcerpt(e.excerpt)})` };
    throw e;
  }
}

/** "exited 7: <first lines of stderr, else stdout>", "timed out after 5 s", "was killed by SIGKILL". */
function describeFailure(
  r: Pick<CommandResult, "exitCode" | "signal" | "timedOut" | "stdout" | "stderr">,
  timeoutMs?: number,
): string {
  const how = describeCommandEnd(r, timeoutMs);
  const output = outputExcerpt(r.stderr) || outputExcerpt(r.stdout);
  return output ? `${how}: ${output}` : how;
}

/** The first non-blank lines of command output, on one line (ulimit noise and colours dropped). */
function outputExcerpt(text: string): string {
  const lines = cleanLines(text)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  let out = lines.slice(0, DETAIL_OUTPUT_LINES).join(" / ");
  if (lines.length > DETAIL_OUTPUT_LINES) out += ` / … (${lines.length - DETAIL_OUTPUT_LINES} more lines)`;
  return out.length > DETAIL_OUTPUT_CHARS ? `${out.slice(0, DETAIL_OUTPUT_CHARS)}…` : out;
}

/** "emqx@b, emqx@c", at most MAX_LISTED_NODES names then "and 3 more". */
function listNodes(nodes: string[]): string {
  const more = nodes.length - MAX_LISTED_NODES;
  return nodes.slice(0, MAX_LISTED_NODES).join(", ") + (more > 0 ? ` and ${more} more` : "");
}
