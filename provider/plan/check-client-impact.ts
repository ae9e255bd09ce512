// Shape rules for `clientImpact`, `onGateFailure` and `retryAfterRollback` of EmqxRelease, reported
// as {property, reason} the way `check` returns them. Unknown values (preview) are skipped.
import { isUnknown } from "./check-inputs";
import type { Refusal } from "./upgrade-plan";

function checkNumber(out: Refusal[], property: string, v: unknown, min: number, max: number, what: string): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    out.push({ property, reason: `must be ${what} from ${min} to ${max}, got ${JSON.stringify(v)}` });
}

// `probe`: true (EMQX's internal listener) or { host, port } on the node's side.
function checkProbe(out: Refusal[], p: unknown): void {
  if (p === undefined || typeof p === "boolean" || isUnknown(p)) return;
  const o = p as Record<string, unknown>;
  if (!p || typeof p !== "object" || Array.isArray(p)) {
    out.push({
      property: "clientImpact.probe",
      reason:
        "must be true (EMQX's internal listener 127.0.0.1:11883) or { host, port } of an MQTT listener on the node",
    });
    return;
  }
  if (
    o.host !== undefined &&
    !isUnknown(o.host) &&
    (typeof o.host !== "string" || !/^[A-Za-z0-9_.:-]{1,253}$/.test(o.host))
  )
    out.push({
      property: "clientImpact.probe.host",
      reason: `must be a host name or IP address as the node sees it, e.g. "127.0.0.1", got ${JSON.stringify(String(o.host).slice(0, 80))}`,
    });
  checkNumber(out, "clientImpact.probe.port", o.port, 1, 65535, "a port");
}

/** Refusals of the client-impact inputs of `news`. */
export function checkClientImpactInputs(news: Record<string, unknown>): Refusal[] {
  const out: Refusal[] = [];
  const c = news.clientImpact;
  if (c !== undefined && !(isUnknown(c) && typeof c !== "object")) {
    if (!c || typeof c !== "object" || Array.isArray(c)) {
      out.push({
        property: "clientImpact",
        reason: "must be an object such as { maxConnectionDropPercent: 10 } ({} checks with the defaults)",
      });
    } else {
      const o = c as Record<string, unknown>;
      checkNumber(out, "clientImpact.deadlineSeconds", o.deadlineSeconds, 5, 3600, "a number of seconds");
      if (typeof o.deadlineSeconds === "number" && !Number.isInteger(o.deadlineSeconds))
        out.push({
          property: "clientImpact.deadlineSeconds",
          reason: `must be a whole number of seconds, got ${o.deadlineSeconds}`,
        });
      checkNumber(out, "clientImpact.maxConnectionDropPercent", o.maxConnectionDropPercent, 0, 100, "a percentage");
      checkNumber(out, "clientImpact.maxShutdownGrowthPercent", o.maxShutdownGrowthPercent, 0, 100, "a percentage");
      if (
        o.requireSamePlugins !== undefined &&
        !isUnknown(o.requireSamePlugins) &&
        typeof o.requireSamePlugins !== "boolean"
      ) {
        out.push({
          property: "clientImpact.requireSamePlugins",
          reason: `must be true or false, got ${JSON.stringify(o.requireSamePlugins)}`,
        });
      }
      checkProbe(out, o.probe);
      const known = [
        "deadlineSeconds",
        "maxConnectionDropPercent",
        "maxShutdownGrowthPercent",
        "requireSamePlugins",
        "probe",
      ];
      for (const k of Object.keys(o).filter((k) => !known.includes(k)))
        out.push({
          property: `clientImpact.${k}`,
          reason: `is not an input of clientImpact (it has ${known.join(", ")})`,
        });
    }
  }
  const g = news.onGateFailure;
  if (g !== undefined && !isUnknown(g) && g !== "halt" && g !== "downgrade") {
    out.push({
      property: "onGateFailure",
      reason: `must be "halt" (leave the node on the new release) or "downgrade" (run \`emqx downgrade\` back to the previous release), got ${JSON.stringify(g)}`,
    });
  }
  const r = news.retryAfterRollback;
  if (r !== undefined && !isUnknown(r) && typeof r !== "boolean")
    out.push({ property: "retryAfterRollback", reason: `must be true or false, got ${JSON.stringify(r)}` });
  return out;
}
