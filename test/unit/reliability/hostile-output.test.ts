// Hostile and malformed command output (RELIABILITY.md "input" rows): what EMQX's CLI, a login
// shell or a broken link may print, through the parsers the provider reads every answer with.
// Each row either parses to the right value (noise removed) or fails with EmqxOutputParseError
// naming what was missing; never a wrong value, another error class or an unbounded message.
import * as fc from "fast-check";
import { EmqxOutputParseError } from "../../../provider/errors";
import { parseClusterStatus } from "../../../provider/emqx/parse-cluster-status";
import { parseCtlStatus } from "../../../provider/emqx/parse-ctl-status";
import { parseEmqxVars } from "../../../provider/emqx/parse-emqx-vars";
import { parseRootDir } from "../../../provider/emqx/parse-root-dir";
import { parseVersions } from "../../../provider/emqx/parse-versions";
import { reliabilityEach, ReliabilityRow, reliabilityTest } from "../../support/reliability";

const ARGV = ["/opt/emqx/bin/emqx", "versions"];
const ULIMIT = "!!!!\n!!!! WARNING: ulimit -n is 512; 1024 is the recommended minimum.\n!!!!\n";
const red = (s: string) => `\u001b[31;1m${s}\u001b[0m`;
const crlf = (s: string) => s.replace(/\n/g, "\r\n");
/** The longest message an EmqxOutputParseError may carry, whatever the output's size. */
const MAX_MESSAGE = 4_000;

const VERSIONS = "Installed versions:\n* 4.4.16\tpermanent\n* 4.4.0\told\n\n";
const VERSIONS_PARSED = [
  { version: "4.4.16", status: "permanent" },
  { version: "4.4.0", status: "old" },
];
const STATUS = "Node 'emqx@127.0.0.1' 4.4.16 is started\n";
const STATUS_PARSED = { node: "emqx@127.0.0.1", version: "4.4.16", status: "started" };
const CLUSTER =
  "Cluster status: #{running_nodes => ['emqx@node1.example.internal',\n                                      'emqx@node2.example.internal'],\n                    stopped_nodes => []}\n";
const CLUSTER_PARSED = {
  runningNodes: ["emqx@node1.example.internal", "emqx@node2.example.internal"],
  stoppedNodes: [],
};
const MB8 = `${"x".repeat(1023)}\n`.repeat(8 * 1024);

/** Row shape: the parse to run and either the value it must return or the fragment its
 * EmqxOutputParseError must name. */
interface OutputRow extends ReliabilityRow {
  parse(): unknown;
  want: { value: unknown } | { fragment: string };
}

const row = (c: string, parse: () => unknown, want: OutputRow["want"]): OutputRow => ({
  area: "input",
  case: c,
  expected:
    "value" in want
      ? `parsed as ${JSON.stringify(want.value)}`
      : `EmqxOutputParseError "${want.fragment}" (message under ${MAX_MESSAGE} characters)`,
  parse,
  want,
});
const versions = (out: string) => () => parseVersions(out, ARGV);
const status = (out: string) => () => parseCtlStatus(out, ["emqx", "ctl", "status"]);
const rootDir = (out: string) => () => parseRootDir(out, ["emqx", "root_dir"]);
const cluster = (out: string) => () => parseClusterStatus(out, ["emqx", "ctl", "cluster", "status"]);
const relVsn = (text: string) => () => parseEmqxVars(text).vars.REL_VSN;

