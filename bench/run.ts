// `npm run bench`: runs the benchmarks of the "OpenSSH speed on the wire, no wasted work at fleet
// scale" issue, prints a table, and writes BENCHMARKS.md. Knobs (environment):
//   BENCH_ONLY=upload,preview,rollout,url   which benchmarks (default all; `upload` covers 1 and 2)
//   BENCH_RUNS=7            runs of each upload measurement (median reported)
//   BENCH_PREVIEW_SIZES=100,300,1000:1  fleet sizes previewed (each against as many trivial
//                           resources), <hosts>:<runs> where a size gets other than BENCH_PREVIEW_RUNS
//                           runs (1000 hosts: one run, ~7 min of fleet and trivial previews here)
//   BENCH_PREVIEW_RUNS=3    runs of each preview size
//   BENCH_ROLLOUT_RUNS=3    runs of each rollout configuration (and of the engine start-up)
//   BENCH_ROLLOUT_PARALLEL=N  `pulumi up --parallel N` for the fleet ups (default: the engine's, 4 x CPUs)
//   BENCH_ROLLOUTS=1x1,10x1,10x5,10x10,40x5,40x10  rollouts as <hosts>x<batch> (1x1 required: one
//                           host's upgrade is the unit of the ideal; 40x1 is left out by default: it
//                           is 40 serial upgrades, ~3 min a run, and adds nothing 10x1 does not show)
//   BENCH_OUT=BENCHMARKS.md where to write the report ("-": do not write)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../sandbox/engine";
import { startSshd } from "../sandbox/sshd";
import { SSHD_CONFIG } from "./bench-hosts";
import { packageShelf } from "../sandbox/test-host";
import { benchPreview } from "./preview-bench";
import { BenchSection, consoleTable, markdownReport } from "./report";
import { benchRollout } from "./rollout-bench";
import { envCount } from "./stats";
import { benchUpload } from "./upload-bench";
import { benchUrl } from "./url-bench";

const PACKAGE_BYTES = 100 * 1024 * 1024;
const ALL = ["upload", "preview", "rollout", "url"];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** "100,1000:1" with 3 runs -> [{hosts: 100, runs: 3}, {hosts: 1000, runs: 1}]. */
function previewSizes(raw: string, runs: number): Array<{ hosts: number; runs: number }> {
  return raw.split(",").map((item) => {
    const m = /^\s*(\d+)(?::(\d+))?\s*$/.exec(item);
    const hosts = Number(m?.[1]);
    const n = m?.[2] === undefined ? runs : Number(m[2]);
    if (!m || hosts < 1 || n < 1)
      throw new Error(
        `BENCH_PREVIEW_SIZES: ${JSON.stringify(item)} is not <hosts> or <hosts>:<runs> (example: 100,1000:1)`,
      );
    return { hosts, runs: n };
  });
}

/** "1x1,10x5" -> [{hosts: 1, batch: 1}, {hosts: 10, batch: 5}]. */
function rolloutConfigs(raw: string): Array<{ hosts: number; batch: number }> {
  return raw.split(",").map((item) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(item);
    const hosts = Number(m?.[1]);
    const batch = Number(m?.[2]);
    if (!m || hosts < 1 || batch < 1 || batch > hosts)
      throw new Error(
        `BENCH_ROLLOUTS: ${JSON.stringify(item)} is not <hosts>x<batch> with 1 <= batch <= hosts (example: 1x1,10x5)`,
      );
    return { hosts, batch };
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const only = (process.env.BENCH_ONLY ?? ALL.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((o) => !ALL.includes(o));
  if (unknown.length)
    throw new Error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(", ")}; choose from ${ALL.join(", ")}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-bench-"));
  const sections: BenchSection[] = [];
  const shelf = packageShelf();
  try {
    let bigPackage: string | undefined;
    const big = async () => (bigPackage ??= await shelf.build({ version: "4.4.16", extraBytes: PACKAGE_BYTES }));
    if (only.includes("upload")) {
      const sshd = await startSshd({ host: "127.0.0.1", extraConfig: SSHD_CONFIG });
      try {
        const remoteDir = fs.mkdtempSync(path.join(work, "remote-"));
        sections.push(
          ...(await benchUpload({ sshd, packagePath: await big(), remoteDir, runs: envCount("BENCH_RUNS", 7) }, log)),
        );
      } finally {
        await sshd.stop();
      }
    }
    if (only.includes("preview")) {
      sections.push(
        await benchPreview(
          {
            packagePath: await big(),
            sizes: previewSizes(process.env.BENCH_PREVIEW_SIZES ?? "100,300,1000:1", envCount("BENCH_PREVIEW_RUNS", 3)),
          },
          log,
        ),
      );
    }
    if (only.includes("rollout")) {
      sections.push(
        await benchRollout(
          {
            shelf,
            configs: rolloutConfigs(process.env.BENCH_ROLLOUTS ?? "1x1,10x1,10x5,10x10,40x5,40x10"),
            runs: envCount("BENCH_ROLLOUT_RUNS", 3),
            parallel: process.env.BENCH_ROLLOUT_PARALLEL ? envCount("BENCH_ROLLOUT_PARALLEL", 8) : undefined,
          },
          log,
        ),
      );
    }
    if (only.includes("url")) sections.push(await benchUrl({ shelf, hostCount: 20, packageMiB: 20 }, log));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(shelf.dir, { recursive: true, force: true });
  }
  process.stdout.write(`${consoleTable(sections)}\n`);
  const out = process.env.BENCH_OUT ?? path.join(REPO_ROOT, "BENCHMARKS.md");
  if (out !== "-") {
    const knobs = [
      "BENCH_ONLY",
      "BENCH_RUNS",
      "BENCH_PREVIEW_RUNS",
      "BENCH_ROLLOUT_RUNS",
      "BENCH_ROLLOUT_PARALLEL",
      "BENCH_ROLLOUTS",
      "BENCH_PREVIEW_SIZES",
    ]
      .filter((k) => process.env[k])
      .map((k) => `${k}=${process.env[k]} `)
      .join("");
    const intro = [
      "Written by `npm run bench` (bench/run.ts); every figure below comes from that one run. Medians of several runs, each",
      "comparison measured side by side in the same run, ratios rather than absolute times: the machine is shared and noisy.",
    ];
    fs.writeFileSync(
      out,
      markdownReport(sections, {
        command: `${knobs}npm run bench`,
        date: new Date().toISOString(),
        durationMs: Date.now() - started,
        intro,
      }),
    );
    log(`wrote ${out}`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
