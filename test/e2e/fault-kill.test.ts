// The provider process killed with SIGKILL while EMQX is inside `emqx upgrade`, through the real
// engine, on a host reached as a non-root login whose sudo wants a password (runAs root with
// connection.sudoPassword). The rerun must find the node's real state and never start a second
// upgrade over the running one; then everything the runs left behind (engine output, state, the
// backend, PULUMI_HOME) is searched for the passwords.
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import { ensureEngine } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { reliabilityTest } from "../support/reliability";
import {
  compiledPath,
  newStackDir,
  runStack,
  type OpName,
  type OpSpec,
  type RunStackResult,
  type StackDirs,
} from "../../sandbox/run-stack";
import { carriedSecrets, filesUnder, scanForSecrets } from "../support/secret-scan";
import { ensureTestUser } from "../../sandbox/sshd";
import { packageShelf, startTestHost, type TestHost } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const TIMEOUT_MS = 5 * 60 * 1000;
const HOLD_MS = 6000;
const ADDRESS = "127.0.0.153";
const USER = "emqxsudokill";
const SUDOERS = "/etc/sudoers.d/emqx-release-kill";
/** The login's password, which its sudo also asks for. */
const PASSWORD = `kill-${randomBytes(10).toString("hex")}`;

let host: TestHost;
let dirs: StackDirs;
let programModule: string;
let packagePath: string;
const transcript: Array<{ source: string; text: string }> = [];

async function run(
  ops: Array<OpName | OpSpec>,
  opts: { env?: Record<string, string>; onLine?: Parameters<typeof runStack>[1]["onLine"] } = {},
): Promise<RunStackResult> {
  const config = {
    hosts: {
      value: JSON.stringify([
        {
          name: "node-1",
          host: ADDRESS,
          port: host.sshd.port,
          hostKey: host.sshd.hostKeyLine,
          emqxPath: host.emqxPath,
        },
      ]),
    },
    user: { value: USER },
    password: { value: PASSWORD, secret: true },
    sudoPassword: { value: PASSWORD, secret: true },
    runAs: { value: "root" },
    version: { value: "4.4.16" },
    packagePath: { value: packagePath },
  };
  const r = await runStack(
    { projectName: "emqx-release-e2e", stackName: "kill", programModule, config, ops, env: opts.env },
    { dirs, timeoutMs: TIMEOUT_MS, onLine: opts.onLine },
  );
  transcript.push(
    { source: `run ${transcript.length + 1} stdout`, text: r.stdout },
    { source: `run ${transcript.length + 1} stderr`, text: r.stderr },
  );
  return r;
}

/** pids of every release_handler:install_release the emulated node ran (sampled from ps: a CLI
 * whose SSH connection died may end without its call log line, as the escript would). */
const installs = new Set<number>();
function sampleInstalls(): void {
  for (const line of execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2].includes(`--node-rpc ${host.root} install_release`)) installs.add(Number(m[1]));
  }
}

/** Dynamic-provider processes of this test's engine (their environment names its PULUMI_HOME). */
function providerPids(): number[] {
  const pids: number[] = [];
  for (const line of execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m || !/dynamic-provider/.test(m[2])) continue;
    try {
      if (fs.readFileSync(`/proc/${m[1]}/environ`, "latin1").split("\0").includes(`PULUMI_HOME=${dirs.pulumiHome}`))
        pids.push(Number(m[1]));
    } catch {
      // gone already
    }
  }
  return pids;
}

beforeAll(async () => {
  ensureEngine();
  ensureTestUser(USER, PASSWORD);
  fs.writeFileSync(SUDOERS, `${USER} ALL=(root) ALL\n`, { mode: 0o440 });
  programModule = compiledPath("test/e2e/fixtures/release-program.ts");
  dirs = newStackDir("kill");
  host = await startTestHost({ version: "4.4.0" }, ADDRESS, { sshd: { passwordAuthentication: true } });
  host.setFaults({ holdMs: { upgrade: HOLD_MS } });
  packagePath = await packageShelf().build({ version: "4.4.16" });
});

