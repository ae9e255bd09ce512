// Pre-flight rules: one row per situation on a node, and what the rules say about it.
import { DiskFree, PreflightInput, preflightRefusals } from "../../../provider/plan/preflight";

const MIB = 1024 * 1024;
const disk = (availableMib: number, filesystem: string, mountedOn: string): DiskFree => ({
  filesystem,
  availableKb: availableMib * 1024,
  mountedOn,
});

const BASE: PreflightInput = {
  host: "10.0.0.7",
  target: "4.4.16",
  action: "upgrade",
  unpacks: true,
  permanentVersion: "4.4.10",
  binScriptsVersion: "4.4.10",
  description: "EMQ X Broker",
  rootDir: "/usr/lib/emqx",
  dataDir: "/var/lib/emqx",
  hotPatches: [],
  diskFree: { root: disk(10_000, "/dev/sda1", "/"), tmp: disk(2_000, "tmpfs", "/tmp") },
  targetDirFiles: [],
  pkg: { fileName: "emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip", sizeBytes: 60 * MIB, uncompressedBytes: 140 * MIB },
};

// Row: [case, changes to BASE, "" when nothing is refused, else "<kind>: <fragment of the reason>"]
const ROWS: [string, Partial<PreflightInput>, string][] = [
  ["a clean deb node with room to spare goes ahead", {}, ""],
  [
    "fails for an Edge node",
    { description: "EMQ X Edge" },
    "unsupported: runs EMQX Edge (EMQX_DESCRIPTION 'EMQ X Edge' in /usr/lib/emqx/releases/emqx_vars)",
  ],
  ["adopting an Edge node changes nothing, so it is not refused", { description: "EMQ X Edge", action: "adopt" }, ""],
  [
    "fails for hot patches in RUNNER_DATA_DIR/patches",
    { hotPatches: ["emqx_mod.beam", "emqx_cm.beam"] },
    "host-state: 10.0.0.7: hot patches in /var/lib/emqx/patches (emqx_mod.beam, emqx_cm.beam)",
  ],
  [
    "hot patches say what to do",
    { hotPatches: ["emqx_mod.beam"] },
    "host-state: remove /var/lib/emqx/patches/*.beam, then rerun",
  ],
  [
    "making a release permanent loads no code: hot patches do not matter",
    { action: "make-permanent", unpacks: false, hotPatches: ["emqx_mod.beam"] },
    "",
  ],
  [
    "fails when the root's filesystem is short of zip + repacked tar.gz + uncompressed",
    { diskFree: { root: disk(259, "/dev/sda1", "/"), tmp: disk(2_000, "tmpfs", "/tmp") } },
    "host-state: / (holding /usr/lib/emqx) has 259.0 MiB free, but unpacking emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip needs 260.0 MiB there (the zip and the tar.gz EMQX repacks it into, 60.0 MiB each, + 140.0 MiB unpacked)",
  ],
  [
    "fails when /tmp is short",
    { diskFree: { root: disk(10_000, "/dev/sda1", "/"), tmp: disk(199, "tmpfs", "/tmp") } },
    "host-state: /tmp (holding /tmp) has 199.0 MiB free",
  ],
  [
    "exactly enough in each place passes",
    { diskFree: { root: disk(260, "/dev/sda1", "/"), tmp: disk(200, "tmpfs", "/tmp") } },
    "",
  ],
  [
    "one filesystem for the root and /tmp must hold both",
    { diskFree: { root: disk(459, "/dev/sda1", "/"), tmp: disk(459, "/dev/sda1", "/") } },
    "host-state: / (holding /usr/lib/emqx and /tmp (one filesystem)) has 459.0 MiB free, but unpacking emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip needs 460.0 MiB there (the zip, its tar.gz and a copy in /tmp, 60.0 MiB each, + 140.0 MiB unpacked twice)",
  ],
  [
    "no unpack (the target is an old release): space is not checked",
    { unpacks: false, diskFree: { root: disk(1, "/dev/sda1", "/"), tmp: disk(1, "tmpfs", "/tmp") } },
    "",
  ],
  [
    "unknown package sizes: space is not checked",
    { pkg: { fileName: "x.zip" }, diskFree: { root: disk(1, "/dev/sda1", "/"), tmp: disk(1, "tmpfs", "/tmp") } },
    "",
  ],
  ["df printed nothing: space is not checked", { diskFree: {} }, ""],
  [
    "fails after a half-done permafy: emqx_vars still names the previous release",
    { permanentVersion: "4.4.12", binScriptsVersion: "4.4.10" },
    "host-state: the permanent release is 4.4.12 but the last REL_VSN in /usr/lib/emqx/releases/emqx_vars is 4.4.10: an earlier permafy stopped half-way",
  ],
  [
    "a half-done permafy is refused when adopting too (it would hide it)",
    { action: "adopt", unpacks: false, permanentVersion: "4.4.16", binScriptsVersion: "4.4.10" },
    "host-state: the permanent release is 4.4.16 but the last REL_VSN",
  ],
  [
    "fails when bin/emqx is not bin/emqx-<permanent> (scripts not copied)",
    { binEmqxIsPermanent: false },
    "host-state: /usr/lib/emqx/bin/emqx differs from bin/emqx-4.4.10 although 4.4.10 is permanent",
  ],
  [
    "that is refused when adopting too",
    { action: "adopt", unpacks: false, binEmqxIsPermanent: false },
    "host-state: a half-done permafy, or bin/emqx edited by hand",
  ],
  ["bin/emqx equal to bin/emqx-<permanent>, or unknown: no refusal", { binEmqxIsPermanent: true }, ""],
  [
    "fails for an unpacked target with bin scripts 4.4.2-4.4.14 (create_RELEASES re-unpack)",
    { targetStatus: "unpacked", binScriptsVersion: "4.4.10", permanentVersion: "4.4.10" },
    "host-state: 4.4.16 is already unpacked and the node's bin scripts are 4.4.10",
  ],
  [
    "an unpacked target with bin scripts 4.4.15 is installed as is",
    { targetStatus: "unpacked", binScriptsVersion: "4.4.15", permanentVersion: "4.4.15" },
    "",
  ],
  [
    "an unpacked target with bin scripts 4.4.0 (no re-unpack yet) is installed as is",
    { targetStatus: "unpacked", binScriptsVersion: "4.4.0", permanentVersion: "4.4.0" },
    "",
  ],
  [
    "fails for a leftover releases/<V>/emqx.tar.gz with bin scripts before 4.4.2 (eexist)",
    { binScriptsVersion: "4.4.1", permanentVersion: "4.4.1", targetDirFiles: ["emqx.tar.gz"] },
    "host-state: /usr/lib/emqx/releases/4.4.16/emqx.tar.gz is left from an earlier failed attempt",
  ],
  ["bin scripts 4.4.2+ recreate that link themselves", { targetDirFiles: ["emqx.tar.gz"] }, ""],
  [
    "fails for a packageUrl on a node with neither curl nor wget",
    { download: { tools: [] } },
    "host-state: 10.0.0.7: packageUrl asks the node to download emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip, but neither curl nor wget is on its PATH: install one",
  ],
  ["a packageUrl on a node with wget goes ahead", { download: { tools: ["wget"] } }, ""],
  ["no download needed when the target is already installed", { download: { tools: [] }, unpacks: false }, ""],
];

