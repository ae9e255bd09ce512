// One round trip that reads every host fact the rules need, with no side effect: OS, arch,
// start_erl.data, emqx_vars, the names in releases/, the running release's relup, hot patches.
import { EmqxOutputParseError } from "../errors";
import { HostFacts, editionFromDescription, mapArch, osIdFromOsRelease, otpMajorFromErts } from "../plan/host-facts";
import { parseRelup } from "../plan/relup";
import { parseEmqxVars } from "./parse-emqx-vars";

/** The shell script run as `sh -c <script> sh <root> <running version>`; sections marked `@@name`. */
export const PROBE_SCRIPT = [
  'root="$1"; running="$2"',
  'echo "@@os-release"; cat /etc/os-release 2>/dev/null',
  'echo "@@uname"; uname -m',
  'echo "@@start_erl"; cat "$root/releases/start_erl.data" 2>/dev/null; echo',
  'echo "@@emqx_vars"; cat "$root/releases/emqx_vars" 2>/dev/null',
  'echo "@@releases"; ls -1a "$root/releases" 2>/dev/null',
  'echo "@@relup"; cat "$root/releases/$running/relup" 2>/dev/null',
  'echo "@@patches"; ls -1 "$root/data/patches" 2>/dev/null',
  'echo "@@end"',
].join("\n");

/** Everything the probe read, parsed. */
export interface ProbeResult {
  facts: HostFacts;
  /** File names in `<root>/releases/`. */
  releaseFiles: string[];
  /** The REL_VSN assignments of emqx_vars, oldest first (the last one is in force). */
  relVsnHistory: string[];
  /** `*.beam` hot patches in data/patches (EMQX docs: delete them before upgrading). */
  hotPatches: string[];
  runnerUser: string | undefined;
}

function sections(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  let name: string | undefined;
  for (const line of stdout.replace(/\r/g, "").split("\n")) {
    const m = /^@@([a-z_-]{1,20})$/.exec(line);
    if (m) {
      name = m[1];
      out[name] = "";
    } else if (name) out[name] += line + "\n";
  }
  return out;
}

/** Parses the probe's output. `argv` is for error messages. */
export function parseProbe(stdout: string, argv: string[]): ProbeResult {
  const s = sections(stdout);
  const fail = (what: string) => new EmqxOutputParseError({ argv, output: stdout, what });
  if (s.end === undefined) throw fail("the probe output is incomplete (no @@end)");
  const osId = osIdFromOsRelease(s["os-release"] ?? "");
  if (!osId) throw fail("/etc/os-release has no ID/VERSION_ID");
  const unameM = (s.uname ?? "").trim();
  const arch = mapArch(unameM);
  if (!arch) throw fail(`unknown architecture ${JSON.stringify(unameM)} (EMQX builds amd64, arm64, arm)`);
  const { vars, relVsnHistory } = parseEmqxVars(s.emqx_vars ?? "");
  // start_erl.data is "<erts> <vsn>"; emqx_vars' ERTS_VSN is the fallback.
  const erts = (s.start_erl ?? "").trim().split(/\s+/)[0] || vars.ERTS_VSN || "";
  const otpMajor = otpMajorFromErts(erts);
  if (otpMajor === undefined) throw fail(`cannot tell the OTP version from ERTS ${JSON.stringify(erts)} (releases/start_erl.data)`);
  let relupDownTo: string[] = [];
  if ((s.relup ?? "").trim() !== "") {
    try {
      relupDownTo = parseRelup(s.relup).downTo;
    } catch (e) {
      throw fail(`the running release's relup does not parse: ${(e as Error).message}`);
    }
  }
  return {
    facts: {
      osId,
      arch,
      otpMajor,
      edition: editionFromDescription(vars.EMQX_DESCRIPTION),
      binScriptsVersion: relVsnHistory[relVsnHistory.length - 1] ?? vars.REL_VSN ?? "",
      relupDownTo,
    },
    releaseFiles: (s.releases ?? "").split("\n").filter((f) => f !== "" && f !== "." && f !== ".."),
    relVsnHistory,
    hotPatches: (s.patches ?? "").split("\n").filter((f) => f.endsWith(".beam")),
    runnerUser: vars.RUNNER_USER || undefined,
  };
}
