// One round trip that reads every host fact the rules need, with no side effect: OS, arch,
// start_erl.data, emqx_vars, the names in releases/, the running release's relup, hot patches (in
// RUNNER_DATA_DIR, /var/lib/emqx on deb/rpm), free space of the root and /tmp, EMQX's
// /tmp/emqx_untar_* directories, whether bin/emqx is bin/emqx-<running>, the target's directory,
// and whether curl or wget is there.
import { randomBytes } from "crypto";
import { EmqxOutputParseError } from "../errors";
import { HostFacts, editionFromDescription, mapArch, osIdFromOsRelease, otpMajorFromErts } from "../plan/host-facts";
import type { DiskFree } from "../plan/preflight";
import { parseRelup } from "../plan/relup";
import { parseEmqxVars } from "./parse-emqx-vars";

/** Where EMQX's unpack leaves its `emqx_untar_<n>` directories (hard-coded in the 4.4 escript,
 * docs/emqx-4.4-hot-upgrade.md §2.5). */
export const UNTAR_BASE = "/tmp";

/** The shell script run as `sh -c <script> sh <root> <running version> <target version or ""> <marker>`
 * (see probeArgv). Reads only.
 *
 * Framing: every section starts with a newline, then `<marker><name>` on a line of its own. The
 * leading newline keeps a marker off the last line of a file that does not end with one (EMQX
 * 4.4.2+ writes every relup as `io_lib:format("~p.", [Term])`, with no final newline, and
 * start_erl.data has none either: docs/emqx-4.4-hot-upgrade.md §3.3, §3.4). The marker is random
 * per run, so no file the probe prints can contain a line that looks like one. Each section's
 * body is then exactly the bytes its commands printed. */
export const PROBE_SCRIPT = [
  'root="$1"; running="$2"; target="$3"; marker="$4"',
  'section() { printf \'\\n%s%s\\n\' "$marker" "$1"; }',
  "section os-release; cat /etc/os-release 2>/dev/null",
  "section uname; uname -m",
  'section start_erl; cat "$root/releases/start_erl.data" 2>/dev/null',
  'section emqx_vars; cat "$root/releases/emqx_vars" 2>/dev/null',
  'section releases; ls -1a "$root/releases" 2>/dev/null',
  'section relup; cat "$root/releases/$running/relup" 2>/dev/null',
  // RUNNER_DATA_DIR as bin/emqx sees it: the last assignment, quotes dropped, $RUNNER_ROOT_DIR expanded.
  `v=$(grep '^RUNNER_DATA_DIR=' "$root/releases/emqx_vars" 2>/dev/null | tail -n 1 | cut -d= -f2- | tr -d "\\"'")`,
  'case "$v" in \'$RUNNER_ROOT_DIR\'/*|\'${RUNNER_ROOT_DIR}\'/*) data="$root/${v#*/}";; /*) data="$v";; *) data="$root/data";; esac',
  'section data_dir; echo "$data"',
  'section patches; ls -1 "$data/patches" 2>/dev/null',
  'section df; df -Pk "$root" /tmp 2>/dev/null',
  `section untar; ls -1d ${UNTAR_BASE}/emqx_untar_* 2>/dev/null`,
  'section bin_sha256; sha256sum "$root/bin/emqx" "$root/bin/emqx-$running" 2>/dev/null',
  'section target_dir; [ -n "$target" ] && ls -1a "$root/releases/$target" 2>/dev/null',
  "section whoami; id -un",
  // What a node can download a packageUrl with (ssh/download.ts), as the user the probe runs as.
  'section downloaders; for t in curl wget; do command -v "$t"; done 2>/dev/null',
  "section end",
].join("\n");

/** A fresh section marker: `@@` and 16 random hex digits, then `:`. */
export function newProbeMarker(): string {
  return `@@${randomBytes(8).toString("hex")}:`;
}

/** The probe's argv: `sh -c <script> sh <root> <running> <target or ""> <marker>`. */
export function probeArgv(root: string, running: string, target?: string, marker = newProbeMarker()): string[] {
  return ["sh", "-c", PROBE_SCRIPT, "sh", root, running, target ?? "", marker];
}

/** Everything the probe read, parsed. */
export interface ProbeResult {
  facts: HostFacts;
  /** File names in `<root>/releases/`. */
  releaseFiles: string[];
  /** The REL_VSN assignments of emqx_vars, oldest first (the last one is in force). */
  relVsnHistory: string[];
  /** `*.beam` hot patches in `<data>/patches` (EMQX docs: delete them before upgrading). */
  hotPatches: string[];
  runnerUser: string | undefined;
  /** RUNNER_DATA_DIR (`<root>/data` for zip installs, /var/lib/emqx for deb/rpm). */
  dataDir: string;
  /** EMQX_DESCRIPTION of emqx_vars ("EMQX Broker", "EMQX Enterprise", "EMQ X Edge"). */
  description: string;
  /** Free space of the filesystems holding the root and /tmp (undefined when df printed nothing). */
  diskFree: { root?: DiskFree; tmp?: DiskFree };
  /** `/tmp/emqx_untar_*` directories present now. */
  untarDirs: string[];
  /** ERTS of the permanent release (releases/start_erl.data, else emqx_vars' ERTS_VSN). */
  ertsVersion: string;
  /** Whether `bin/emqx` has the content of `bin/emqx-<running>`; undefined when either is missing. */
  binEmqxIsRunning: boolean | undefined;
  /** Names in `releases/<target>/` (empty when the target was not given or has no directory). */
  targetDirFiles: string[];
  /** The user the probe ran as (the SSH user, or `runAs`). */
  user: string;
  /** The download tools on the PATH, curl first (a packageUrl needs one of them). */
  downloaders: Array<"curl" | "wget">;
}

