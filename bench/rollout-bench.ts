// Benchmark 4: `pulumi up` of examples/fleet over 1, 10 and 40 emulated hosts (real sshd each, on
// 127.0.0.(100+i)) at batch sizes 1, 5 and 10, a 5 MiB package, the emulator's `upgrade` held 3 s.
// Wall time against the ideal (engine start-up once + ceil(N/batch) x one host's upgrade, both
// measured in the same run) and against the 2-core floor, and SSH connections per host per `up`,
// counted from each sshd's VERBOSE log ("Connection from"). CPU time is split between the
// hosts (each sshd's reaped children: sessions, shells, emulator processes) and our side (the
// stack driver, the engine, the program and the provider, all reaped by this process).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureEngine } from "../sandbox/engine";
import { installPackedLibrary } from "../test/support/installed-package";
import { compiledPath, newStackDir, runStack } from "../sandbox/run-stack";
import { BenchHost, startBenchHost } from "./bench-hosts";
import { BenchSection } from "./report";
import { mebibytes, median, ratio, runList, seconds } from "./stats";

const TIMEOUT_MS = 20 * 60 * 1000;
const FROM = "4.4.15";
const TO = "4.4.16";
const HOLD_MS = 3000;
const PACKAGE_BYTES = 5 * 1024 * 1024;

/** What the rollout benchmark needs. */
export interface RolloutBenchSetup {
  shelf: { build(spec: { version: string; extraBytes?: number }): Promise<string> };
  /** Fleet size and batch size of each configuration; one with 1 host is required (one host's upgrade). */
  configs: Array<{ hosts: number; batch: number }>;
  runs: number;
  /** `pulumi up --parallel` for the fleet ups. @default the engine's (4 x CPUs) */
  parallel?: number;
}

interface Measured {
  hosts: number;
  batch: number;
  wallMs: number[];
  /** SSH connections each host's sshd logged during the `up`, every run. */
  connections: number[];
  /** Per run: the spread of upgrade starts inside the first batch (how parallel it really ran). */
  firstBatchStartSpreadMs: number[];
  /** Per run and batch: where the batch's time went, from the emulator's call logs (batchTimeline). */
  batches: BatchTimeline[][];
  /** Per run: CPU ms used on the hosts' side and on ours (see reapedCpuMs). */
  hostCpuMs: number[];
  ourCpuMs: number[];
  /** Per run: the whole machine's busy fraction of its cores during the `up` (/proc/stat). */
  machineBusy: number[];
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat), every agent included. */
function machineJiffies(): { busy: number; total: number } {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU ms (user + system) of the children `pid` has reaped so far: /proc/<pid>/stat cutime + cstime. */
export function reapedCpuMs(pid: number | "self"): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the ")" closing the command name: state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * CLOCK_TICK_MS;
}

/** The reaped-children CPU of a host's sshd listener (its PidFile). */
function hostCpuMs(h: BenchHost): number {
  return reapedCpuMs(Number(fs.readFileSync(path.join(h.sshd.dir, "sshd.pid"), "utf8").trim()));
}

