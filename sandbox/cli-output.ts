// Reading what the `pulumi` CLI prints for a person, and the config steps the examples' comments
// tell a person to type.
import * as fs from "fs";
import * as path from "path";
import type { CliProject, CliRun } from "./cli-project";

const KINDS: Record<string, string> = {
  "to create": "create",
  created: "create",
  "to update": "update",
  updated: "update",
  "to delete": "delete",
  deleted: "delete",
  "to replace": "replace",
  replaced: "replace",
  unchanged: "same",
};

/** The counts of the `Resources:` block that preview, up, refresh and destroy end with, keyed as
 * the engine's change summary is (`create`, `update`, `delete`, `replace`, `same`). */
export function resourceCounts(stdout: string): Record<string, number> {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.trim() === "Resources:");
  if (start < 0) throw new Error(`no 'Resources:' block in the output:\n${stdout.split("\n").slice(-30).join("\n")}`);
  const counts: Record<string, number> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    const m =
      /^\s*(?:\+-|[+~-])?\s*(\d+) (to create|created|to update|updated|to delete|deleted|to replace|replaced|unchanged)\b/.exec(
        line,
      );
    if (m) counts[KINDS[m[2]]] = (counts[KINDS[m[2]]] ?? 0) + Number(m[1]);
  }
  return counts;
}

/** `pulumi config set --secret <key> < <file>` typed in a shell, as the examples' comments say (the
 * value from stdin: a PEM key given as an argument starts with "-" and the CLI fails on it with
 * "bad flag syntax"), with `value` in a file of the project's dirs (mode 600). */
export async function setSecretFromFile(p: CliProject, key: string, value: string): Promise<CliRun> {
  const file = path.join(p.dirs.root, `${key}.secret`);
  fs.writeFileSync(file, value, { mode: 0o600 });
  try {
    return await p.pulumiOk(["-c", `pulumi config set --secret ${key} < "$SECRET_FILE"`], {
      command: "bash",
      env: { SECRET_FILE: file },
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** A fleet's hosts entry as examples/fleet and examples/ci-rollout read it from config. */
export interface FleetHostConfig {
  name: string;
  host: string;
  port: number;
  hostKey: string;
  emqxPath: string;
  cluster?: string;
}

/** The config of examples/fleet and examples/ci-rollout as their comments say to set it:
 * `pulumi config set hosts '<json list>'` (with --path, `hosts[0]` would hold the JSON as a string),
 * the deploy key with --secret, version and packagePath. Hosts are named emqx-1, emqx-2, ... unless
 * `names` says otherwise. */
export async function setFleetConfig(
  p: CliProject,
  hosts: Array<{ connection: { host: string; port: number; hostKey: string; privateKey: string }; emqxPath: string }>,
  version: string,
  packagePath: string,
  opts: { names?: string[]; cluster?: string } = {},
): Promise<void> {
  const entries = hosts.map((h, i) => {
    const entry: FleetHostConfig = {
      name: opts.names?.[i] ?? `emqx-${i + 1}`,
      host: h.connection.host,
      port: h.connection.port,
      hostKey: h.connection.hostKey,
      emqxPath: h.emqxPath,
    };
    if (opts.cluster) entry.cluster = opts.cluster;
    return entry;
  });
  await p.pulumiOk(["config", "set", "hosts", JSON.stringify(entries)]);
  await setSecretFromFile(p, "privateKey", hosts[0].connection.privateKey);
  await p.pulumiOk(["config", "set", "version", version]);
  await p.pulumiOk(["config", "set", "packagePath", packagePath]);
}