const ROWS: OutputRow[] = [
  row("emqx versions with CRLF line ends", versions(crlf(VERSIONS)), { value: VERSIONS_PARSED }),
  row(
    "emqx versions in ANSI colours",
    versions(`${red("Installed versions:")}\n${red("* 4.4.16\tpermanent")}\n* 4.4.0\told\n`),
    { value: VERSIONS_PARSED },
  ),
  row("emqx versions after bin/emqx's ulimit warning", versions(ULIMIT + VERSIONS), { value: VERSIONS_PARSED }),
  row(
    "emqx versions behind a login shell's window title (OSC) and tput sgr0 resets",
    versions(`\u001b]0;root@node1: ~\u0007${VERSIONS.replace(/\n/g, "\u001b(B\u001b[m\n")}`),
    { value: VERSIONS_PARSED },
  ),
  row("emqx versions after 8 MB of other output", versions(MB8 + VERSIONS), { value: VERSIONS_PARSED }),
  row("emqx versions truncated after the header", versions("Installed versions:\n"), {
    fragment: "no installed release listed",
  }),
  row('emqx versions truncated mid-line ("* 4.4.1")', versions("Installed versions:\n* 4.4.16\tpermanent\n* 4.4.1"), {
    fragment: 'unexpected line "* 4.4.1"',
  }),
  row(
    "emqx versions with a shell command in a version",
    versions("Installed versions:\n* 4.4.16;reboot\tpermanent\n"),
    { fragment: "unexpected line" },
  ),
  row("emqx versions: empty output", versions(""), { fragment: 'no "Installed versions:" line' }),
  row("emqx versions: 8 MB without a header", versions(MB8), { fragment: 'no "Installed versions:" line' }),
  row("ctl status with CRLF and ANSI colours", status(crlf(red(STATUS))), { value: STATUS_PARSED }),
  row("ctl status after the ulimit warning", status(ULIMIT + STATUS), { value: STATUS_PARSED }),
  row("ctl status truncated mid-version", status("Node 'emqx@127.0.0.1' 4.4."), {
    fragment: "no \"Node '<name>' <version> is <status>\" line",
  }),
  row("ctl status of a node not responding to pings", status("Node 'emqx@127.0.0.1' not responding to pings.\n"), {
    fragment: "no \"Node '<name>' <version> is <status>\" line",
  }),
  row("ctl status with a shell command in the version", status("Node 'emqx@h' 4.4.16;id is started\n"), {
    fragment: "no \"Node '<name>' <version> is <status>\" line",
  }),
  row("ctl status: 8 MB of one line", status("x".repeat(8 * 1024 * 1024)), {
    fragment: "no \"Node '<name>' <version> is <status>\" line",
  }),
  row("root_dir with CRLF", rootDir('"/usr/lib/emqx"\r\n'), { value: "/usr/lib/emqx" }),
  row("root_dir in ANSI colours after the ulimit warning", rootDir(`${ULIMIT}${red('"/usr/lib/emqx"')}\n`), {
    value: "/usr/lib/emqx",
  }),
  row("root_dir with a trailing slash", rootDir('"/usr/lib/emqx/"\n'), { value: "/usr/lib/emqx" }),
  row("root_dir relative", rootDir('"usr/lib/emqx"\n'), { fragment: "expected an absolute path in double quotes" }),
  row("root_dir with an embedded quote", rootDir('"/usr/lib/em"qx"\n'), {
    fragment: "expected an absolute path in double quotes",
  }),
  row("root_dir truncated (no closing quote)", rootDir('"/usr/lib/em'), {
    fragment: "expected an absolute path in double quotes",
  }),
  row("root_dir: 8 MB of one path", rootDir(`"/${"a".repeat(8 * 1024 * 1024)}"`), {
    fragment: "expected an absolute path in double quotes",
  }),
  row("cluster status wrapped over lines, CRLF", cluster(crlf(CLUSTER)), { value: CLUSTER_PARSED }),
  row("cluster status in ANSI colours after the ulimit warning", cluster(ULIMIT + red(CLUSTER)), {
    value: CLUSTER_PARSED,
  }),
  row("cluster status truncated mid-map", cluster(CLUSTER.slice(0, 80)), {
    fragment: "the cluster status is not an Erlang term",
  }),
  row("cluster status nested 100000 lists deep", cluster(`Cluster status: ${"[".repeat(100_000)}`), {
    fragment: "the cluster status is not an Erlang term",
  }),
  row(
    "cluster status with atoms where node lists belong",
    cluster("Cluster status: #{running_nodes => reboot, stopped_nodes => []}\n"),
    { fragment: "no list of node names under running_nodes" },
  ),
  row("emqx_vars with CRLF: the last REL_VSN wins", relVsn('REL_VSN="4.4.16"\r\nREL_VSN="4.4.0"\r\n'), {
    value: "4.4.0",
  }),
  row("emqx_vars with a command after an assignment", relVsn('REL_VSN="4.4.0"\nREL_VSN="4.4.16"; reboot\n'), {
    value: "4.4.0",
  }),
];

