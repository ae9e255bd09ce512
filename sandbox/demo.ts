// The main job (`npm run demo`): a local sandbox of three EMQX 4.4 nodes behind real OpenSSH sshd on
// loopback, then the `pulumi` CLI as a user runs it, in a copy of examples/sandbox (its Pulumi.yaml,
// package.json and index.ts, compiled by Pulumi's Node language host; the library installed from
// its `npm pack` tarball): `pulumi config set` of the nodes, a first `pulumi up` declaring what they
// run (4.4.0: adopted, nothing changes), `pulumi preview --diff` to the target (the upgrade plan,
// `version: "4.4.0" => ...` per node), `pulumi up`, each node's `emqx versions`, teardown.
//
// Two sandboxes (EMQX_DEMO_MODE):
//   otp       (the default where `erl` and `rebar3` are installed) real OTP releases named emqx built
//             from test/otp (4.4.0 -> 4.4.2), hot-upgraded by the real release_handler; an MQTT
//             client (MQTT.js) on each node publishes a QoS 1 message to its own topic every 100 ms
//             and the demo prints what the broker delivers back before, during and after `pulumi up`:
//             the version the broker tags each delivery with changes on the same connection.
//   emulator  the EMQX 4.4 CLI emulator (4.4.0 -> 4.4.16), no Erlang needed.
import { execFileSync } from "child_process";
import { ensureEngine } from "./engine";
import { startClients, versionSequence, type Clients } from "./otp-clients";
import { ensureOtpReleases } from "./otp-build";
import { startOtpHost, type OtpHost } from "./otp-host";
import { newCliProject, type CliProject } from "./cli-project";
import { setSecretFromFile } from "./cli-output";
import { packageShelf, startTestHost, shareClientKey, type TestHost } from "./test-host";
import { CLEAN_OUTPUT_FLAGS } from "./engine-output";

/** One sandbox node as the program's `hosts` config lists it. */
interface DemoNode {
  host: string;
  port: number;
  hostKey: string;
  emqxPath: string;
  /** The node's MQTT listener (real-OTP mode): deliveries carry the running version. */
  service?: { host: string; port: number };
}

interface Sandbox {
  label: string;
  nodes: DemoNode[];
  privateKey: string;
  running: string;
  target: string;
  packages: Record<string, string>;
  stop(): Promise<void>;
}

const RUNNING = "4.4.0";

function banner(text: string): void {
  process.stdout.write(`\n=== ${text} ===\n`);
}

function hasErlang(): boolean {
  return ["erl", "rebar3"].every((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });
}

/** The sandbox mode: EMQX_DEMO_MODE, else real OTP where Erlang is installed. */
function demoMode(): "otp" | "emulator" {
  const asked = process.env.EMQX_DEMO_MODE;
  if (asked === "otp" || asked === "emulator") return asked;
  if (asked) throw new Error(`EMQX_DEMO_MODE=${asked}: use "otp" (real OTP releases) or "emulator"`);
  return hasErlang() ? "otp" : "emulator";
}

async function otpSandbox(): Promise<Sandbox> {
  const started = Date.now();
  const releases = ensureOtpReleases();
  process.stdout.write(
    `OTP releases ${releases.versions.join(", ")} (OTP ${releases.otp}, erts ${releases.erts}) in ${releases.dir} (${((Date.now() - started) / 1000).toFixed(1)} s; first build ${releases.buildSeconds} s)\n`,
  );
  const hosts: OtpHost[] = [];
  try {
    for (const a of ["127.0.0.75", "127.0.0.76", "127.0.0.77"]) hosts.push(await startOtpHost(a, RUNNING));
  } catch (e) {
    for (const h of hosts) await h.stop();
    throw e;
  }
  for (const h of hosts.slice(1)) h.sshd.authorizeKey(hosts[0].sshd.clientPublicKey);
  return {
    label: "three real OTP nodes (release emqx 4.4.0, real release_handler)",
    nodes: hosts.map((h) => ({
      host: h.connection.host,
      port: h.connection.port,
      hostKey: h.connection.hostKey,
      emqxPath: h.emqxPath,
      service: h.service,
    })),
    privateKey: hosts[0].connection.privateKey,
    running: RUNNING,
    target: "4.4.2",
    packages: releases.zips,
    stop: async () => {
      for (const h of hosts) await h.stop();
    },
  };
}

async function emulatorSandbox(): Promise<Sandbox> {
  const hosts: TestHost[] = [];
  for (const a of ["127.0.0.2", "127.0.0.3", "127.0.0.4"]) hosts.push(await startTestHost({ version: RUNNING }, a));
  shareClientKey(hosts);
  const shelf = packageShelf();
  const target = "4.4.16";
  return {
    label: "three EMQX 4.4.0 nodes (the EMQX CLI emulator)",
    nodes: hosts.map((h) => ({
      host: h.connection.host,
      port: h.connection.port,
      hostKey: h.connection.hostKey,
      emqxPath: h.emqxPath,
    })),
    privateKey: hosts[0].connection.privateKey,
    running: RUNNING,
    target,
    packages: { [RUNNING]: await shelf.build({ version: RUNNING }), [target]: await shelf.build({ version: target }) },
    stop: async () => {
      for (const h of hosts) await h.stop();
    },
  };
}

