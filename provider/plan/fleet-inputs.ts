// Fleet-level rules of EmqxFleet: host names and clusters, and how per-host refusals are reported
// together (the engine stops at the first failing resource; the fleet shows them all at once).
import type { Refusal } from "./upgrade-plan";

// Host names become part of resource names (`<fleet>-<name>`): keep them URN- and log-safe.
const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Refusals for the `hosts` list itself: empty, bad or duplicate names, bad cluster names. */
export function checkFleetHosts(hosts: unknown): Refusal[] {
  if (!Array.isArray(hosts) || hosts.length === 0)
    return [{ property: "hosts", reason: "must list at least one host: [{ name, connection, cluster? }]" }];
  const refusals: Refusal[] = [];
  const seen = new Set<string>();
  hosts.forEach((h, i) => {
    const name = (h as { name?: unknown })?.name;
    if (typeof name !== "string" || !HOST_NAME_RE.test(name)) {
      refusals.push({
        property: `hosts[${i}].name`,
        reason: `must be 1-63 letters, digits, . _ - (it is part of the resource name), got ${JSON.stringify(String(name)).slice(0, 80)}`,
      });
    } else if (seen.has(name)) {
      refusals.push({
        property: `hosts[${i}].name`,
        reason: `"${name}" is used by two hosts: names must be unique within a fleet`,
      });
    } else seen.add(name);
    const cluster = (h as { cluster?: unknown }).cluster;
    if (cluster !== undefined && (typeof cluster !== "string" || !HOST_NAME_RE.test(cluster))) {
      refusals.push({
        property: `hosts[${i}].cluster`,
        reason: `must be 1-63 letters, digits, . _ -, got ${JSON.stringify(String(cluster)).slice(0, 80)}`,
      });
    }
    if (!(h as { connection?: unknown }).connection)
      refusals.push({
        property: `hosts[${i}].connection`,
        reason: "is required: { host, privateKey?, hostKey?, ... } (fields missing here come from connectionDefaults)",
      });
  });
  return refusals;
}

/** Refusals of `(host.port)` pairs used by two hosts. */
export function duplicateEndpoints(hosts: Array<{ name: string; host?: unknown; port?: unknown }>): Refusal[] {
  const byEndpoint = new Map<string, string[]>();
  for (const h of hosts) {
    if (typeof h.host !== "string") continue;
    const key = `${h.host}:${typeof h.port === "number" ? h.port : 22}`;
    byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), h.name]);
  }
  return [...byEndpoint.entries()]
    .filter(([, names]) => names.length > 1)
    .map(([endpoint, names]) => ({
      property: "hosts",
      reason: `${names.join(", ")} all point at ${endpoint}: each node must be listed once`,
    }));
}

/** One line per distinct refusal, naming every host it applies to:
 * `version (all 3 hosts: a, b, c): must be ...`. */
export function groupRefusals(perHost: Array<{ name: string; refusals: Refusal[] }>): string[] {
  const groups = new Map<string, { property: string; reason: string; hosts: string[] }>();
  for (const h of perHost) {
    for (const r of h.refusals) {
      const key = `${r.property}\u0000${r.reason}`;
      const g = groups.get(key) ?? { property: r.property, reason: r.reason, hosts: [] };
      g.hosts.push(h.name);
      groups.set(key, g);
    }
  }
  const total = perHost.length;
  return [...groups.values()].map((g) => {
    const who =
      g.hosts.length === total && total > 1
        ? `all ${total} hosts`
        : g.hosts.length === 1
          ? `host ${g.hosts[0]}`
          : `${g.hosts.length} hosts: ${g.hosts.join(", ")}`;
    return `${g.property} (${who}): ${g.reason}`;
  });
}