/** Benchmark 4. */
export async function benchRollout(setup: RolloutBenchSetup, log: (line: string) => void): Promise<BenchSection> {
  ensureEngine();
  const configs = setup.configs.filter(
    (c, i) => setup.configs.findIndex((d) => d.hosts === c.hosts && d.batch === c.batch) === i,
  );
  if (!configs.some((c) => c.hosts === 1))
    throw new Error("the rollout benchmark needs a 1-host configuration: one host's upgrade is the unit of its ideal");
  const project = installPackedLibrary(compiledPath("examples/fleet/index.ts"), "bench-rollout");
  const trivialModule = compiledPath("bench/programs/trivial-resources.ts");
  const packagePath = await setup.shelf.build({ version: TO, extraBytes: PACKAGE_BYTES });
  const maxHosts = Math.max(...configs.map((c) => c.hosts));
  const hosts: BenchHost[] = [];
  // Each test sshd registers a process "exit" listener (its kill switch): one per host is expected.
  process.setMaxListeners(Math.max(process.getMaxListeners(), maxHosts + 10));
  try {
    for (let i = 0; i < maxHosts; i++) hosts.push(await startBenchHost(`127.0.0.${100 + i}`));
    // One client key for the fleet: hosts[0]'s, authorized everywhere.
    for (const h of hosts.slice(1)) h.sshd.authorizeKey(hosts[0].sshd.clientPublicKey);
    log(`rollout: ${hosts.length} sshd hosts up`);
    const results: Measured[] = configs.map((c) => ({
      ...c,
      wallMs: [],
      connections: [],
      firstBatchStartSpreadMs: [],
      batches: [],
      hostCpuMs: [],
      ourCpuMs: [],
      machineBusy: [],
    }));
    const startup = { wallMs: [] as number[], cpuMs: [] as number[] };

    /** Engine start-up: `up` of one trivial dynamic resource on a fresh stack (engine, language
     * host, program, one dynamic provider process, one create that does nothing). */
    const upStartup = async (): Promise<void> => {
      const cpuBefore = reapedCpuMs("self");
      const dirs = newStackDir("bench-startup");
      try {
        const res = await runStack(
          {
            projectName: "bench-startup",
            stackName: "up",
            programModule: trivialModule,
            config: { count: { value: "1" } },
            ops: ["up"],
          },
          { dirs, timeoutMs: TIMEOUT_MS },
        );
        const op = res.results[0];
        if (!op || !op.ok) throw new Error(`start-up up failed: ${op?.error ?? res.driver.error ?? res.stderr}`);
        startup.wallMs.push(op.durationMs);
      } finally {
        dirs.cleanup();
      }
      startup.cpuMs.push(reapedCpuMs("self") - cpuBefore);
    };

    const upFleet = async (m: Measured, run: number): Promise<void> => {
      const fleet = hosts.slice(0, m.hosts);
      for (const h of fleet) h.reset(FROM, { holdMs: { upgrade: HOLD_MS } });
      const before = fleet.map((h) => h.sshd.connectionCount());
      const cpuBefore = { hosts: fleet.reduce((t, h) => t + hostCpuMs(h), 0), ours: reapedCpuMs("self") };
      const machineBefore = machineJiffies();
      const dirs = newStackDir("bench-rollout");
      try {
        const config = {
          hosts: {
            value: JSON.stringify(
              fleet.map((h, i) => ({
                name: `n${i}`,
                host: h.sshd.host,
                port: h.sshd.port,
                hostKey: h.sshd.hostKeyLine,
                emqxPath: h.emqxPath,
              })),
            ),
          },
          privateKey: { value: hosts[0].sshd.clientPrivateKey, secret: true },
          version: { value: TO },
          packagePath: { value: packagePath },
          rollout: { value: JSON.stringify({ canary: 0, batchSize: m.batch }) },
        };
        const res = await runStack(
          {
            projectName: "bench-rollout",
            stackName: "up",
            programModule: project.programModule,
            workDir: project.dir,
            config,
            ops: ["up"],
            ...(setup.parallel !== undefined ? { upOptions: { parallel: setup.parallel } } : {}),
          },
          { dirs, timeoutMs: TIMEOUT_MS },
        );
        const op = res.results[0];
        if (!op || !op.ok)
          throw new Error(
            `rollout of ${m.hosts} hosts, batch ${m.batch} failed: ${op?.error ?? res.driver.error ?? res.stderr}`,
          );
        m.wallMs.push(op.durationMs);
      } finally {
        dirs.cleanup();
      }
      const machineAfter = machineJiffies();
      m.machineBusy.push((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total));
      m.connections.push(...fleet.map((h, i) => h.sshd.connectionCount() - before[i]));
      m.hostCpuMs.push(fleet.reduce((t, h) => t + hostCpuMs(h), 0) - cpuBefore.hosts);
      m.ourCpuMs.push(reapedCpuMs("self") - cpuBefore.ours);
      const starts = fleet.slice(0, m.batch).map((h) => h.calls().find((x) => x.argv[0] === "upgrade")?.ts ?? NaN);
      m.firstBatchStartSpreadMs.push(Math.max(...starts) - Math.min(...starts));
      m.batches.push(
        batchTimelines(
          fleet.map((h) => h.calls()),
          m.batch,
        ),
      );
      log(
        `rollout ${m.hosts} hosts, batch ${m.batch}, run ${run + 1}/${setup.runs}: ${seconds(m.wallMs[run])}, CPU hosts ${seconds(m.hostCpuMs[run])}, ours ${seconds(m.ourCpuMs[run])}, machine busy ${(100 * m.machineBusy[run]).toFixed(0)}%`,
      );
    };

    // Runs interleaved: each round measures start-up and every configuration once, in alternating
    // order, so the shared machine's drift falls on all of them alike.
    for (let run = 0; run < setup.runs; run++) {
      const steps: Array<() => Promise<void>> = [
        async () => {
          await upStartup();
          log(`rollout start-up (1 trivial resource), run ${run + 1}/${setup.runs}: ${seconds(startup.wallMs[run])}`);
        },
        ...results.map((m) => () => upFleet(m, run)),
      ];
      if (run % 2 === 1) steps.reverse();
      for (const step of steps) await step();
    }

    const startupMs = median(startup.wallMs);
    const single = results.find((r) => r.hosts === 1)!;
    const upgradeMs = median(single.wallMs) - startupMs;
    const cores = cpuCount();
    // CPU one host's rollout costs beyond the start-up's, hosts' side and ours, from each configuration.
    const cpuPerHost = (r: Measured) => (median(r.hostCpuMs) + median(r.ourCpuMs) - median(startup.cpuMs)) / r.hosts;
    const rows = results.map((r) => {
      const batches = Math.ceil(r.hosts / r.batch);
      const ideal = startupMs + batches * upgradeMs;
      const wall = median(r.wallMs);
      // The 2-core floor: a batch's hosts need batch x c CPU seconds; on `cores` cores that takes at
      // least batch x c / cores, of which one host's upgrade (measured alone) already holds c.
      const c = cpuPerHost(r);
      const batchFloor = upgradeMs + Math.max(0, (r.batch / cores - 1) * c);
      const floor = startupMs + batches * batchFloor;
      return { r, batches, ideal, wall, over: wall / ideal, c, floor, overFloor: wall / floor };
    });
    const maxConn = Math.max(...results.flatMap((r) => r.connections));
    const minConn = Math.min(...results.flatMap((r) => r.connections));
    const list = configs.map((c) => `${c.hosts}x${c.batch}`).join(",");
    return {
      id: "rollout",
      title: `4. Rollout of ${[...new Set(configs.map((c) => c.hosts))].join(", ")} emulated hosts at batch sizes ${[...new Set(configs.map((c) => c.batch))].join(", ")}`,
      command: `BENCH_ONLY=rollout BENCH_ROLLOUTS=${list} BENCH_ROLLOUT_RUNS=${setup.runs}${setup.parallel !== undefined ? ` BENCH_ROLLOUT_PARALLEL=${setup.parallel}` : ""} npm run bench`,
      rows: [
        {
          what: `engine start-up (\`up\` of 1 trivial dynamic resource, median of ${setup.runs}); one host's upgrade (1-host rollout minus start-up)`,
          value: `${seconds(startupMs)}; ${seconds(median(single.wallMs))} - ${seconds(startupMs)} = ${seconds(upgradeMs)}`,
        },
        ...rows.map(({ r, batches, ideal, wall, over }) => ({
          what: `${r.hosts} host(s), batch ${r.batch}: wall / ideal (${seconds(startupMs)} + ${batches} x ${seconds(upgradeMs)}), medians of ${r.wallMs.length}`,
          value: `${seconds(wall)} / ${seconds(ideal)} = ${ratio(over)}`,
          target: "<= 1.25",
          met: over <= 1.25,
        })),
        ...rows
          .filter(({ r }) => r.batch > cores)
          .map(({ r, batches, c, floor, wall, overFloor }) => ({
            what: `${r.hosts} hosts, batch ${r.batch}: wall / ${cores}-core floor (${seconds(startupMs)} + ${batches} x (${seconds(upgradeMs)} + (${r.batch}/${cores} - 1) x ${seconds(c)} CPU per host))`,
            value: `${seconds(wall)} / ${seconds(floor)} = ${ratio(overFloor)}`,
            target: "<= 1.25",
            met: overFloor <= 1.25,
          })),
        {
          what: "SSH connections per host per `up` (sshd logs)",
          value: minConn === maxConn ? String(maxConn) : `${minConn}..${maxConn}`,
          target: "1",
          met: maxConn === 1 && minConn === 1,
        },
      ],
      details: [
        `examples/fleet through the real engine (\`pulumi up\` on a fresh stack: every host is created, i.e. upgraded ${FROM} -> ${TO}), rollout ` +
          `\`{canary: 0, batchSize: B}\`, a ${mebibytes(PACKAGE_BYTES)} package (incompressible padding), each host a real sshd in front of the EMQX emulator ` +
          `whose \`upgrade\` is held ${HOLD_MS / 1000} s. The program uses the library npm-packed into a project's node_modules, as users install it. ` +
          `The fleet ups run with ${setup.parallel !== undefined ? `\`--parallel ${setup.parallel}\`` : `the engine's default parallelism (\`pulumi up --parallel\` defaults to 4 x CPUs: ${4 * cpuCount()} here), so a batch wider than that starts in rounds (EmqxFleet warns)`}. ` +
          `Every figure is a median of ${setup.runs} runs; the runs are interleaved (each round measures the start-up and every configuration once, ` +
          "the order reversed every other round).",
        "",
        `The ideal is the engine's start-up once plus ceil(N/B) x one host's upgrade, both measured in this run: start-up is an \`up\` of one ` +
          "trivial dynamic resource on a fresh stack (bench/programs/trivial-resources.ts: engine, language host, program, one dynamic provider " +
          "process); one host's upgrade is the 1-host rollout minus that start-up.",
        "",
        `Connections are the "Connection from" lines each host's sshd logged during the run (VERBOSE). CPU is user + system time of reaped ` +
          "processes (/proc/<pid>/stat cutime + cstime): the hosts' is what each sshd's sessions, shells and emulator processes used (the " +
          "emulator is a node process per `emqx` command; a real broker spends this on its own machine); ours is the stack driver, the pulumi " +
          `engine, the program and the provider. "Machine busy" is the share of both cores busy during the \`up\` (/proc/stat, every process on ` +
          `the machine, other agents' included). The ${cores}-core floor: a batch of B hosts needs B x c CPU seconds (c: the configuration's CPU ` +
          "per host beyond the start-up's, both sides); on " +
          `${cores} cores that takes at least B x c / ${cores}, of which one host's upgrade, measured alone, already holds c; so a batch takes at ` +
          `least one host's upgrade + (B/${cores} - 1) x c, and a rollout the start-up + ceil(N/B) such batches. ` +
          perHostCpu(results, median(startup.cpuMs)),
        "",
        `Start-up runs: ${runList(startup.wallMs)} (CPU ${seconds(median(startup.cpuMs))}).`,
        "",
        "| hosts | batch | runs (wall) | ideal | wall / ideal | CPU per host (c) | floor | wall / floor | connections per host | first batch's upgrade start spread | CPU hosts / ours (median) | machine busy (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ...rows.map(
          ({ r, ideal, over, c, floor, overFloor }) =>
            `| ${r.hosts} | ${r.batch} | ${runList(r.wallMs)} | ${seconds(ideal)} | ${ratio(over)} | ${seconds(c)} | ${seconds(floor)} | ${ratio(overFloor)} | ${[...new Set(r.connections)].join(", ")} | ${r.firstBatchStartSpreadMs.map((s) => `${s} ms`).join(", ")} | ` +
            `${seconds(median(r.hostCpuMs))} / ${seconds(median(r.ourCpuMs))} | ${(100 * median(r.machineBusy)).toFixed(0)}% |`,
        ),
        "",
        "Where each batch's time went, from the hosts' `emqx` call logs (each call's start and duration; medians over runs and batches): " +
          "a batch's length runs from its first host's first `emqx` call to the end of its last call; contact spread is how far apart its hosts' " +
          "first calls were, and how many were within 1 s of the first; reach -> upgrade is one host's first call to its `upgrade` (probe, upload, checks), with the batch's slowest host " +
          "beside it and that against one host's reach -> upgrade in the 1-host rollout (how much the batch stretched it); emqx before upgrade is the time inside `emqx` commands in that stretch; the gap is the previous batch's last call to this " +
          "batch's first (the rollout gate and the engine between batches).",
        "",
        "| hosts | batch | batches | batch length | contact spread | contacted within 1 s | reach -> upgrade | slowest reach -> upgrade | slowest / 1 host alone | emqx before upgrade | gap between batches |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        ...rows.map(({ r }) => timelineRow(r, median(single.batches.flat().flatMap((b) => b.reachToUpgradeMs)))),
      ],
    };
  } finally {
    for (const h of hosts) await h.stop().catch(() => undefined);
    project.cleanup();
  }
}

