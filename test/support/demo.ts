// The main job (`npm run demo`): a local sandbox of three EMQX 4.4 nodes (real OpenSSH sshd on
// 127.0.0.2-4, the EMQX CLI emulator running 4.4.0), then the real engine on the root Pulumi.yaml's
// program: a first `pulumi up` declaring what the nodes run (4.4.0: adopted, nothing changes), then
// `pulumi preview --diff` to 4.4.16 (the upgrade plan, `version: "4.4.0" => "4.4.16"` per node),
// `pulumi up`, each node's `emqx versions`, and teardown.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ensureEngine, REPO_ROOT } from "./engine";
import { newStackDir, runStack } from "./run-stack";
import { packageShelf, startTestHost, TestHost, shareClientKey } from "./test-host";

const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const RUNNING = "4.4.0";
const TARGET = "4.4.16";

/** `name` and `main` of the root Pulumi.yaml (two flat keys: no YAML library needed). */
function rootProject(): { name: string; main: string } {
  const text = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  const key = (k: string) => {
    const m = new RegExp(`^${k}:\\s*(\\S+)\\s*$`, "m").exec(text);
    if (!m) throw new Error(`Pulumi.yaml has no '${k}:' line`);
    return m[1];
  };
  return { name: key("name"), main: path.join(REPO_ROOT, key("main")) };
}

function banner(text: string): void {
  process.stdout.write(`\n=== ${text} ===\n`);
}

async function main(): Promise<number> {
  banner("engine");
  process.stdout.write(`pulumi from ${ensureEngine()}\n`);
  banner("sandbox: three EMQX 4.4.0 nodes behind real sshd on loopback");
  const hosts: TestHost[] = [];
  const dirs = newStackDir("demo");
  try {
    for (const a of ADDRESSES) hosts.push(await startTestHost({ version: RUNNING }, a));
    const shelf = packageShelf();
    const packages: Record<string, string> = { [RUNNING]: await shelf.build({ version: RUNNING }), [TARGET]: await shelf.build({ version: TARGET }) };
    for (const h of hosts) process.stdout.write(`${h.connection.host}:${h.connection.port}  root ${h.root}\n`);
    const project = rootProject();
    const spec = (version: string) => ({
      workDir: REPO_ROOT,
      projectName: project.name,
      stackName: "demo",
      programModule: project.main,
      config: {
        hosts: {
          value: JSON.stringify(hosts.map((h, i) => ({ name: `emqx-${i + 1}`, host: h.connection.host, port: h.connection.port, hostKey: h.connection.hostKey, emqxPath: h.emqxPath }))),
        },
        privateKey: { value: hosts[0].connection.privateKey, secret: true },
        version: { value: version },
        packagePath: { value: packages[version] },
      },
    });
    // One key for the whole sandbox, as a fleet would have: every sshd also trusts host 1's client key.
    shareClientKey(hosts);
    banner(`pulumi up, declaring what the nodes run (${RUNNING}): adopted, nothing changes on them`);
    const adopt = await runStack({ ...spec(RUNNING), ops: ["up"] }, { dirs, timeoutMs: 600_000, echo: "plain" });
    if (adopt.exitCode !== 0) return 1;
    banner(`pulumi preview --diff, declaring ${TARGET} (the upgrade plan)`);
    const preview = await runStack({ ...spec(TARGET), ops: ["preview-diff"] }, { dirs, timeoutMs: 600_000, echo: "plain" });
    if (preview.exitCode !== 0) return 1;
    banner("pulumi up");
    const up = await runStack({ ...spec(TARGET), ops: ["up"] }, { dirs, timeoutMs: 900_000, echo: "plain" });
    banner("emqx versions on each node");
    for (const h of hosts) {
      process.stdout.write(`--- ${h.connection.host}\n`);
      process.stdout.write(execFileSync(h.emqxPath, ["versions"], { encoding: "utf8" }));
    }
    return up.exitCode === 0 ? 0 : 1;
  } finally {
    banner("teardown");
    for (const h of hosts) await h.stop();
    dirs.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
