// The client-impact gate on one node: read what the node says about its clients before the hot
// upgrade (`emqx ctl broker stats`, `listeners`, `broker`, `plugins list`), read it again after,
// and judge (plan/client-impact). Inconclusive (the CLI cannot answer, the numbers not refreshed
// yet) is polled until the deadline and then fails with "could not tell": it never passes. A
// failed check ends the gate at once: a connection that dropped does not come back.
import { EmqxOutputParseError, HostStateError, RemoteCommandError } from "../errors";
import {
  ClientImpactLimits,
  ClientImpactOutcome,
  describeChecks,
  judgeClientImpact,
  NodeSnapshot,
} from "../plan/client-impact";
import type { Duplex } from "stream";
import type { EmqxCli } from "./cli";
import type { HealthGateClock } from "./health-gate";
import { parseBroker } from "./parse-broker";
import { parseBrokerStats } from "./parse-broker-stats";
import { parseListeners } from "./parse-listeners";
import { parsePlugins } from "./parse-plugins";
import { openProbe, ProbeSession, ProbeTarget } from "./probe-client";

/** EMQX refreshes `broker stats` on a 1 s tick (docs/emqx-4.4-observability.md §2.3): the first
 * reading after the upgrade waits two ticks, so no number predates it. */
export const STATS_SETTLE_MS = 2000;
/** Pause between two readings while the gate cannot tell. */
export const CLIENT_IMPACT_INTERVAL_MS = 2000;

/** What the gate checks on one node (the release's `clientImpact`, defaults applied). */
export interface ClientImpactSpec extends ClientImpactLimits {
  deadlineSeconds: number;
  /** `emqx ctl` from bin scripts 4.4.4, else `emqx_ctl`. */
  binScriptsVersion: string;
  /** Where the gate's own MQTT client connects on the node. @default none (no probe) */
  probe?: ProbeTarget;
}

/** How long the probe may take to connect, and to answer one QoS 1 publish. */
export const PROBE_TIMEOUT_MS = 5000;

/** What the gate holds between before and after: the node's numbers, and its own open session. */
export interface ImpactBefore {
  snapshot: NodeSnapshot;
  probe?: ProbeSession;
}

/** Reads the four commands; a part the node cannot answer is recorded in `unreadable`, and
 * anything but a failed or unreadable EMQX command (a lost connection) is thrown on. */
export async function readSnapshot(cli: EmqxCli, binScriptsVersion: string): Promise<NodeSnapshot> {
  const snap: NodeSnapshot = { unreadable: {} };
  const read = async (
    part: keyof NodeSnapshot["unreadable"],
    args: string[],
    use: (stdout: string, argv: string[]) => void,
  ) => {
    try {
      const r = await cli.ctl(binScriptsVersion, args);
      use(r.stdout, r.argv);
    } catch (e) {
      if (RemoteCommandError.isInstance(e))
        snap.unreadable[part] = `\`${args.join(" ")}\` ${e.timedOut ? "timed out" : `exited ${e.exitCode}`}`;
      else if (EmqxOutputParseError.isInstance(e)) snap.unreadable[part] = e.message.split("; output was:")[0];
      else throw e;
    }
  };
  await read("stats", ["broker", "stats"], (out, argv) => {
    const live = parseBrokerStats(out, argv)["live_connections.count"];
    if (live === undefined) snap.unreadable.stats = "`broker stats` has no live_connections.count (EMQX before 4.4.0?)";
    else snap.liveConnections = live;
  });
  await read("listeners", ["listeners"], (out, argv) => {
    snap.listeners = parseListeners(out, argv).map((l) => ({
      id: l.id,
      currentConn: l.currentConn,
      shutdownCount: l.shutdownCount,
      shutdowns: Object.values(l.shutdownCount).reduce((a, b) => a + b, 0),
    }));
  });
  await read("broker", ["broker"], (out, argv) => {
    snap.uptimeSeconds = parseBroker(out, argv).uptimeSeconds;
  });
  await read("plugins", ["plugins", "list"], (out, argv) => {
    snap.activePlugins = parsePlugins(out, argv)
      .filter((p) => p.active)
      .map((p) => p.name)
      .sort();
  });
  return snap;
}

/** Reads the node before the upgrade; refuses (nothing changed yet) when it cannot answer what
 * the gate will need, since the gate could then only fail after the upgrade. */
