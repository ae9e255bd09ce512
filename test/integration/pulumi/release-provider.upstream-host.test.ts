// EmqxReleaseProvider's methods (no engine) against hosts whose CLI is EMQX's own (test/upstream):
// every call the provider makes runs EMQX 4.4's real bin/emqx, nodetool and install_upgrade.escript
// of the package's tag, over OTP's real release_handler, behind real OpenSSH sshd. One host per
// script set, the scenarios chained on it (each step starts from the node the previous one left):
// new scripts 4.4.16 -> 4.4.17 -> 4.4.18, old scripts (no `emqx ctl`, no version check) 4.4.0 ->
// 4.4.1 -> 4.4.2. Each step also runs on an emulator host (test/support/emulator) given the same
// packages' facts, and the two must agree: what the provider records, what `emqx versions` lists,
// what EMQX appended to releases/emqx_vars and wrote to start_erl.data.
// Each real CLI call takes seconds and `start` ~10 s: one real host per set keeps the suite lean.
import * as crypto from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { startClients, versionSequence, type ClientRecord } from "../../../sandbox/otp-clients";
import { packageShelf, startTestHost, type TestHost } from "../../../sandbox/test-host";
import {
  ensureUpstreamReleases,
  startUpstreamHost,
  type UpstreamHost,
  type UpstreamReleases,
} from "../../../sandbox/upstream-host";

jest.setTimeout(600_000);
const provider = new EmqxReleaseProvider();
type Props = Record<string, unknown>;
let releases: UpstreamReleases;

beforeAll(() => {
  jest.spyOn(console, "log").mockImplementation(() => undefined);
  releases = ensureUpstreamReleases();
});

async function checked(news: Props, olds: Props = {}): Promise<Props> {
  const r = await provider.check(olds, news);
  expect(r.failures).toEqual([]);
  return r.inputs;
}

/** Runs `step` while `count` clients send a line every 100 ms; returns its result and what each
 * client saw, 5 answers after the step. The clients are closed whatever happens. */
async function withClients<T>(host: UpstreamHost, count: number, step: () => Promise<T>): Promise<[T, ClientRecord[]]> {
  const clients = await startClients(host.service.host, host.service.port, count, { intervalMs: 100 });
  try {
    await clients.waitForAnswers(5);
    const result = await step();
    await clients.waitForAnswers(Math.max(...clients.records.map((r) => r.answers.length)) + 5);
    return [result, await clients.stop()];
  } finally {
    await clients.stop();
  }
}

/** Every client kept its connection and got an answer to each line it sent, in order. */
function expectNoLineLost(records: ClientRecord[]): void {
  for (const r of records) {
    expect({ client: r.name, closedEarly: r.closedEarly }).toEqual({ client: r.name, closedEarly: undefined });
    expect(r.answers.map((a) => a.line)).toEqual(r.sent);
  }
}

const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** A host the chain runs on: the real one or the emulator. */
interface Target {
  name: "real" | "emulator";
  root: string;
  emqxPath: string;
  connection: Props;
  zips: Record<string, string>;
}

