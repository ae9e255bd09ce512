// The shape every benchmark returns, and its two renderings: the console table and BENCHMARKS.md.
import * as os from "os";
import { execFileSync } from "child_process";

/** One figure: what was measured, its value, and the target where there is one. */
export interface ResultRow {
  what: string;
  value: string;
  target?: string;
  /** Whether the value meets the target (absent when there is no target). */
  met?: boolean;
}

/** One benchmark's outcome. */
export interface BenchSection {
  /** The BENCH_ONLY name that runs this benchmark alone. */
  id: string;
  title: string;
  /** How to reproduce exactly these figures. */
  command: string;
  rows: ResultRow[];
  /** Markdown paragraphs and tables: setup, every run, breakdowns. */
  details: string[];
}

/** nproc, memory, CPU model, node and OpenSSH versions: the "machine kind" of the figures. */
export function machineDescription(): string {
  const ssh = (() => {
    try {
      return execFileSync("ssh", ["-V"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    } catch (e) {
      return String((e as { stderr?: string }).stderr ?? "").trim();
    }
  })();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(", ");
  return (
    `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "unknown CPU"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `Linux ${os.release()}, node ${process.version}, ${ssh}; load average at the end of the run: ${load} (shared machine)`
  );
}

/** The console table: one line per figure. */
export function consoleTable(sections: BenchSection[]): string {
  const lines: string[][] = [["benchmark", "measure", "value", "target", "met"]];
  for (const s of sections) {
    for (const r of s.rows)
      lines.push([s.id, r.what, r.value, r.target ?? "", r.met === undefined ? "" : r.met ? "yes" : "NO"]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** BENCHMARKS.md: machine, date, command, the summary table, then each section's details. */
export function markdownReport(
  sections: BenchSection[],
  meta: { command: string; date: string; durationMs: number; intro: string[] },
): string {
  const out: string[] = [
    "# Benchmarks",
    "",
    ...meta.intro,
    "",
    `- Machine: ${machineDescription()}`,
    `- Date: ${meta.date}; the whole run took ${(meta.durationMs / 60000).toFixed(1)} min`,
    `- Command: \`${meta.command}\` (each section names the command that reruns it alone)`,
    "",
    "## Summary",
    "",
    "| benchmark | measure | value | target | met |",
    "|---|---|---|---|---|",
  ];
  for (const s of sections) {
    for (const r of s.rows)
      out.push(
        `| ${s.id} | ${r.what} | ${r.value} | ${r.target ?? ""} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} |`,
      );
  }
  for (const s of sections) {
    out.push("", `## ${s.title}`, "", `Reproduce: \`${s.command}\``, "", ...s.details);
  }
  return out.join("\n") + "\n";
}
