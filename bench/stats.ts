// Small statistics for noisy shared machines: medians of several runs, ratios, and the formatting
// every table of the report uses.

/** The median of `values` (the mean of the two middle values for an even count); NaN when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Seconds with two decimals: 1372 -> "1.37 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Mebibytes with one decimal: 104857600 -> "100.0 MiB". */
export function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A ratio with two decimals: 0.8712 -> "0.87". */
export function ratio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : "n/a";
}

/** The runs of one measurement, sorted, for the report: "1.21 1.30 1.37 s". */
export function runList(ms: number[]): string {
  return `${[...ms]
    .sort((a, b) => a - b)
    .map((m) => (m / 1000).toFixed(2))
    .join(" ")} s`;
}

/** A positive integer from the environment, or `fallback` when unset or not a positive integer. */
export function envCount(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
