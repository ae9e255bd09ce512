// A fleet of EMQX 4.4 nodes upgraded from CI: a canary first, then batches, each node health-gated
// right after its upgrade, the rollout halted when more than `maxFailures` hosts fail, resumed by
// the next `pulumi up`.
//   pulumi config set hosts '[{"name":"emqx-1","host":"10.0.0.7","hostKey":"ssh-ed25519 AAAA...","cluster":"prod-a"}]'
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519   # from stdin: a key as an argument reads as flags
//   pulumi config set version 4.4.16
//   pulumi config set packagePath ./emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip
//   # or let every node download it (the runner then sends no package bytes):
//   #   pulumi config set packageUrl https://packages.internal/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip
//   #   pulumi config set packageSha256 <the package's .sha256>
//   #   pulumi config set --secret packageHeaders '{"Authorization":"Bearer ..."}'   # optional
//   pulumi config set rollout '{"canary":1,"batchSize":"25%","maxFailures":0}'    # optional
//   pulumi config set healthGate '{"deadlineSeconds":120,"requireClusterRunning":true}'  # optional
//   pulumi config set clientImpact '{"maxConnectionDropPercent":10}'   # optional: did clients stay?
//   pulumi config set onGateFailure downgrade   # optional: roll a node back when its gate fails
//   pulumi preview --diff   # the plan: each node's version change and its batch (output `plan`)
//   pulumi up
// Trial first (rollback lever): rollout.promote=false upgrades only the canary with --no-permanent;
// then promote (promote=true) or revert (set version back: the canary restarts into the old release).
import * as pulumi from "@pulumi/pulumi";
import { ClientImpactArgs, EmqxFleet, FleetRolloutArgs, HealthGateArgs } from "pulumi-emqx-release";

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
  packagePath: config.get("packagePath"),
  packageUrl: config.get("packageUrl"),
  packageSha256: config.get("packageSha256"),
  packageHeaders: config.getSecretObject<Record<string, string>>("packageHeaders"),
  emqxPath: config.get("emqxPath"),
  rollout: config.getObject<FleetRolloutArgs>("rollout"),
  healthGate: config.getObject<HealthGateArgs>("healthGate"),
  clientImpact: config.getObject<ClientImpactArgs>("clientImpact"),
  onGateFailure: config.get("onGateFailure") as "halt" | "downgrade" | undefined,
  retryAfterRollback: config.getBoolean("retryAfterRollback"),
});

/** Per host: batch, cluster, what it waits for, target (known in preview). */
export const plan = fleet.plan;
/** Per host after `up`: action, from/to, duration, health gate, error. */
export const results = fleet.results;
/** Per host, its last change: "4.4.15 -> 4.4.16", "unchanged (4.4.16)" or "failed: ...". */
export const summary = fleet.summary;
