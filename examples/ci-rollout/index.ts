// The fleet that .github/workflows/emqx-rollout.yml rolls out: `pulumi preview --save-plan` on a
// pull request, `pulumi up --plan` of that reviewed plan once it is merged. Everything comes from
// stack config (README.md "Set up"), so a rollout is a pull request that changes
// Pulumi.<stack>.yaml: `version` and `packagePath`, or the `rollout`/`healthGate` knobs.
import * as pulumi from "@pulumi/pulumi";
import { EmqxFleet, FleetRolloutArgs, HealthGateArgs } from "pulumi-emqx-release";

interface HostConfig {
  name: string;
  host: string;
  port?: number;
  hostKey?: string;
  cluster?: string;
  /** Only when this node's CLI is elsewhere than the fleet's `emqxPath`. */
  emqxPath?: string;
}

const config = new pulumi.Config();
const hosts = config.requireObject<HostConfig[]>("hosts");

const fleet = new EmqxFleet(config.get("fleetName") ?? "emqx", {
  hosts: hosts.map((h) => ({
    name: h.name,
    cluster: h.cluster,
    emqxPath: h.emqxPath,
    connection: { host: h.host, port: h.port, hostKey: h.hostKey },
  })),
  connectionDefaults: { user: config.get("user") ?? "root", privateKey: config.requireSecret("privateKey") },
  version: config.require("version"),
  packagePath: config.require("packagePath"),
  emqxPath: config.get("emqxPath"),
  rollout: config.getObject<FleetRolloutArgs>("rollout"),
  healthGate: config.getObject<HealthGateArgs>("healthGate"),
});

/** Per host: batch, cluster, what it waits for, target (known in preview, so it is in the plan). */
export const plan = fleet.plan;
/** Per host after `up`: action, from/to, duration, health gate, error. */
export const results = fleet.results;
/** Per host: "4.4.15 -> 4.4.16", "unchanged (4.4.16)" or "failed: ..." (scripts/apply-plan.sh prints it). */
export const summary = fleet.summary;