test.each(ROWS)("%s", (_name, over, expected) => {
  const refusals = preflightRefusals({ ...BASE, ...over });
  if (expected === "") return expect(refusals).toEqual([]);
  const [kind, fragment] = [expected.slice(0, expected.indexOf(": ")), expected.slice(expected.indexOf(": ") + 2)];
  expect(refusals).toEqual(
    expect.arrayContaining([expect.objectContaining({ kind, reason: expect.stringContaining(fragment) })]),
  );
});

test("every refusal names the host and the operator's next step", () => {
  const all = preflightRefusals({
    ...BASE,
    hotPatches: ["a.beam"],
    permanentVersion: "4.4.12",
    diskFree: { root: disk(1, "/dev/sda1", "/"), tmp: disk(1, "tmpfs", "/tmp") },
  });
  expect(all).toHaveLength(4);
  for (const r of all) {
    expect(r.reason).toMatch(/^10\.0\.0\.7[: ]/);
    expect(r.reason).toMatch(/rerun$/);
  }
});

test("a long list of hot patches is summarized", () => {
  const [r] = preflightRefusals({ ...BASE, hotPatches: Array.from({ length: 40 }, (_, i) => `m${i}.beam`) });
  expect(r.reason).toContain("m0.beam, m1.beam, m2.beam, m3.beam, m4.beam and 35 more");
});
