// `npm run demo:fleet`: examples/fleet on a local sandbox of four EMQX 4.4.0 nodes in two clusters
// (real sshd on 127.0.0.5-8, the EMQX CLI emulator): adopt at 4.4.0, `pulumi preview` of the
// rollout to 4.4.16 (the fleet's `plan` output: each node's batch, cluster and what it waits for),
// `pulumi up` (canary, then batches of 2 with a gate after each), the `summary` output, teardown.
import * as path from "path";
import { ensureEngine, REPO_ROOT } from "./engine";
import { newStackDir, runStack } from "./run-stack";
import { packageShelf, startTestHost, TestHost, shareClientKey } from "./test-host";

const ADDRESSES = ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"];
const RUNNING = "4.4.0";
const TARGET = "4.4.16";

function banner(text: string): void {
  process.stdout.write(`\n=== ${text} ===\n`);
}

async function main(): Promise<number> {
  banner("engine");
  process.stdout.write(`pulumi from ${ensureEngine()}\n`);
  banner("sandbox: four EMQX 4.4.0 nodes in clusters a and b, behind real sshd on loopback");
  const hosts: TestHost[] = [];
  const dirs = newStackDir("fleet-demo");
  try {
    for (const a of ADDRESSES) hosts.push(await startTestHost({ version: RUNNING }, a));
    shareClientKey(hosts);
    const shelf = packageShelf();
    const packages: Record<string, string> = {
      [RUNNING]: await shelf.build({ version: RUNNING }),
      [TARGET]: await shelf.build({ version: TARGET }),
    };
    const spec = (version: string) => ({
      projectName: "emqx-fleet",
      stackName: "demo",
      programModule: path.join(REPO_ROOT, "dist", "examples", "fleet", "index.js"),
      config: {
        fleetName: { value: "prod" },
        hosts: {
          value: JSON.stringify(
            hosts.map((h, i) => ({
              name: `emqx-${i + 1}`,
              cluster: i < 2 ? "a" : "b",
              host: h.connection.host,
              port: h.connection.port,
              hostKey: h.connection.hostKey,
              emqxPath: h.emqxPath,
            })),
          ),
        },
        privateKey: { value: hosts[0].connection.privateKey, secret: true },
        version: { value: version },
        packagePath: { value: packages[version] },
        rollout: { value: JSON.stringify({ canary: 1, batchSize: 2, pauseSeconds: 2 }) },
        healthGate: { value: JSON.stringify({ deadlineSeconds: 30, requireClusterRunning: true }) },
      },
    });
    banner(`pulumi up at ${RUNNING}: every node adopted, nothing changes on them`);
    if ((await runStack({ ...spec(RUNNING), ops: ["up"] }, { dirs, timeoutMs: 600_000 })).exitCode !== 0) return 1;
    banner(`pulumi preview, declaring ${TARGET}: the rollout plan`);
    const preview = await runStack({ ...spec(TARGET), ops: ["preview"] }, { dirs, timeoutMs: 600_000, echo: "plain" });
    if (preview.exitCode !== 0) return 1;
    banner("pulumi up");
    const up = await runStack({ ...spec(TARGET), ops: ["up"] }, { dirs, timeoutMs: 900_000, echo: "plain" });
    banner("summary (stack output)");
    process.stdout.write(`${JSON.stringify(up.results[0]?.outputs?.summary?.value ?? null, null, 2)}\n`);
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
    process.stderr.write(`fleet demo failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