/** One client per node; prints its first answers, every 30th (3 s), and each change of version at once. */
async function watchClients(nodes: DemoNode[]): Promise<Clients[]> {
  const out: Clients[] = [];
  for (const [i, n] of nodes.entries()) {
    if (!n.service) continue;
    let count = 0;
    let last = "";
    const onAnswer = (_c: string, a: { version: string; line: string }) => {
      count++;
      const changed = last !== "" && a.version !== last;
      if (count <= 2 || count % 30 === 0 || changed) {
        process.stdout.write(
          `  [mqtt client] published "${a.line}" (QoS 1), received "${a.version} ${a.line}"${changed ? `   <- ${last} -> ${a.version} on the same connection` : ""}\n`,
        );
      }
      last = a.version;
    };
    out.push(await startClients(n.service.host, n.service.port, 1, { onAnswer, namePrefix: `emqx-${i + 1}-client` }));
  }
  return out;
}

async function main(): Promise<number> {
  const mode = demoMode();
  banner("engine");
  process.stdout.write(`pulumi from ${ensureEngine()}\n`);
  const sandbox = mode === "otp" ? await otpSandbox() : await emulatorSandbox();
  banner(`sandbox: ${sandbox.label} behind real sshd on loopback (EMQX_DEMO_MODE=${mode})`);
  let project: CliProject | undefined;
  let clients: Clients[] = [];
  try {
    for (const n of sandbox.nodes)
      process.stdout.write(
        `${n.host}:${n.port}  ${n.emqxPath}${n.service ? `  service ${n.service.host}:${n.service.port}` : ""}\n`,
      );
    banner("the project: a copy of examples/sandbox, the library installed from its npm pack tarball");
    const p = newCliProject("sandbox");
    project = p;
    process.stdout.write(`${p.dir}\n`);
    /** Prints the command as typed in the project dir, runs it, shows its output as it comes. */
    const pulumi = async (args: string[], timeoutMs = 600_000): Promise<boolean> => {
      process.stdout.write(`$ pulumi ${args.join(" ")}\n`);
      return (await p.pulumi(args, { echo: true, timeoutMs })).code === 0;
    };
    const declare = async (version: string): Promise<boolean> =>
      (await pulumi(["config", "set", "version", version])) &&
      (await pulumi(["config", "set", "packagePath", sandbox.packages[version]]));
    const hosts = sandbox.nodes.map((n, i) => ({
      name: `emqx-${i + 1}`,
      host: n.host,
      port: n.port,
      hostKey: n.hostKey,
      emqxPath: n.emqxPath,
    }));
    if (
      !(await pulumi(["stack", "init", "demo"])) ||
      !(await pulumi(["config", "set", "hosts", JSON.stringify(hosts)]))
    )
      return 1;
    process.stdout.write("$ pulumi config set --secret privateKey < <the sandbox's client key>\n");
    await setSecretFromFile(p, "privateKey", sandbox.privateKey);
    banner(`pulumi up, declaring what the nodes run (${sandbox.running}): adopted, nothing changes on them`);
    if (!(await declare(sandbox.running)) || !(await pulumi(["up", "--yes", ...CLEAN_OUTPUT_FLAGS]))) return 1;
    banner(`pulumi preview --diff, declaring ${sandbox.target} (the upgrade plan)`);
    if (!(await declare(sandbox.target)) || !(await pulumi(["preview", "--diff", ...CLEAN_OUTPUT_FLAGS]))) return 1;
    if (mode === "otp") {
      banner("MQTT clients connected, one per node, each publishing a QoS 1 message every 100 ms");
      clients = await watchClients(sandbox.nodes);
      await Promise.all(clients.map((c) => c.waitForAnswers(5)));
    }
    banner("pulumi up");
    const upOk = await pulumi(["up", "--yes", ...CLEAN_OUTPUT_FLAGS], 900_000);
    let clientsOk = true;
    if (clients.length > 0) {
      await Promise.all(clients.map((c) => c.waitForAnswers(Math.max(...c.records.map((r) => r.answers.length)) + 10)));
      banner("the MQTT clients, after pulumi up");
      for (const [i, c] of clients.entries()) {
        const [r] = await c.stop();
        const lost = r.sent.length - r.answers.length;
        const kept = r.closedEarly === undefined;
        clientsOk &&= kept && lost === 0;
        process.stdout.write(
          `client of emqx-${i + 1}: ${r.sent.length} published, ${r.acked.length} acknowledged, ${r.answers.length} delivered back, ${lost} lost, connection ${kept ? "kept" : `LOST (${r.closedEarly})`}, answers ${versionSequence(r).join(" -> ")}\n`,
        );
      }
      clients = [];
    }
    banner("emqx versions on each node");
    for (const n of sandbox.nodes) {
      process.stdout.write(`--- ${n.host}\n`);
      process.stdout.write(execFileSync(n.emqxPath, ["versions"], { encoding: "utf8" }));
    }
    return upOk && clientsOk ? 0 : 1;
  } finally {
    banner("teardown");
    for (const c of clients) await c.stop();
    await sandbox.stop();
    project?.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