/** Where one batch's time went, from its hosts' `emqx` call logs (each call's start and duration). */
export interface BatchTimeline {
  /** First `emqx` call on the batch's last host minus that on its first: how parallel it started. */
  contactSpreadMs: number;
  /** Hosts whose first `emqx` call came within 1 s of the batch's first: how many really started together. */
  contactedAtOnce: number;
  /** Per host: its first `emqx` call to its `upgrade` (probe, upload, checks). */
  reachToUpgradeMs: number[];
  /** Per host: time inside `emqx` commands before its `upgrade` (the emulator is a node process per
   * command, so this is mostly CPU on a busy machine). */
  emqxBeforeUpgradeMs: number[];
  /** The batch's first call to the end of its last call. */
  lengthMs: number;
  /** The previous batch's last call end to this batch's first call (the gate and the engine between
   * batches); undefined for the first batch. */
  gapBeforeMs?: number;
}

type CallLog = Array<{ ts: number; durationMs?: number; argv: string[] }>;

/** The timeline of each batch of `batch` hosts, in fleet order (canary 0: the rollout's order). */
export function batchTimelines(calls: CallLog[], batch: number): BatchTimeline[] {
  const out: BatchTimeline[] = [];
  let previousEnd: number | undefined;
  for (let i = 0; i < calls.length; i += batch) {
    const group = calls.slice(i, i + batch).filter((c) => c.length > 0);
    if (group.length === 0) continue;
    const firsts = group.map((c) => Math.min(...c.map((x) => x.ts)));
    const ends = group.map((c) => Math.max(...c.map((x) => x.ts + (x.durationMs ?? 0))));
    const upgrades = group.map((c) => c.find((x) => x.argv[0] === "upgrade")?.ts ?? NaN);
    const start = Math.min(...firsts);
    out.push({
      contactSpreadMs: Math.max(...firsts) - start,
      contactedAtOnce: firsts.filter((f) => f - start <= 1000).length,
      reachToUpgradeMs: upgrades.map((u, k) => u - firsts[k]),
      emqxBeforeUpgradeMs: group.map((c, k) =>
        c.filter((x) => x.ts < upgrades[k]).reduce((t, x) => t + (x.durationMs ?? 0), 0),
      ),
      lengthMs: Math.max(...ends) - start,
      gapBeforeMs: previousEnd === undefined ? undefined : start - previousEnd,
    });
    previousEnd = Math.max(...ends);
  }
  return out;
}

