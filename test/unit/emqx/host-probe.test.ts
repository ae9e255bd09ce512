// The host probe: one shell script that reads every host fact, and the parser of its sections.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmqxOutputParseError } from "../../../provider/errors";
import { newProbeMarker, parseProbe, probeArgv } from "../../../provider/emqx/host-probe";
import { osIdFromOsRelease } from "../../../provider/plan/host-facts";
import { relupFileText } from "../../../sandbox/package-zip";
import { frameProbeOutput } from "../../support/probe-output";

const MARKER = "@@0123456789abcdef:";
const ARGV = probeArgv("/opt/emqx", "4.4.10", undefined, MARKER);

/** Probe output as the script prints it, with sections overridable (undefined drops a section). */
function probeOutput(over: Record<string, string | undefined> = {}): string {
  const sections: Record<string, string | undefined> = {
    "os-release": 'PRETTY_NAME="Ubuntu 20.04.6 LTS"\nID=ubuntu\nVERSION_ID="20.04"\n',
    uname: "x86_64\n",
    start_erl: "12.1.5 4.4.10\n",
    emqx_vars:
      'REL_VSN="4.4.0"\nERTS_VSN="12.1.5"\nRUNNER_USER=""\nEMQX_DESCRIPTION=\'EMQ X Broker\'\n## overwritten vars here\nREL_VSN="4.4.10"\nERTS_VSN="12.1.5"\n',
    releases:
      ".\n..\n4.4.0\n4.4.10\nRELEASES\nemqx_vars\nstart_erl.data\nemqx-4.4.10-otp24.1.5-3-ubuntu20.04-amd64.zip\n",
    relup: relupFileText({ version: "4.4.10", relupFrom: ["4.4.9"], relupDownTo: ["4.4.9", "4.4.0"] }),
    data_dir: "/opt/emqx/data\n",
    patches: "emqx_mod.beam\nREADME\n",
    df: "Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/sda1         41152736 20000000  19040000      52% /\ntmpfs              1024000      100   1023900       1% /tmp\n",
    untar: "/tmp/emqx_untar_1701330000000000000\n",
    bin_sha256: `${"a".repeat(64)}  /opt/emqx/bin/emqx\n${"a".repeat(64)}  /opt/emqx/bin/emqx-4.4.10\n`,
    target_dir: ".\n..\nemqx.tar.gz\n",
    whoami: "emqx\n",
    downloaders: "/usr/bin/curl\n",
    end: "",
  };
  Object.assign(sections, over);
  return frameProbeOutput(
    MARKER,
    Object.entries(sections).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

test("reads every fact of the node from the probe's sections", () => {
  expect(parseProbe(probeOutput(), ARGV, MARKER)).toEqual({
    facts: {
      osId: "ubuntu20.04",
      arch: "amd64",
      otpMajor: 24,
      edition: "ce",
      binScriptsVersion: "4.4.10",
      relupDownTo: ["4.4.9", "4.4.0"],
    },
    releaseFiles: [
      "4.4.0",
      "4.4.10",
      "RELEASES",
      "emqx_vars",
      "start_erl.data",
      "emqx-4.4.10-otp24.1.5-3-ubuntu20.04-amd64.zip",
    ],
    relVsnHistory: ["4.4.0", "4.4.10"],
    hotPatches: ["emqx_mod.beam"],
    runnerUser: undefined,
    dataDir: "/opt/emqx/data",
    description: "EMQ X Broker",
    ertsVersion: "12.1.5",
    diskFree: {
      root: { filesystem: "/dev/sda1", availableKb: 19040000, mountedOn: "/" },
      tmp: { filesystem: "tmpfs", availableKb: 1023900, mountedOn: "/tmp" },
    },
    untarDirs: ["/tmp/emqx_untar_1701330000000000000"],
    binEmqxIsRunning: true,
    targetDirFiles: ["emqx.tar.gz"],
    user: "emqx",
    downloaders: ["curl"],
  });
});

// Row: [case, section overrides, the part of the result expected]
const ROWS: [string, Record<string, string | undefined>, object][] = [
  [
    "takes ERTS from emqx_vars when start_erl.data is missing",
    { start_erl: "\n", emqx_vars: 'ERTS_VSN="13.2.2"\nREL_VSN="4.4.18"\n' },
    { facts: expect.objectContaining({ otpMajor: 25, binScriptsVersion: "4.4.18" }) },
  ],
  [
    "reads an Enterprise node run by a RUNNER_USER",
    { emqx_vars: 'REL_VSN="4.4.10"\nERTS_VSN="12.1.5"\nRUNNER_USER="emqx"\nEMQX_DESCRIPTION=\'EMQX Enterprise\'\n' },
    { runnerUser: "emqx", facts: expect.objectContaining({ edition: "ee" }) },
  ],
  [
    "a release without relup can hot-downgrade to nothing",
    { relup: "" },
    { facts: expect.objectContaining({ relupDownTo: [] }) },
  ],
  [
    "maps aarch64 and an EL os-release to EMQX's tokens",
    { uname: "aarch64\n", "os-release": 'ID="rocky"\nVERSION_ID="8.9"\n' },
    { facts: expect.objectContaining({ arch: "arm64", osId: "el8" }) },
  ],
  ["an empty releases/ and no patches directory", { releases: "", patches: "" }, { releaseFiles: [], hotPatches: [] }],
  ["wget only (command -v prints its path)", { downloaders: "/usr/local/bin/wget\n" }, { downloaders: ["wget"] }],
  ["neither curl nor wget", { downloaders: "" }, { downloaders: [] }],
  ["CRLF line ends", { uname: "x86_64\r\n" }, { facts: expect.objectContaining({ arch: "amd64" }) }],
  [
    "bin/emqx differs from bin/emqx-<running> (a half-done permafy)",
    { bin_sha256: `${"a".repeat(64)}  /opt/emqx/bin/emqx\n${"b".repeat(64)}  /opt/emqx/bin/emqx-4.4.10\n` },
    { binEmqxIsRunning: false },
  ],
  [
    "bin/emqx-<running> missing: unknown, not a mismatch",
    { bin_sha256: `${"a".repeat(64)}  /opt/emqx/bin/emqx\n` },
    { binEmqxIsRunning: undefined },
  ],
  [
    "df wraps a long filesystem name onto its own line",
    {
      df: "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/mapper/vg0-very--long--logical--volume\n 1000 10 990 1% /usr/lib/emqx\n",
    },
    {
      diskFree: {
        root: {
          filesystem: "/dev/mapper/vg0-very--long--logical--volume",
          availableKb: 990,
          mountedOn: "/usr/lib/emqx",
        },
        tmp: undefined,
      },
    },
  ],
  [
    "no df, no untar dirs, no target dir",
    { df: "", untar: "", target_dir: "" },
    { diskFree: { root: undefined, tmp: undefined }, untarDirs: [], targetDirFiles: [] },
  ],
  [
    "an Edge node",
    { emqx_vars: 'REL_VSN="4.4.10"\nERTS_VSN="12.1.5"\nEMQX_DESCRIPTION=\'EMQ X Edge\'\n' },
    { description: "EMQ X Edge" },
  ],
];
test.each(ROWS)("%s", (_name, over, expected) => {
  expect(parseProbe(probeOutput(over), ARGV, MARKER)).toMatchObject(expected);
});

// Row: [case, section overrides, error fragment]
const FAILURES: [string, Record<string, string | undefined>, string][] = [
  [
    "fails when the output stops before @@end (connection cut, script killed)",
    { end: undefined },
    "incomplete (no end marker)",
  ],
  [
    "fails when /etc/os-release has no VERSION_ID",
    { "os-release": "ID=arch\n" },
    "/etc/os-release has no ID/VERSION_ID",
  ],
  ["fails for an architecture EMQX does not build", { uname: "riscv64\n" }, 'unknown architecture "riscv64"'],
  [
    "fails when no ERTS version is anywhere",
    { start_erl: "\n", emqx_vars: 'REL_VSN="4.4.10"\n' },
    "cannot tell the OTP version",
  ],
  ["fails for an ERTS older than OTP 23", { start_erl: "10.7 4.4.10\n" }, 'from ERTS "10.7"'],
  ["fails when the running release's relup does not parse", { relup: '{"4.4.10", [' }, "relup does not parse"],
];
test.each(FAILURES)("%s", (_name, over, fragment) => {
  expect(() => parseProbe(probeOutput(over), ARGV, MARKER)).toThrow(
    expect.objectContaining({
      name: "EmqxOutputParseError",
      __emqxProviderError: true,
      message: expect.stringContaining(fragment),
    }),
  );
});

test("parses megabytes of output quickly", () => {
  const start = Date.now();
  expect(() => parseProbe(`\n${MARKER}` + "a".repeat(3_000_000) + `\n${MARKER}uname\n`, ARGV, MARKER)).toThrow(
    EmqxOutputParseError,
  );
  expect(parseProbe(probeOutput({ patches: "x.beam\n".repeat(200_000) }), ARGV, MARKER).hotPatches).toHaveLength(
    200_000,
  );
  expect(Date.now() - start).toBeLessThan(3000);
});

/** Runs the probe script with sh as the provider runs it (fresh marker), and parses what it printed. */
function runProbe(root: string, running: string, target?: string) {
  const marker = newProbeMarker();
  const argv = probeArgv(root, running, target, marker);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, marker, parse: () => parseProbe(r.stdout, argv, marker) };
}

// releases/emqx_vars as EMQX 4.4.16's template renders it and permafy appends to it, after an
// upgrade to 4.4.17, a downgrade and an install again (what a real node holds; docs/emqx-4.4-hot-upgrade.md §2.7).
const EMQX_VARS_AFTER_PERMAFY = [
  "######################################################################",
  "## NOTE: Do NOT replace this file during release upgrade.",
  "##       Update the vars to the end of this file instead.",
  "######################################################################",
  "## constants from relx template",
  'REL_VSN="4.4.16"',
  'ERTS_VSN="13.1.5"',
  'ERL_OPTS=""',
  'RUNNER_BIN_DIR="$RUNNER_ROOT_DIR/bin"',
  'RUNNER_LOG_DIR="$RUNNER_ROOT_DIR/log"',
  'RUNNER_LIB_DIR="$RUNNER_ROOT_DIR/lib"',
  'RUNNER_ETC_DIR="$RUNNER_ROOT_DIR/etc"',
  'RUNNER_DATA_DIR="$RUNNER_ROOT_DIR/data"',
  'RUNNER_USER=""',
  "EMQX_DESCRIPTION='EMQX Broker'",
  "",
  "## Do not change EMQX_DEFAULT_ERLANG_COOKIE.",
  "## Configure EMQX_NODE_COOKIE instead",
  "EMQX_DEFAULT_ERLANG_COOKIE='emqxsecretcookie'",
  "",
  "## Warning: DO NOT create new variables using the above vars in this file,",
  "## as the vars above can be overwritten by the relup scripts later, like:",
  '## REL_VSN="new_version"',
  "",
  "## overwritten vars here",
  'REL_VSN="4.4.17"',
  'ERTS_VSN="13.1.5"',
  'REL_VSN="4.4.16"',
  'ERTS_VSN="13.1.5"',
  'REL_VSN="4.4.17"',
  'ERTS_VSN="13.1.5"',
  "",
].join("\n");

describe("the script, run by sh", () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "host-probe-"));
    fs.mkdirSync(path.join(root, "releases", "4.4.10"), { recursive: true });
    fs.mkdirSync(path.join(root, "data", "patches"), { recursive: true });
    fs.writeFileSync(path.join(root, "releases", "start_erl.data"), "12.1.5 4.4.10");
    fs.writeFileSync(
      path.join(root, "releases", "emqx_vars"),
      'REL_VSN="4.4.0"\nERTS_VSN="12.1.5"\nRUNNER_USER=""\n## overwritten vars here\nREL_VSN="4.4.10"\n',
    );
    fs.writeFileSync(
      path.join(root, "releases", "4.4.10", "relup"),
      relupFileText({ version: "4.4.10", relupFrom: ["4.4.9"], relupDownTo: ["4.4.9"] }) as string,
    );
    fs.writeFileSync(path.join(root, "releases", ".emqx-release-upload-0123.part"), "");
    fs.writeFileSync(path.join(root, "data", "patches", "emqx_mod.beam"), "");
    fs.mkdirSync(path.join(root, "bin"));
    fs.writeFileSync(path.join(root, "bin", "emqx"), "#!/bin/sh\n# 4.4.10\n");
    fs.writeFileSync(path.join(root, "bin", "emqx-4.4.10"), "#!/bin/sh\n# 4.4.10\n");
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test("prints every section the parser reads", () => {
    const run = runProbe(root, "4.4.10");
    expect(run.status).toBe(0);
    const probe = run.parse();
    const machine = os.arch() === "x64" ? "amd64" : os.arch();
    expect(probe.facts).toEqual({
      osId: osIdFromOsRelease(fs.readFileSync("/etc/os-release", "utf8")),
      arch: machine,
      otpMajor: 24,
      edition: "ce",
      binScriptsVersion: "4.4.10",
      relupDownTo: ["4.4.9"],
    });
    // `ls -1a`: dot files count, so a leftover upload is seen by the glob check in create.
    expect(probe.releaseFiles.sort()).toEqual([
      ".emqx-release-upload-0123.part",
      "4.4.10",
      "emqx_vars",
      "start_erl.data",
    ]);
    expect(probe.hotPatches).toEqual(["emqx_mod.beam"]);
    expect(probe.dataDir).toBe(path.join(root, "data"));
    expect(probe.binEmqxIsRunning).toBe(true);
    expect(probe.user).toBe(os.userInfo().username);
    expect(probe.diskFree.root?.availableKb).toBeGreaterThan(0);
    expect(probe.diskFree.tmp?.availableKb).toBeGreaterThan(0);
  });

  test("reads a node installed from an EMQX 4.4.2+ package: relup and start_erl.data without a final newline, emqx_vars after permafy", () => {
    // GIVEN the files exactly as EMQX leaves them: inject-relup.escript's `~p.` relup (no final
    // newline), start_erl.data "<erts> <vsn>" (no final newline), the 4.4 emqx_vars template with
    // permafy's appended assignments.
    const relup = relupFileText({ version: "4.4.17", relupFrom: ["4.4.16"], relupDownTo: ["4.4.16"] }) as string;
    expect(relup.endsWith("]}.")).toBe(true);
    const node = fs.mkdtempSync(path.join(os.tmpdir(), "host-probe-442-"));
    try {
      fs.mkdirSync(path.join(node, "releases", "4.4.17"), { recursive: true });
      fs.writeFileSync(path.join(node, "releases", "4.4.17", "relup"), relup);
      fs.writeFileSync(path.join(node, "releases", "start_erl.data"), "13.1.5 4.4.17");
      fs.writeFileSync(path.join(node, "releases", "emqx_vars"), EMQX_VARS_AFTER_PERMAFY);
      // WHEN the probe reads them
      const probe = runProbe(node, "4.4.17").parse();
      // THEN every fact comes out whole: the relup's way down, the ERTS, the bin scripts' version
      expect(probe.facts).toMatchObject({
        relupDownTo: ["4.4.16"],
        otpMajor: 25,
        binScriptsVersion: "4.4.17",
        edition: "ce",
      });
      expect(probe.ertsVersion).toBe("13.1.5");
      expect(probe.relVsnHistory).toEqual(["4.4.16", "4.4.17", "4.4.16", "4.4.17"]);
      expect(probe.description).toBe("EMQX Broker");
      expect(probe.dataDir).toBe(path.join(node, "data"));
    } finally {
      fs.rmSync(node, { recursive: true, force: true });
    }
  });

  test("a file holding marker-like lines, or ending mid-line, cannot move a section boundary", () => {
    const node = fs.mkdtempSync(path.join(os.tmpdir(), "host-probe-hostile-"));
    try {
      fs.mkdirSync(path.join(node, "releases", "4.4.17"), { recursive: true });
      fs.writeFileSync(
        path.join(node, "releases", "4.4.17", "relup"),
        relupFileText({ version: "4.4.17", relupFrom: ["4.4.16"] }) as string,
      );
      fs.writeFileSync(path.join(node, "releases", "start_erl.data"), "13.1.5 4.4.17");
      // emqx_vars with lines shaped like the old fixed markers and like a marker of another run,
      // and no final newline.
      fs.writeFileSync(
        path.join(node, "releases", "emqx_vars"),
        `REL_VSN="4.4.17"\n@@relup\n@@end\n${newProbeMarker()}relup\nEMQX_DESCRIPTION='EMQX Enterprise'`,
      );
      const run = runProbe(node, "4.4.17");
      const probe = run.parse();
      expect(probe.facts).toMatchObject({ relupDownTo: ["4.4.16"], edition: "ee", binScriptsVersion: "4.4.17" });
    } finally {
      fs.rmSync(node, { recursive: true, force: true });
    }
  });

  test("follows RUNNER_DATA_DIR of a deb/rpm install to its patches, and compares bin/emqx with bin/emqx-<running>", () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "host-probe-data-"));
    try {
      fs.mkdirSync(path.join(data, "patches"));
      fs.writeFileSync(path.join(data, "patches", "emqx_hotfix.beam"), "");
      const vars = path.join(root, "releases", "emqx_vars");
      const before = fs.readFileSync(vars, "utf8");
      fs.writeFileSync(vars, `${before}RUNNER_DATA_DIR="${data}"\n`);
      fs.writeFileSync(path.join(root, "bin", "emqx"), "#!/bin/sh\n# 4.4.0\n");
      try {
        const probe = runProbe(root, "4.4.10", "4.4.16").parse();
        expect(probe).toMatchObject({
          dataDir: data,
          hotPatches: ["emqx_hotfix.beam"],
          binEmqxIsRunning: false,
          targetDirFiles: [],
        });
      } finally {
        fs.writeFileSync(vars, before);
        fs.writeFileSync(path.join(root, "bin", "emqx"), "#!/bin/sh\n# 4.4.10\n");
      }
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });

  test("a root without releases/ still ends with the end marker, so the parser names what is missing", () => {
    const run = runProbe(path.join(root, "missing"), "4.4.10");
    expect(run.status).toBe(0);
    expect(run.stdout.endsWith(`\n${run.marker}end\n`)).toBe(true);
    expect(run.parse).toThrow(/cannot tell the OTP version from ERTS ""/);
  });
});
