// Faults where real EMQX fails: after the upload, inside `emqx upgrade`, once EMQX has started to
// change the node (docs/emqx-4.4-hot-upgrade.md §2.4-2.7 and its corrections). Unlike a forced exit
// code, each one leaves on disk what EMQX leaves: the target registered `unpacked` with its files,
// the repacked releases/emqx-<V>.tar.gz, a half-written tarball on a full disk. For each row: the
// error the provider gives, what refresh (`read`) shows, and what the next run does once the cause
// is gone: it reaches the target, or refuses and names the command to run (then reaches it).
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { emulatorVersions } from "../../../sandbox/emulator/install";
import {
  corruptPackages,
  expectIntactInstall,
  expectNoLeaks,
  mutatingCalls,
  underFault,
} from "../../support/fault-run";
import { reliabilityTest, RowProbe } from "../../support/reliability";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";

jest.setTimeout(180_000);
const ADDRESS = "127.0.0.152";
const TO = "4.4.16";
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let pkg: string;
let host: TestHost | undefined;

beforeAll(async () => {
  // Big enough that its repacked tar.gz cannot fit in the slack a filled disk keeps.
  pkg = await shelf.build({ version: TO, extraBytes: 1024 * 1024 });
});
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

async function start(from: string, rootFsMiB?: number): Promise<TestHost> {
  host = await startTestHost({ version: from }, ADDRESS, { rootFsMiB });
  return host;
}

async function checkedInputs(h: TestHost): Promise<Record<string, unknown>> {
  const r = await provider.check({}, { connection: h.connection, version: TO, packagePath: pkg, emqxPath: h.emqxPath });
  expect(r.failures).toEqual([]);
  return r.inputs;
}

/** What refresh reports: exactly what the node lists, given here as "<vsn> <status>" strings. */
async function refreshShows(h: TestHost, inputs: Record<string, unknown>, listed: string[]): Promise<void> {
  const { props } = await provider.read(`${h.connection.host}:${h.connection.port}`, inputs);
  expect(props.installedVersions).toEqual(emulatorVersions(h.root));
  expect(
    (props.installedVersions as Array<{ version: string; status: string }>).map((r) => `${r.version} ${r.status}`),
  ).toEqual(listed);
}

/** The failed create: a RemoteCommandError naming the host, the command and EMQX's exit code, with
 * no secret of the row's connection in it; files EMQX would not have left are counted. */
async function failedCreate(
  h: TestHost,
  inputs: Record<string, unknown>,
  probe: RowProbe,
  code: number,
): Promise<string> {
  const r = await underFault(() => provider.create(inputs));
  expect(r.error?.name).toBe("RemoteCommandError");
  const msg = r.error!.message;
  expect(msg).toContain(`${ADDRESS}: \`${h.emqxPath} upgrade ${TO}\` failed: `);
  expect(msg).toContain(`(exit ${code}`);
  expect(mutatingCalls(h).map((c) => c.argv.join(" "))).toEqual([`upgrade ${TO}`]);
  expectNoLeaks(probe, r, inputs);
  return msg;
}

/** The next run, the fault gone: the node ends at the target, permanent, with one more upgrade,
 * and its install is what EMQX leaves after an upgrade. */
async function rerunReachesTarget(h: TestHost, inputs: Record<string, unknown>, probe: RowProbe): Promise<void> {
  h.setFaults({});
  const { outs } = await provider.create(inputs);
  expect(outs).toMatchObject({ currentVersion: TO, permanentVersion: TO });
  expect(emulatorVersions(h.root)).toEqual(expect.arrayContaining([{ version: TO, status: "permanent" }]));
  expectIntactInstall(probe, h, { version: TO, packagePath: pkg });
}

/** What EMQX leaves after it unpacked the target: releases/<V>/, lib/emqx-<V>, bin/<f>-<V>, the
 * repacked tar.gz, and RELEASES listing the target `unpacked` (docs/emqx-4.4-hot-upgrade.md §3.2, §3.4; so
 * EMQX's own scripts left it when their install failed). */