/** One table row: medians over runs and batches of where the batches' time went; `aloneMs` is one
 * host's reach -> upgrade in the 1-host rollout, against which the batch's slowest host is set. */
function timelineRow(r: Measured, aloneMs: number): string {
  const all = r.batches.flat();
  const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
  const med = (vs: number[]) => (vs.length ? ms(median(vs)) : "-");
  const gaps = all.flatMap((b) => (b.gapBeforeMs === undefined ? [] : [b.gapBeforeMs]));
  return (
    `| ${r.hosts} | ${r.batch} | ${all.length / Math.max(1, r.batches.length)} | ${med(all.map((b) => b.lengthMs))} | ` +
    `${med(all.map((b) => b.contactSpreadMs))} | ${median(all.map((b) => b.contactedAtOnce))} of ${r.batch} | ${med(all.flatMap((b) => b.reachToUpgradeMs))} | ` +
    `${med(all.map((b) => Math.max(...b.reachToUpgradeMs)))} | ${(median(all.map((b) => Math.max(...b.reachToUpgradeMs))) / aloneMs).toFixed(2)} | ` +
    `${med(all.flatMap((b) => b.emqxBeforeUpgradeMs))} | ${med(gaps)} |`
  );
}

/** One sentence: CPU per host on each side, from the largest fleet measured against the single host. */
function perHostCpu(results: Measured[], startupCpuMs: number): string {
  const big = [...results].sort((a, b) => b.hosts - a.hosts)[0];
  if (!big || big.hosts === 1) return "";
  const hostSide = median(big.hostCpuMs) / big.hosts;
  const ours = (median(big.ourCpuMs) - startupCpuMs) / big.hosts;
  return (
    `Per host in the ${big.hosts}-host, batch-${big.batch} runs: the hosts' side used ${seconds(hostSide)} of CPU, ours ${seconds(ours)} ` +
    `beyond the start-up's ${seconds(startupCpuMs)}.`
  );
}

function cpuCount(): number {
  return os.cpus().length;
}