/** Splits the probe's output into its sections by the run's marker (see PROBE_SCRIPT). Text before
 * the first marker (a login banner) is ignored; a section's body is exactly what was printed. */
function sections(stdout: string, marker: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = stdout.replace(/\r/g, "");
  const re = new RegExp(`\\n${marker.replace(/[^A-Za-z0-9]/g, "\\$&")}([a-z0-9_-]{1,20})\\n`, "g");
  let name: string | undefined;
  let bodyStart = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (name !== undefined) out[name] = text.slice(bodyStart, m.index);
    name = m[1];
    bodyStart = m.index + m[0].length;
  }
  if (name !== undefined) out[name] = text.slice(bodyStart);
  return out;
}

const lines = (text: string | undefined): string[] => (text ?? "").split("\n").filter((l) => l !== "");

/** `df -Pk a b`: a header, then one row per path in order (a long filesystem name may wrap). */
export function parseDf(text: string): DiskFree[] {
  const rows: DiskFree[] = [];
  let pending = "";
  for (const line of lines(text).slice(1)) {
    const fields = `${pending} ${line}`.trim().split(/\s+/);
    if (fields.length < 6) {
      pending = `${pending} ${line}`;
      continue;
    }
    pending = "";
    const availableKb = Number(fields[3]);
    if (Number.isFinite(availableKb))
      rows.push({ filesystem: fields[0], availableKb, mountedOn: fields.slice(5).join(" ") });
  }
  return rows;
}

/** Parses the output of the probe run with `marker`; `argv` (as run, maybe behind sudo) is for
 * error messages. */
export function parseProbe(stdout: string, argv: string[], marker: string): ProbeResult {
  const s = sections(stdout, marker);
  const fail = (what: string) => new EmqxOutputParseError({ argv, output: stdout, what });
  if (s.end === undefined) throw fail("the probe output is incomplete (no end marker)");
  const osId = osIdFromOsRelease(s["os-release"] ?? "");
  if (!osId) throw fail("/etc/os-release has no ID/VERSION_ID");
  const unameM = (s.uname ?? "").trim();
  const arch = mapArch(unameM);
  if (!arch) throw fail(`unknown architecture ${JSON.stringify(unameM)} (EMQX builds amd64, arm64, arm)`);
  const { vars, relVsnHistory } = parseEmqxVars(s.emqx_vars ?? "");
  // start_erl.data is "<erts> <vsn>"; emqx_vars' ERTS_VSN is the fallback.
  const erts = (s.start_erl ?? "").trim().split(/\s+/)[0] || vars.ERTS_VSN || "";
  const otpMajor = otpMajorFromErts(erts);
  if (otpMajor === undefined)
    throw fail(`cannot tell the OTP version from ERTS ${JSON.stringify(erts)} (releases/start_erl.data)`);
  let relupDownTo: string[] = [];
  if ((s.relup ?? "").trim() !== "") {
    try {
      relupDownTo = parseRelup(s.relup).downTo;
    } catch (e) {
      throw fail(`the running release's relup does not parse: ${(e as Error).message}`);
    }
  }
  const df = parseDf(s.df ?? "");
  // sha256sum prints "<hex>  <file>" per readable file, in argument order: bin/emqx, bin/emqx-<running>.
  const sums = lines(s.bin_sha256)
    .map((l) => /^\\?([0-9a-f]{64}) [ *](.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  const binEmqxIsRunning = sums.length === 2 && /\/bin\/emqx$/.test(sums[0][2]) ? sums[0][1] === sums[1][1] : undefined;
  return {
    facts: {
      osId,
      arch,
      otpMajor,
      edition: editionFromDescription(vars.EMQX_DESCRIPTION),
      binScriptsVersion: relVsnHistory[relVsnHistory.length - 1] ?? vars.REL_VSN ?? "",
      relupDownTo,
    },
    releaseFiles: lines(s.releases).filter((f) => f !== "." && f !== ".."),
    relVsnHistory,
    hotPatches: lines(s.patches).filter((f) => f.endsWith(".beam")),
    runnerUser: vars.RUNNER_USER || undefined,
    dataDir: (s.data_dir ?? "").trim(),
    description: vars.EMQX_DESCRIPTION ?? "",
    ertsVersion: erts,
    diskFree: { root: df[0], tmp: df[1] },
    untarDirs: lines(s.untar).filter((d) => d.startsWith(`${UNTAR_BASE}/emqx_untar_`)),
    binEmqxIsRunning,
    targetDirFiles: lines(s.target_dir).filter((f) => f !== "." && f !== ".."),
    user: (s.whoami ?? "").trim(),
    downloaders: (["curl", "wget"] as const).filter((t) => lines(s.downloaders).some((l) => l.endsWith(`/${t}`))),
  };
}
