// Benchmark 4: `pulumi up` of examples/fleet over 1, 10 and 40 emulated hosts (real sshd each, on
// 127.0.0.(100+i)) at batch sizes 1, 5 and 10, a 5 MiB package, the emulator's `upgrade` held 3 s.
// Wall time against the ideal ceil(N/batch) x the single-host rollout, and SSH connections per host
// per `up`, counted from each sshd's VERBOSE log ("Connection from"). CPU time is split between the
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
  hostCounts: number[];
  batchSizes: number[];
  runs: number;
}

interface Measured {
  hosts: number;
  batch: number;
  wallMs: number[];
  /** SSH connections each host's sshd logged during the `up`, every run. */
  connections: number[];
  /** Per run: the spread of upgrade starts inside the first batch (how parallel it really ran). */
  firstBatchStartSpreadMs: number[];
  /** Per run: CPU ms used on the hosts' side and on ours (see reapedCpuMs). */
  hostCpuMs: number[];
  ourCpuMs: number[];
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
  const project = installPackedLibrary(compiledPath("examples/fleet/index.ts"), "bench-rollout");
  const packagePath = await setup.shelf.build({ version: TO, extraBytes: PACKAGE_BYTES });
  const maxHosts = Math.max(...setup.hostCounts);
  const hosts: BenchHost[] = [];
  // Each test sshd registers a process "exit" listener (its kill switch): one per host is expected.
  process.setMaxListeners(Math.max(process.getMaxListeners(), maxHosts + 10));
  try {
    for (let i = 0; i < maxHosts; i++) hosts.push(await startBenchHost(`127.0.0.${100 + i}`));
    // One client key for the fleet: hosts[0]'s, authorized everywhere.
    for (const h of hosts.slice(1)) h.sshd.authorizeKey(hosts[0].sshd.clientPublicKey);
    log(`rollout: ${hosts.length} sshd hosts up`);
    const configs: Array<{ hosts: number; batch: number }> = [];
    for (const n of setup.hostCounts)
      for (const b of setup.batchSizes)
        if (b <= n || (n === 1 && b === setup.batchSizes[0])) configs.push({ hosts: n, batch: Math.min(b, n) });
    const unique = configs.filter((c, i) => configs.findIndex((d) => d.hosts === c.hosts && d.batch === c.batch) === i);
    const results: Measured[] = [];
    for (const c of unique) {
      const m: Measured = {
        ...c,
        wallMs: [],
        connections: [],
        firstBatchStartSpreadMs: [],
        hostCpuMs: [],
        ourCpuMs: [],
      };
      for (let run = 0; run < setup.runs; run++) {
        const fleet = hosts.slice(0, c.hosts);
        for (const h of fleet) h.reset(FROM, { holdMs: { upgrade: HOLD_MS } });
        const before = fleet.map((h) => h.sshd.connectionCount());
        const cpuBefore = { hosts: fleet.reduce((t, h) => t + hostCpuMs(h), 0), ours: reapedCpuMs("self") };
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
            rollout: { value: JSON.stringify({ canary: 0, batchSize: c.batch }) },
          };
          const res = await runStack(
            {
              projectName: "bench-rollout",
              stackName: "up",
              programModule: project.programModule,
              workDir: project.dir,
              config,
              ops: ["up"],
            },
            { dirs, timeoutMs: TIMEOUT_MS },
          );
          const op = res.results[0];
          if (!op || !op.ok)
            throw new Error(
              `rollout of ${c.hosts} hosts, batch ${c.batch} failed: ${op?.error ?? res.driver.error ?? res.stderr}`,
            );
          m.wallMs.push(op.durationMs);
        } finally {
          dirs.cleanup();
        }
        m.connections.push(...fleet.map((h, i) => h.sshd.connectionCount() - before[i]));
        m.hostCpuMs.push(fleet.reduce((t, h) => t + hostCpuMs(h), 0) - cpuBefore.hosts);
        m.ourCpuMs.push(reapedCpuMs("self") - cpuBefore.ours);
        const starts = fleet.slice(0, c.batch).map((h) => h.calls().find((x) => x.argv[0] === "upgrade")?.ts ?? NaN);
        m.firstBatchStartSpreadMs.push(Math.max(...starts) - Math.min(...starts));
        log(
          `rollout ${c.hosts} hosts, batch ${c.batch}, run ${run + 1}/${setup.runs}: ${seconds(m.wallMs[run])}, CPU hosts ${seconds(m.hostCpuMs[run])}, ours ${seconds(m.ourCpuMs[run])}`,
        );
      }
      results.push(m);
    }
    const single = results.find((r) => r.hosts === 1);
    const singleMs = single ? median(single.wallMs) : NaN;
    const rows = results.map((r) => {
      const ideal = Math.ceil(r.hosts / r.batch) * singleMs;
      const wall = median(r.wallMs);
      return { r, ideal, wall, over: wall / ideal };
    });
    const maxConn = Math.max(...results.flatMap((r) => r.connections));
    const minConn = Math.min(...results.flatMap((r) => r.connections));
    return {
      id: "rollout",
      title: `4. Rollout of ${setup.hostCounts.join(", ")} emulated hosts at batch sizes ${setup.batchSizes.join(", ")}`,
      command: `BENCH_ONLY=rollout BENCH_HOSTS=${setup.hostCounts.join(",")} BENCH_BATCHES=${setup.batchSizes.join(",")} BENCH_ROLLOUT_RUNS=${setup.runs} npm run bench`,
      rows: [
        ...rows.map(({ r, ideal, wall, over }) => ({
          what: `${r.hosts} host(s), batch ${r.batch}: wall / ideal (ceil(${r.hosts}/${r.batch}) x ${seconds(singleMs)})`,
          value: `${seconds(wall)} / ${seconds(ideal)} = ${ratio(over)}`,
          target: "<= 1.25",
          met: over <= 1.25,
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
          `whose \`upgrade\` is held ${HOLD_MS / 1000} s. The single-host time is the 1-host rollout's median, engine start and stack setup included, ` +
          'so the ideal also counts the engine\'s fixed cost once per batch: a conservative ceiling. Connections are the "Connection from" lines each ' +
          "host's sshd logged during the run (VERBOSE), divided by nothing: one `up` is one operation per host. The program uses the library " +
          "npm-packed into a project's node_modules, as users install it. CPU is user + system time of reaped processes (/proc/<pid>/stat " +
          "cutime + cstime): the hosts' is what each sshd's sessions, shells and emulator processes used; ours is the stack driver, the " +
          `pulumi engine, the program and the provider. This machine has ${cpuCount()} cores: "CPU / (cores x wall)" near 1 means the ` +
          "rollout waited for CPU, not for anything it could do in parallel. " +
          perHostCpu(results),
        "",
        "| hosts | batch | runs (wall) | ideal | wall / ideal | connections per host | first batch's upgrade start spread | CPU hosts / ours (median) | CPU / (cores x wall) |",
        "|---|---|---|---|---|---|---|---|---|",
        ...rows.map(
          ({ r, ideal, over, wall }) =>
            `| ${r.hosts} | ${r.batch} | ${runList(r.wallMs)} | ${seconds(ideal)} | ${ratio(over)} | ${[...new Set(r.connections)].join(", ")} | ${r.firstBatchStartSpreadMs.map((s) => `${s} ms`).join(", ")} | ` +
            `${seconds(median(r.hostCpuMs))} / ${seconds(median(r.ourCpuMs))} | ${ratio((median(r.hostCpuMs) + median(r.ourCpuMs)) / (cpuCount() * wall))} |`,
        ),
      ],
    };
  } finally {
    for (const h of hosts) await h.stop().catch(() => undefined);
    project.cleanup();
  }
}

/** One sentence: CPU per host on each side, from the largest fleet measured against the single host. */
function perHostCpu(results: Measured[]): string {
  const one = results.find((r) => r.hosts === 1);
  const big = [...results].sort((a, b) => b.hosts - a.hosts)[0];
  if (!one || !big || big.hosts === 1) return "";
  const hostSide = median(big.hostCpuMs) / big.hosts;
  const oursExtra = (median(big.ourCpuMs) - median(one.ourCpuMs)) / (big.hosts - 1);
  return (
    `Per host (the ${big.hosts}-host runs against the single host): the host side used ${seconds(hostSide)} of CPU (here the emulator, a node ` +
    `process per \`emqx\` command, on the same ${cpuCount()} cores as everything else; a real broker spends it on its own machine), our side ` +
    `${seconds(oursExtra)} beyond the single host's ${seconds(median(one.ourCpuMs))} (engine and program start-up, paid once per \`up\`).`
  );
}

function cpuCount(): number {
  return os.cpus().length;
}
