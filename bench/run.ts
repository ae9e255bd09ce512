// `npm run bench`: runs the benchmarks of the "OpenSSH speed on the wire, no wasted work at fleet
// scale" issue, prints a table, and writes BENCHMARKS.md. Knobs (environment):
//   BENCH_ONLY=upload,preview,rollout,url   which benchmarks (default all; `upload` covers 1 and 2)
//   BENCH_RUNS=7            runs of each upload measurement (median reported)
//   BENCH_PREVIEW_RUNS=5    runs of each preview
//   BENCH_ROLLOUT_RUNS=1    runs of each rollout configuration
//   BENCH_HOSTS=1,10,40     rollout fleet sizes;  BENCH_BATCHES=1,5,10  rollout batch sizes
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

function envList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (!raw) return fallback;
  const list = raw.split(",").map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`${name} must be a comma-separated list of positive integers, got ${JSON.stringify(raw)}`);
  return list;
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
        await benchPreview({ packagePath: await big(), hostCount: 100, runs: envCount("BENCH_PREVIEW_RUNS", 5) }, log),
      );
    }
    if (only.includes("rollout")) {
      sections.push(
        await benchRollout(
          {
            shelf,
            hostCounts: envList("BENCH_HOSTS", [1, 10, 40]),
            batchSizes: envList("BENCH_BATCHES", [1, 5, 10]),
            runs: envCount("BENCH_ROLLOUT_RUNS", 1),
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
      "BENCH_HOSTS",
      "BENCH_BATCHES",
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