/** `emqx versions` of the host, as "<vsn> <status>" strings. */
function versionsOf(t: Target): string[] {
  const out = execFileSync(t.emqxPath, ["versions"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.startsWith("* "))
    .map((l) => l.slice(2).replace("\t", " "));
}

/** The REL_VSN assignments permafy appended to releases/emqx_vars (after the template's own). */
function appendedRelVsns(t: Target): string[] {
  const text = fs.readFileSync(path.join(t.root, "releases", "emqx_vars"), "utf8");
  return [...text.matchAll(/^REL_VSN="([^"]+)"$/gm)].map((m) => m[1]).slice(1);
}

/** What the provider recorded about the node and what EMQX left on it: the two hosts must agree. */
function observed(t: Target, outs: Props): Props {
  const { currentVersion, permanentVersion, previousVersion, lastAction, installedVersions } = outs;
  // (Not the relups' coverage: the emulator's base release covers every earlier patch, ours none.)
  const facts = outs.hostFacts as { binScriptsVersion?: string } | undefined;
  return {
    currentVersion,
    permanentVersion,
    previousVersion,
    lastAction,
    installedVersions,
    binScriptsVersion: facts?.binScriptsVersion,
    cliVersions: versionsOf(t),
    emqxVarsAppended: appendedRelVsns(t),
    startErlData: fs.readFileSync(path.join(t.root, "releases", "start_erl.data"), "utf8").split(" ")[1],
    binEmqxIsPermanents:
      sha(path.join(t.root, "bin", "emqx")) === sha(path.join(t.root, "bin", `emqx-${permanentVersion}`)),
  };
}

/** One scenario chain on two hosts: create first, update after, carrying each host's state. */
class Chain {
  private readonly states = new Map<string, { id: string; outs?: Props }>();
  constructor(readonly targets: () => Target[]) {}

  inputs(t: Target, version: string, extra: Props = {}): Props {
    return { connection: t.connection, version, packagePath: t.zips[version], emqxPath: t.emqxPath, ...extra };
  }

  state(t: Target): { id: string; outs: Props } {
    const s = this.states.get(t.name);
    if (!s?.outs) throw new Error(`no earlier step on the ${t.name} host`);
    return { id: s.id, outs: s.outs };
  }

  setOuts(t: Target, outs: Props): void {
    this.states.set(t.name, { id: this.state(t).id, outs });
  }

  /** Applies the declaration on every host; expects them to agree; returns the real host's state. */
  async apply(
    version: string,
    extra: Props = {},
    around?: (t: Target, step: () => Promise<Props>) => Promise<Props>,
  ): Promise<Props> {
    const seen: Record<string, Props> = {};
    let real: Props = {};
    for (const t of this.targets()) {
      const step = async () => {
        const s = this.states.get(t.name);
        const news = await checked(this.inputs(t, version, extra), s?.outs ?? {});
        if (s?.outs) return (await provider.update(s.id, s.outs, news)).outs;
        const created = await provider.create(news);
        this.states.set(t.name, { id: created.id });
        return created.outs;
      };
      const outs = around ? await around(t, step) : await step();
      this.states.set(t.name, { id: this.states.get(t.name)?.id ?? "", outs });
      seen[t.name] = observed(t, outs);
      if (t.name === "real") real = outs;
    }
    expect(seen.emulator).toEqual(seen.real);
    return real;
  }
}

/** The emulator packages with the real packages' facts and relup coverage (each covers the
 * earlier versions of its set, up and down). */
async function emulatorZips(set: string[]): Promise<Record<string, string>> {
  const shelf = packageShelf();
  const zips: Record<string, string> = {};
  for (const [i, v] of set.entries()) {
    const earlier = set.slice(0, i).reverse();
    zips[v] = await shelf.build({
      version: v,
      otp: releases.otp,
      os: releases.os,
      arch: releases.arch,
      erts: releases.erts,
      relupFrom: earlier,
      relupDownTo: earlier,
    });
  }
  return zips;
}

/** Starts the real host and an emulator host at the first version of `set`. */
function hostsFor(set: () => string[], realAddress: string, emuAddress: string) {
  const h: { real?: UpstreamHost; emu?: TestHost; targets: Target[] } = { targets: [] };
  beforeAll(async () => {
    h.real = await startUpstreamHost(realAddress, set()[0]);
    h.emu = await startTestHost({ version: set()[0], erts: releases.erts }, emuAddress);
    const emuZips = await emulatorZips(set());
    h.targets = [
      {
        name: "real",
        root: h.real.root,
        emqxPath: h.real.emqxPath,
        connection: h.real.connection,
        zips: releases.zips,
      },
      { name: "emulator", root: h.emu.root, emqxPath: h.emu.emqxPath, connection: h.emu.connection, zips: emuZips },
    ];
  });
  afterAll(async () => {
    await h.real?.stop();
    await h.emu?.stop();
  });
  return h;
}

describe("new scripts (4.4.16 -> 4.4.17 -> 4.4.18, each package with its own tag's scripts)", () => {
  const h = hostsFor(() => releases.sets.new, "127.0.0.110", "127.0.0.112");
  const chain = new Chain(() => h.targets);
  const host = () => h.real as UpstreamHost;

  test("EMQX's own CLI answers as the captures show; the provider adopts the running 4.4.16", async () => {
    expect(host().emqx("versions")).toEqual({
      exitCode: 0,
      stdout: "Installed versions:\n* 4.4.16\tpermanent\n\n",
      stderr: "",
    });
    expect(host().emqx("ctl", "status").stdout).toBe(`Node '${host().nodeName}' 4.4.16 is started\n`);
    const outs = await chain.apply("4.4.16");
    expect(outs).toMatchObject({
      lastAction: "adopt",
      rootDir: host().root,
      currentVersion: "4.4.16",
      installedVersions: [{ version: "4.4.16", status: "permanent" }],
      hostFacts: {
        osId: releases.os,
        arch: releases.arch,
        edition: "ce",
        binScriptsVersion: "4.4.16",
        relupDownTo: [],
      },
    });
  });

  test("upgrade 4.4.16 -> 4.4.17 with clients connected: EMQX's traces, no line lost", async () => {
    let records: ClientRecord[] = [];
    const outs = await chain.apply("4.4.17", {}, async (t, step) => {
      if (t.name !== "real") return step();
      const [o, r] = await withClients(host(), 2, step);
      records = r;
      return o;
    });
    expect(outs).toMatchObject({
      currentVersion: "4.4.17",
      permanentVersion: "4.4.17",
      previousVersion: "4.4.16",
      lastAction: "upgrade",
    });
    expect(outs.installedVersions).toEqual([
      { version: "4.4.17", status: "permanent" },
      { version: "4.4.16", status: "old" },
    ]);
    expect(outs.hostFacts).toMatchObject({ binScriptsVersion: "4.4.17", relupDownTo: ["4.4.16"] });
    expectNoLineLost(records);
    for (const r of records) expect(versionSequence(r)).toEqual(["4.4.16", "4.4.17"]);
    // What EMQX's escript leaves (docs/emqx-4.4-hot-upgrade.md §2.7): the repacked tarball, and the
    // five scripts copied from their bin/<f>-4.4.17.
    const root = host().root;
    expect(fs.existsSync(path.join(root, "releases", "emqx-4.4.17.tar.gz"))).toBe(true);
    for (const f of ["emqx", "emqx_ctl", "nodetool", "install_upgrade.escript", "cuttlefish"]) {
      expect({ f, same: sha(path.join(root, "bin", f)) === sha(path.join(root, "bin", `${f}-4.4.17`)) }).toEqual({
        f,
        same: true,
      });
    }
    // The relup EMQX's inject-relup.escript rewrote ran its emqx_relup call.
    expect(host().emqx("eval", "application:get_env(emqx, last_relup).").stdout).toBe('{ok,{upgrade,"4.4.16"}}\n');
  });

  test("--no-permanent 4.4.18, then the same version declared permanent runs `emqx install`", async () => {
    const trial = await chain.apply("4.4.18", { permanent: false });
    expect(trial).toMatchObject({ currentVersion: "4.4.18", permanentVersion: "4.4.17" });
    expect(host().versions()).toEqual(["4.4.18 current", "4.4.17 permanent", "4.4.16 old"]);
    const outs = await chain.apply("4.4.18");
    expect(outs).toMatchObject({ currentVersion: "4.4.18", permanentVersion: "4.4.18", lastAction: "make-permanent" });
    expect(host().versions()).toEqual(["4.4.18 permanent", "4.4.17 old", "4.4.16 old"]);
    expect(appendedRelVsns(h.targets[0])).toEqual(["4.4.17", "4.4.18"]);
    expect(host().emqx("ctl", "status").stdout).toBe(`Node '${host().nodeName}' 4.4.18 is started\n`);
  });

  test("downgrade 4.4.18 -> 4.4.16 with clients connected; uninstallPrevious removes 4.4.18 and 4.4.17", async () => {
    let records: ClientRecord[] = [];
    const outs = await chain.apply("4.4.16", { allowDowngrade: true, uninstallPrevious: true }, async (t, step) => {
      if (t.name !== "real") return step();
      const [o, r] = await withClients(host(), 2, step);
      records = r;
      return o;
    });
    expect(outs).toMatchObject({ currentVersion: "4.4.16", permanentVersion: "4.4.16", lastAction: "downgrade" });
    expect(outs.installedVersions).toEqual([{ version: "4.4.16", status: "permanent" }]);
    expectNoLineLost(records);
    for (const r of records) expect(versionSequence(r)).toEqual(["4.4.18", "4.4.16"]);
    // release_handler's remove_release: the release dirs, and the lib dirs no release names any more.
    const root = host().root;
    expect(fs.existsSync(path.join(root, "releases", "4.4.18"))).toBe(false);
    expect(fs.existsSync(path.join(root, "releases", "4.4.17"))).toBe(false);
    expect(fs.readdirSync(path.join(root, "lib")).filter((d) => d.startsWith("emqx-"))).toEqual(["emqx-4.4.16"]);
    expect(appendedRelVsns(h.targets[0])).toEqual(["4.4.17", "4.4.18", "4.4.16"]);
    expect(host().emqx("eval", "application:get_env(emqx, last_relup).").stdout).toBe('{ok,{downgrade,"4.4.16"}}\n');
  });

  test("refresh after a manual `emqx upgrade 4.4.17` shows 4.4.17; the declared 4.4.16 is a change again", async () => {
    const seen: Record<string, Props> = {};
    for (const t of h.targets) {
      // 4.4.17 was uninstalled: EMQX unpacks it again from the zip the provider left in releases/.
      const manual = execFileSync(t.emqxPath, ["upgrade", "4.4.17"], { encoding: "utf8" });
      expect(manual).toContain("Release 4.4.17 not found, attempting to unpack releases/emqx-4.4.17.tar.gz");
      expect(manual).toContain('Made release permanent: "4.4.17"');
      const { id, outs } = chain.state(t);
      const { props } = await provider.read(id, outs);
      expect(props).toMatchObject({ currentVersion: "4.4.17", permanentVersion: "4.4.17" });
      const d = await provider.diff(
        id,
        props,
        await checked(chain.inputs(t, "4.4.16", { allowDowngrade: true }), props),
      );
      expect(d.changes).toBe(true);
      chain.setOuts(t, props);
      seen[t.name] = observed(t, props);
    }
    expect(seen.emulator).toEqual(seen.real);
  });

  test("delete uninstalls the declared 4.4.16 now that it is old, and leaves the running 4.4.17 alone", async () => {
    for (const t of h.targets) {
      const { id, outs } = chain.state(t);
      await provider.delete(id, { ...outs, ...chain.inputs(t, "4.4.16") });
      await provider.delete(id, { ...outs, ...chain.inputs(t, "4.4.17") });
    }
    expect(versionsOf(h.targets[1])).toEqual(versionsOf(h.targets[0]));
    expect(host().versions()).toEqual(["4.4.17 permanent"]);
    expect(fs.existsSync(path.join(host().root, "releases", "4.4.16"))).toBe(false);
    expect(host().emqx("ctl", "status").stdout).toBe(`Node '${host().nodeName}' 4.4.17 is started\n`);
  });
});

describe("old scripts (4.4.0 -> 4.4.1 -> 4.4.2: no `emqx ctl`, no version check, 4.4.2's relup injected)", () => {
  const h = hostsFor(() => releases.sets.old, "127.0.0.111", "127.0.0.113");
  const chain = new Chain(() => h.targets);
  const host = () => h.real as UpstreamHost;

  test("--no-permanent 4.4.1 on the 4.4.0 node, then `emqx install` makes it permanent", async () => {
    expect(host().emqx("ctl", "status").exitCode).toBe(1);
    const trial = await chain.apply("4.4.1", { permanent: false });
    expect(trial).toMatchObject({ currentVersion: "4.4.1", permanentVersion: "4.4.0", previousVersion: "4.4.0" });
    expect(trial.hostFacts).toMatchObject({ binScriptsVersion: "4.4.0" });
    expect(host().versions()).toEqual(["4.4.1 current", "4.4.0 permanent"]);
    const outs = await chain.apply("4.4.1");
    expect(outs).toMatchObject({ currentVersion: "4.4.1", permanentVersion: "4.4.1", lastAction: "make-permanent" });
    expect(appendedRelVsns(h.targets[0])).toEqual(["4.4.1"]);
  });

  test("upgrade 4.4.1 -> 4.4.2 with a client connected (4.4.2's relup, rewritten by inject-relup)", async () => {
    let records: ClientRecord[] = [];
    const outs = await chain.apply("4.4.2", {}, async (t, step) => {
      if (t.name !== "real") return step();
      const [o, r] = await withClients(host(), 1, step);
      records = r;
      return o;
    });
    expect(outs).toMatchObject({
      currentVersion: "4.4.2",
      permanentVersion: "4.4.2",
      previousVersion: "4.4.1",
      lastAction: "upgrade",
    });
    expect(outs.installedVersions).toEqual([
      { version: "4.4.2", status: "permanent" },
      { version: "4.4.1", status: "old" },
      { version: "4.4.0", status: "old" },
    ]);
    expectNoLineLost(records);
    expect(versionSequence(records[0])).toEqual(["4.4.1", "4.4.2"]);
    expect(host().emqx("eval", "application:get_env(emqx, last_relup).").stdout).toBe('{ok,{upgrade,"4.4.1"}}\n');
    // 4.4.2's relup as EMQX's build writes it: `~p.` and no final newline.
    expect(fs.readFileSync(path.join(host().root, "releases", "4.4.2", "relup"), "utf8").endsWith("}.")).toBe(true);
  });

  test("downgrade 4.4.2 -> 4.4.0 with uninstallPrevious; delete leaves the running release alone", async () => {
    const outs = await chain.apply("4.4.0", { allowDowngrade: true, uninstallPrevious: true });
    expect(outs).toMatchObject({ currentVersion: "4.4.0", permanentVersion: "4.4.0", lastAction: "downgrade" });
    expect(host().versions()).toEqual(["4.4.0 permanent"]);
    expect(appendedRelVsns(h.targets[0])).toEqual(["4.4.1", "4.4.2", "4.4.0"]);
    expect(host().emqx("eval", "application:get_env(emqx, last_relup).").stdout).toBe('{ok,{downgrade,"4.4.0"}}\n');
    for (const t of h.targets) {
      const s = chain.state(t);
      await provider.delete(s.id, { ...s.outs, ...chain.inputs(t, "4.4.0") });
    }
    expect(host().versions()).toEqual(["4.4.0 permanent"]);
    expect(host().emqx("ping").stdout).toBe("pong\n");
  });
});
