// Probe output framed the way provider/emqx/host-probe.ts's PROBE_SCRIPT frames it, for fixture
// runners that answer the probe without a shell.

/** The marker of a probe run: the last element of the probe's argv (probeArgv), sudo prefix or not. */
export function probeMarkerOf(argv: string[]): string {
  return argv[argv.length - 1];
}

/** Each section as the script prints it: a newline, `<marker><name>`, a newline, then the body exactly. */
export function frameProbeOutput(marker: string, sections: [name: string, body: string][]): string {
  return sections.map(([name, body]) => `\n${marker}${name}\n${body}`).join("");
}