export async function readBefore(
  cli: EmqxCli,
  spec: ClientImpactSpec,
  log: (line: string) => void,
  forward?: (host: string, port: number) => Promise<Duplex>,
): Promise<ImpactBefore> {
  // The probe first, and a stats tick later the numbers, so that "before" counts the probe too.
  const probe = spec.probe ? await openProbeBefore(cli, spec.probe, forward) : undefined;
  try {
    if (probe) await new Promise((resolve) => setTimeout(resolve, STATS_SETTLE_MS));
    const snap = await readSnapshot(cli, spec.binScriptsVersion);
    const missing = Object.entries(snap.unreadable).filter(([part]) => part !== "plugins" || spec.requireSamePlugins);
    if (missing.length > 0) {
      throw new HostStateError({
        host: cli.host,
        reason: `the client-impact gate cannot read the node before the upgrade: ${missing.map(([, why]) => why).join("; ")}. Fix the node's CLI, or leave clientImpact out to upgrade without it; nothing was changed`,
      });
    }
    if (probe) snap.probe = await probe.observe(PROBE_TIMEOUT_MS);
    const probeText = snap.probe
      ? `, probe session ${snap.probe.state}${snap.probe.state === "open" ? ` (QoS 1 round trip ${snap.probe.roundTripMs} ms)` : `: ${snap.probe.reason}`}`
      : "";
    log(
      `client impact, before: ${snap.liveConnections} live connections, ${snap.listeners?.length} listeners (shutdown_count ${snap.listeners?.map((l) => `${l.id} ${l.shutdowns}`).join(", ")}), uptime ${snap.uptimeSeconds} s, ${snap.activePlugins?.length} plugins active${probeText}`,
    );
    return { snapshot: snap, probe };
  } catch (e) {
    await probe?.end();
    throw e;
  }
}

/** Opens the gate's own MQTT session; refuses (nothing changed yet) when it cannot. */
async function openProbeBefore(
  cli: EmqxCli,
  target: ProbeTarget,
  forward?: (host: string, port: number) => Promise<Duplex>,
): Promise<ProbeSession> {
  if (!forward)
    throw new HostStateError({
      host: cli.host,
      reason: "clientImpact.probe needs the SSH connection to forward a channel; nothing was changed",
    });
  try {
    return await openProbe(
      () => forward(target.host, target.port),
      target,
      `emqx-release-probe-${Date.now()}`,
      PROBE_TIMEOUT_MS,
    );
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new HostStateError({
      host: cli.host,
      reason: `the client-impact probe cannot connect to the MQTT listener ${target.host}:${target.port} on the node (${why}): set clientImpact.probe to a listener that takes anonymous clients (EMQX's internal 127.0.0.1:11883 by default), or leave the probe out; nothing was changed`,
    });
  }
}

/** Reads the node after the upgrade until the verdict is known or the deadline passes. Logs each
 * attempt that could not tell and a final line with every check's numbers. */
export async function runClientImpactGate(
  cli: EmqxCli,
  spec: ClientImpactSpec,
  before: ImpactBefore,
  log: (line: string) => void,
  clock: HealthGateClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
  intervalMs: number = CLIENT_IMPACT_INTERVAL_MS,
): Promise<ClientImpactOutcome> {
  const startedAt = clock.now();
  const deadlineAt = startedAt + spec.deadlineSeconds * 1000;
  await clock.sleep(Math.min(STATS_SETTLE_MS, spec.deadlineSeconds * 1000));
  for (let attempt = 1; ; attempt++) {
    const after = await readSnapshot(cli, spec.binScriptsVersion);
    if (before.probe) after.probe = await before.probe.observe(PROBE_TIMEOUT_MS);
    const { verdict, checks } = judgeClientImpact(before.snapshot, after, spec);
    const detail = describeChecks(checks);
    const seconds = () => ((clock.now() - startedAt) / 1000).toFixed(1);
    const done = (passed: boolean, couldNotTell: boolean, text: string): ClientImpactOutcome => {
      log(`client impact ${passed ? "passed" : "FAILED"} on attempt ${attempt} after ${seconds()} s: ${text}`);
      return { passed, couldNotTell, durationMs: clock.now() - startedAt, attempts: attempt, checks, detail: text };
    };
    if (verdict === "passed") return done(true, false, detail);
    if (verdict === "failed") return done(false, false, detail);
    const leftMs = deadlineAt - clock.now();
    if (!(leftMs > 0))
      return done(
        false,
        true,
        `could not tell within ${spec.deadlineSeconds} s whether the clients stayed connected: ${detail}`,
      );
    log(`client impact attempt ${attempt}: not known yet: ${detail}`);
    await clock.sleep(Math.min(intervalMs, leftMs));
  }
}