afterAll(async () => {
  fs.rmSync(SUDOERS, { force: true });
  await host?.stop();
  dirs?.cleanup();
});

reliabilityTest(
  {
    area: "fault",
    case: "the provider process is killed (SIGKILL) inside `emqx upgrade`",
    expected:
      "the run fails; refresh finds the node's real state; the next up names the lock and starts no second upgrade; after clearing it, 4.4.16 permanent with exactly one code switch on the node",
  },
  async () => {
    const sampler = setInterval(sampleInstalls, 100);
    try {
      await killAndRecover();
    } finally {
      clearInterval(sampler);
    }
    // One code switch in all: the killed run's; none from the runs after it.
    expect(installs.size).toBe(1);
  },
);

/** The SIGKILLed run, then the README's recovery steps (refresh, up names the lock, clear it). */
async function killAndRecover(): Promise<void> {
  let killed: number[] = [];
  const first = await run(["up"], {
    onLine: (line) => {
      if (killed.length === 0 && line.includes(`[EmqxRelease host=${ADDRESS}] upgrade 4.4.16`)) {
        killed = providerPids();
        for (const pid of killed) process.kill(pid, "SIGKILL");
      }
    },
  });
  expect(killed.length).toBeGreaterThan(0);
  expect(first.results[0]).toMatchObject({ op: "up", ok: false });

  // EMQX finishes the switch on the node without the CLI (release_handler runs in the node).
  const deadline = Date.now() + HOLD_MS + 30_000;
  while (
    !emulatorVersions(host.root).some((r) => r.version === "4.4.16" && r.status !== "old") &&
    Date.now() < deadline
  )
    await new Promise((r) => setTimeout(r, 250));

  const refreshed = await run(["refresh-clear-pending"]);
  expect(refreshed.results[0]).toMatchObject({ ok: true });

  const locked = await run(["up"]);
  expect(locked.results[0]).toMatchObject({ ok: false });
  const text = locked.stdout + locked.stderr;
  expect(text).toMatch(/another operation holds the host lock/);
  const lockId = /EMQX_RELEASE_CLEAR_LOCK=([0-9a-f]+)/.exec(text)?.[1] as string;
  expect(lockId).toMatch(/^[0-9a-f]{16}$/);

  const recovered = await run(["up"], { env: { EMQX_RELEASE_CLEAR_LOCK: lockId } });
  expect(recovered.results[0]).toMatchObject({ ok: true });
  expect(emulatorVersions(host.root)).toContainEqual({ version: "4.4.16", status: "permanent" });
}

reliabilityTest(
  {
    area: "credentials",
    case: "engine-level scan after the killed run and its recovery (login password = sudoPassword)",
    expected:
      "0 hits in engine output, stack state, backend and PULUMI_HOME, raw or JSON-escaped; a planted copy is found",
  },
  async (probe) => {
    // The only credential this stack carries: the login password, which is also its sudoPassword.
    const { searched, needles } = carriedSecrets({ connection: { password: PASSWORD, sudoPassword: PASSWORD } });
    // The stack's state lives in the file backend under dirs.root, with PULUMI_HOME and the workspace.
    const sources = [...transcript, ...filesUnder(dirs.root)];
    // A planted copy is found under each name the password is carried as (login and sudo).
    const planted = scanForSecrets([{ source: "planted", text: `x${PASSWORD}x` }], needles);
    expect(planted.map((f) => f.label).sort()).toEqual(["login password", "sudo password"]);
    expect(transcript.length).toBeGreaterThanOrEqual(8);
    const found = scanForSecrets(sources, needles);
    probe.secretsLeaked({ searched, found: found.map((f) => `${f.label} in ${f.source}`) });
    expect(found).toEqual([]);
  },
);