function expectUnpackedLeftovers(h: TestHost): void {
  for (const f of [`releases/${TO}/emqx.rel`, `lib/emqx-${TO}`, `bin/emqx-${TO}`, `releases/emqx-${TO}.tar.gz`]) {
    expect(fs.existsSync(path.join(h.root, f))).toBe(true);
  }
  expect(fs.readFileSync(path.join(h.root, "releases", "RELEASES"), "utf8")).toMatch(
    new RegExp(`"${TO.replace(/\./g, "\\.")}"[^]*?unpacked\\}`),
  );
}

reliabilityTest(
  {
    area: "fault",
    case: "check_install_release fails after the unpack (exit 3, reason wrapped over two lines)",
    expected:
      "RemoteCommandError: exit 3, the whole reason, the running release unchanged, 4.4.16 stays unpacked, `emqx uninstall 4.4.16` to remove it; refresh shows 4.4.16 unpacked, 4.4.0 permanent; the rerun installs the unpacked release: 4.4.16 permanent",
  },
  async (probe) => {
    const h = await start("4.4.0");
    h.setFaults({ rhFail: { check_install_release: `{no_matching_relup,"${TO}","4.4.0"}` } });
    const inputs = await checkedInputs(h);
    const msg = await failedCreate(h, inputs, probe, 3);
    expect(msg).toContain("release_handler refused to install 4.4.16 (exit 3)");
    expect(msg).toContain(
      `ERROR: release_handler:check_install_release failed: {no_matching_relup,\n${" ".repeat(54)}"4.4.16","4.4.0"}.`,
    );
    expect(msg).toContain("4.4.16 stays unpacked on the node");
    expect(msg).toContain("run `emqx uninstall 4.4.16` on the node");
    expectUnpackedLeftovers(h);
    expectIntactInstall(probe, h, { version: TO, packagePath: pkg });
    await refreshShows(h, inputs, ["4.4.16 unpacked", "4.4.0 permanent"]);
    await rerunReachesTarget(h, inputs, probe);
    expect(mutatingCalls(h).map((c) => c.argv.join(" "))).toEqual([`upgrade ${TO}`, `upgrade ${TO}`]);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "old_processes after the unpack (exit 3)",
    expected:
      "RemoteCommandError: exit 3, old processes, wait and retry, 4.4.16 stays unpacked; refresh shows 4.4.16 unpacked, 4.4.0 permanent; the rerun reaches 4.4.16 permanent",
  },
  async (probe) => {
    const h = await start("4.4.0");
    h.setFaults({ rhFail: { install_release: "{old_processes,emqx_relup}" } });
    const inputs = await checkedInputs(h);
    const msg = await failedCreate(h, inputs, probe, 3);
    expect(msg).toMatch(/refused to install 4\.4\.16 \(exit 3\): processes still run code from two versions ago/);
    expect(msg).toContain("4.4.16 stays unpacked on the node");
    expectUnpackedLeftovers(h);
    expectIntactInstall(probe, h, { version: TO, packagePath: pkg });
    await refreshShows(h, inputs, ["4.4.16 unpacked", "4.4.0 permanent"]);
    await rerunReachesTarget(h, inputs, probe);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "install_release: the relup crashes and the node restarts on its permanent release (exit 4)",
    expected:
      "RemoteCommandError: exit 4, the relup failed inside the node, do not retry until you know why, 4.4.16 stays unpacked; refresh shows 4.4.16 unpacked, 4.4.0 permanent (the restart re-read RELEASES); the rerun reaches 4.4.16 permanent",
  },
  async (probe) => {
    const h = await start("4.4.0");
    h.setFaults({
      rhFail: { install_release: `{'EXIT',{undef,[{emqx_relup,post_release_upgrade,["${TO}",[]],[]}]}}` },
    });
    const inputs = await checkedInputs(h);
    const msg = await failedCreate(h, inputs, probe, 4);
    expect(msg).toMatch(/the relup of 4\.4\.16 failed inside the node \(exit 4\).*do not retry until you know why/s);
    expect(msg).toContain("ERROR: release_handler:install_release failed: {'EXIT',");
    expect(msg).toContain("4.4.16 stays unpacked on the node");
    expect(msg).toMatch(/the node now lists: 4\.4\.16 unpacked, 4\.4\.0 permanent$/);
    expectUnpackedLeftovers(h);
    expectIntactInstall(probe, h, { version: TO, packagePath: pkg });
    await refreshShows(h, inputs, ["4.4.16 unpacked", "4.4.0 permanent"]);
    await rerunReachesTarget(h, inputs, probe);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "bin scripts 4.4.10: check_install_release fails after the unpack, then the rerun",
    expected:
      "exit 3, 4.4.16 left unpacked; the rerun refuses before any write and names `emqx uninstall 4.4.16` (scripts 4.4.2-4.4.14 would re-unpack it through create_RELEASES); after that command the next run reaches 4.4.16 permanent",
  },
  async (probe) => {
    const h = await start("4.4.10");
    h.setFaults({ rhFail: { check_install_release: `{no_matching_relup,"${TO}","4.4.10"}` } });
    const inputs = await checkedInputs(h);
    await failedCreate(h, inputs, probe, 3);
    await refreshShows(h, inputs, ["4.4.16 unpacked", "4.4.10 permanent"]);
    h.setFaults({});
    const before = h.fingerprint().split(" ")[0];
    const again = await underFault(() => provider.create(inputs));
    expect(again.error?.message).toContain(
      "Run `emqx uninstall 4.4.16` on the node (it is only unpacked, nothing runs it), then rerun",
    );
    expect(again.error?.message).toMatch(/nothing was changed$/);
    expect(h.fingerprint().split(" ")[0]).toBe(before);
    expectNoLeaks(probe, again, inputs);
    // The operator runs the command the refusal named; the next run unpacks afresh and installs.
    const { execFileSync } = await import("child_process");
    expect(execFileSync(h.emqxPath, ["uninstall", TO], { encoding: "utf8" })).toContain(`Uninstalled Release: ${TO}`);
    expectIntactInstall(probe, h, { version: TO, packagePath: pkg });
    await rerunReachesTarget(h, inputs, probe);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "the disk fills up between the upload and the unpack (exit 127, enospc)",
    expected:
      "RemoteCommandError: exit 127, out of disk space while unpacking, nothing installed, what to free; a half-written releases/emqx-4.4.16.tar.gz is left as EMQX leaves it; refresh shows 4.4.0 permanent only; once space is freed the rerun reaches 4.4.16 permanent (EMQX repacks the tarball)",
  },
  async (probe) => {
    const h = await start("4.4.0", 48);
    h.setFaults({ fillDiskBeforeUnpack: true });
    const inputs = await checkedInputs(h);
    const msg = await failedCreate(h, inputs, probe, 127);
    expect(msg).toContain("ran out of disk space (exit 127, enospc) while unpacking 4.4.16: nothing was installed");
    expect(msg).toContain(`{error,{"${h.root}/releases/emqx-${TO}.tar.gz",enospc}}`);
    expect(fs.existsSync(path.join(h.root, "releases", `emqx-${TO}.tar.gz`))).toBe(true);
    expect(fs.existsSync(path.join(h.root, "releases", TO))).toBe(false);
    expectIntactInstall(probe, h, { version: TO, packagePath: pkg });
    await refreshShows(h, inputs, ["4.4.0 permanent"]);
    fs.rmSync(path.join(h.root, ".emulator", "disk-filler"));
    await rerunReachesTarget(h, inputs, probe);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "the uploaded zip is damaged before EMQX unpacks it (exit 127)",
    expected:
      "RemoteCommandError: exit 127, the escript's exception; refresh shows 4.4.0 permanent only; the rerun sees the zip changed (its stamp is older), uploads it again and reaches 4.4.16 permanent",
  },
  async (probe) => {
    const h = await start("4.4.0");
    h.setFaults({ corruptZipBeforeUnpack: true });
    const inputs = await checkedInputs(h);
    const msg = await failedCreate(h, inputs, probe, 127);
    expect(msg).toMatch(/upgrade script crashed \(exit 127\)/);
    expect(msg).toContain("escript: exception error: no match of right hand side value {error,");
    // The damaged zip is what the next `emqx upgrade` would read, until the provider replaces it.
    const damaged = corruptPackages(h.root, TO, pkg);
    expect(damaged).toEqual([path.basename(pkg)]);
    await refreshShows(h, inputs, ["4.4.0 permanent"]);
    await rerunReachesTarget(h, inputs, probe);
  },
);