reliabilityEach(ROWS, (r) => {
  let value: unknown;
  let error: unknown;
  try {
    value = r.parse();
  } catch (e) {
    error = e;
  }
  if ("value" in r.want) {
    if (error !== undefined) throw error;
    expect(value).toEqual(r.want.value);
  } else {
    if (error === undefined)
      throw new Error(`parsed as ${JSON.stringify(value)}, but EmqxOutputParseError was expected`);
    if (!EmqxOutputParseError.isInstance(error)) throw error;
    expect(error.message).toContain(r.want.fragment);
    expect(error.message.length).toBeLessThan(MAX_MESSAGE);
  }
});

reliabilityTest(
  {
    area: "input",
    case: "random output (fast-check, 300 runs of arbitrary Unicode, control characters and bytes read as UTF-8) to every parser",
    expected:
      "each parser returns a well-formed value or throws EmqxOutputParseError with a bounded message; nothing else",
  },
  () => {
    const output = fc.oneof(
      fc.string({ unit: "binary", maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString("utf8")),
      // Near misses: real answers with random text spliced in.
      fc
        .tuple(
          fc.constantFrom(VERSIONS, STATUS, CLUSTER, '"/usr/lib/emqx"\n', ULIMIT),
          fc.nat(),
          fc.string({ unit: "binary", maxLength: 20 }),
        )
        .map(([s, at, junk]) => s.slice(0, at % (s.length + 1)) + junk + s.slice(at % (s.length + 1))),
    );
    const parsers: Array<[string, (out: string) => unknown, (v: unknown) => boolean]> = [
      [
        "versions",
        (o) => parseVersions(o, ARGV),
        (v) => Array.isArray(v) && v.length > 0 && v.every((r) => /^[0-9A-Za-z.+-]{1,64}$/.test(r.version)),
      ],
      [
        "ctl status",
        (o) => parseCtlStatus(o, ARGV),
        (v) => /^[0-9A-Za-z.+-]{1,64}$/.test((v as { version: string }).version),
      ],
      [
        "root_dir",
        (o) => parseRootDir(o, ARGV),
        (v) => typeof v === "string" && v.startsWith("/") && !/["\\\n]/.test(v),
      ],
      [
        "cluster status",
        (o) => parseClusterStatus(o, ARGV),
        (v) => Array.isArray((v as { runningNodes: unknown }).runningNodes),
      ],
      [
        "emqx_vars",
        (o) => parseEmqxVars(o),
        (v) => Object.values((v as { vars: Record<string, string> }).vars).every((x) => !x.includes("\n")),
      ],
    ];
    fc.assert(
      fc.property(output, (out) => {
        for (const [name, parse, wellFormed] of parsers) {
          try {
            const v = parse(out);
            if (!wellFormed(v)) throw new Error(`${name} returned a malformed value ${JSON.stringify(v)}`);
          } catch (e) {
            if (!EmqxOutputParseError.isInstance(e)) throw e;
            if (e.message.length >= MAX_MESSAGE) throw new Error(`${name}: message of ${e.message.length} characters`);
          }
        }
      }),
      { numRuns: 300 },
    );
  },
);
