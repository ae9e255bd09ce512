// The Markdown table a pull request shows for a rollout: one row per EMQX node from the document
// `pulumi preview --json` prints (host, cluster, batch, from -> to, refusals), then the engine's
// change counts and every refusal. Pure: the parsed JSON in, Markdown out; the CLI around it is
// provider/cli.ts (`npx pulumi-emqx-release plan-summary < preview.json`).

const RELEASE_TYPE = "pulumi-nodejs:dynamic/emqx:EmqxRelease";
const GATE_TYPE = "pulumi-nodejs:dynamic/emqx:EmqxRolloutGate";
/** What the engine puts where a value is known only once `up` runs. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type Json = Record<string, unknown>;

/** One node's row. */
export interface PlanRow {
  /** The host's name in its fleet, else the resource's name. */
  name: string;
  address?: string;
  cluster?: string;
  batch?: number;
  /** The engine's step: create, update, same, delete, replace, ... (`refused` when check failed). */
  op: string;
  from?: string;
  to?: string;
  refusals: string[];
}

/** What the renderer read from the preview. */
export interface PlanSummary {
  rows: PlanRow[];
  /** Error diagnostics that name no single node (a fleet-wide refusal, a program error). */
  otherErrors: string[];
  changeSummary: Record<string, number>;
}

/** Thrown for input that is not a `pulumi preview --json` document. */
export class PlanSummaryInputError extends Error {}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const known = (v: unknown): string | undefined => (typeof v === "string" && v !== UNKNOWN && v !== "" ? v : undefined);

function typeOf(urn: string): string {
  // urn:pulumi:<stack>::<project>::<parent types$>type::name
  const parts = urn.split("::");
  const types = parts.length >= 4 ? parts[2] : "";
  return types.split("$").pop() ?? "";
}

function nameOf(urn: string): string {
  const parts = urn.split("::");
  return parts[parts.length - 1] ?? urn;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** The refusal itself, without the engine's "<type> resource '<name>': property x value {..} has a
 * problem:" wrapper (the row names the node already). */
function refusalText(message: string): string {
  const m = /has a problem: ([\s\S]*)$/.exec(message);
  return oneLine(m ? m[1] : message.replace(/^error: /, ""));
}

/** Reads a parsed `pulumi preview --json` document. */
export function readPreview(doc: unknown): PlanSummary {
  if (!isObject(doc) || !("steps" in doc || "diagnostics" in doc || "changeSummary" in doc)) {
    throw new PlanSummaryInputError(
      "the input is not the JSON document `pulumi preview --json` prints (it has no steps, diagnostics or changeSummary)",
    );
  }
  const steps = Array.isArray(doc.steps) ? doc.steps.filter(isObject) : [];
  const diagnostics = Array.isArray(doc.diagnostics) ? doc.diagnostics.filter(isObject) : [];
  // fleet-host resource name -> batch and cluster, from the gates' inputs.
  const placement = new Map<string, { host: string; batch: number; cluster?: string }>();
  for (const s of steps) {
    if (typeof s.urn !== "string" || typeOf(s.urn) !== GATE_TYPE) continue;
    const inputs = (isObject(s.newState) && isObject(s.newState.inputs) ? s.newState.inputs : undefined) ?? {};
    if (typeof inputs.batch !== "number" || typeof inputs.fleet !== "string" || !Array.isArray(inputs.batchHosts))
      continue;
    for (const h of inputs.batchHosts.filter(isObject)) {
      if (typeof h.name === "string")
        placement.set(`${inputs.fleet}-${h.name}`, { host: h.name, batch: inputs.batch, cluster: known(h.cluster) });
    }
  }

  const rows = new Map<string, PlanRow>();
  for (const s of steps) {
    if (typeof s.urn !== "string" || typeOf(s.urn) !== RELEASE_TYPE) continue;
    const op = typeof s.op === "string" ? s.op : "?";
    const neu = isObject(s.newState) ? s.newState : undefined;
    const old = isObject(s.oldState) ? s.oldState : undefined;
    const inputs = neu && isObject(neu.inputs) ? neu.inputs : old && isObject(old.inputs) ? old.inputs : {};
    const conn = isObject(inputs.connection) ? inputs.connection : {};
    const host = known(conn.host);
    const port = typeof conn.port === "number" ? conn.port : known(conn.port);
    const oldOut = old && isObject(old.outputs) ? old.outputs : {};
    const placed = placement.get(nameOf(s.urn));
    const row: PlanRow = {
      name: placed?.host ?? nameOf(s.urn),
      address: host ? (port !== undefined && String(port) !== "22" ? `${host}:${port}` : host) : undefined,
      batch: placed?.batch,
      cluster: placed?.cluster,
      op,
      from: known(oldOut.currentVersion),
      to: op === "delete" ? undefined : known(neu && isObject(neu.inputs) ? neu.inputs.version : undefined),
      refusals: [],
    };
    rows.set(s.urn, row);
  }

  const otherErrors: string[] = [];
  for (const d of diagnostics) {
    if (d.severity !== "error" || typeof d.message !== "string") continue;
    const urn = typeof d.urn === "string" ? d.urn : "";
    if (urn && typeOf(urn) === RELEASE_TYPE) {
      // A refused node has no step (check failed before the engine planned it): a row of its own.
      const placed = placement.get(nameOf(urn));
      const row = rows.get(urn) ?? {
        name: placed?.host ?? nameOf(urn),
        batch: placed?.batch,
        cluster: placed?.cluster,
        op: "refused",
        refusals: [],
      };
      row.refusals.push(refusalText(d.message));
      rows.set(urn, row);
    } else {
      otherErrors.push(oneLine(d.message.replace(/^error: /, "")));
    }
  }

  const changeSummary: Record<string, number> = {};
  if (isObject(doc.changeSummary))
    for (const [k, v] of Object.entries(doc.changeSummary)) if (typeof v === "number") changeSummary[k] = v;
  const sorted = [...rows.values()].sort(
    (a, b) => (a.batch ?? Infinity) - (b.batch ?? Infinity) || a.name.localeCompare(b.name),
  );
  return { rows: sorted, otherErrors: [...new Set(otherErrors)], changeSummary };
}

function cell(text: string | number | undefined): string {
  return text === undefined || text === "" ? "" : String(text).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** "4.4.15 -> 4.4.16", "4.4.16 (unchanged)", "? -> 4.4.16" for a node the stack has not read yet. */
function change(row: PlanRow): string {
  switch (row.op) {
    case "same":
      return `${row.to ?? row.from ?? "?"} (unchanged)`;
    case "delete":
      return `${row.from ?? "?"} (leaves the stack; the node keeps running it)`;
    case "refused":
      return "refused";
    default:
      return `${row.from ?? "?"} -> ${row.to ?? "(known at up)"}${row.op === "update" || row.op === "create" ? "" : ` (${row.op})`}`;
  }
}

const ORDER = ["create", "update", "replace", "delete", "same"];
const LABEL: Record<string, string> = {
  create: "to create",
  update: "to update",
  replace: "to replace",
  delete: "to delete",
  same: "unchanged",
};

/** The Markdown for a pull request's summary page. */
export function renderPlanSummary(doc: unknown, title = "EMQX rollout plan"): string {
  const s = readPreview(doc);
  const out: string[] = [`### ${title}`, ""];
  if (s.rows.length === 0) {
    out.push("No EMQX node in this preview.", "");
  } else {
    out.push("| host | cluster | batch | from -> to | refusals |", "|---|---|---|---|---|");
    for (const r of s.rows) {
      const host = r.address ? `${r.name} (${r.address})` : r.name;
      out.push(
        `| ${cell(host)} | ${cell(r.cluster)} | ${cell(r.batch)} | ${cell(change(r))} | ${cell(r.refusals.join("; "))} |`,
      );
    }
    out.push("");
    if (s.rows.some((r) => r.op === "create" && r.from === undefined)) {
      out.push("`?`: a node new to the stack; `pulumi up` reads what it runs before upgrading it.", "");
    }
  }
  const counts = [...ORDER, ...Object.keys(s.changeSummary).filter((k) => !ORDER.includes(k))]
    .filter((k) => (s.changeSummary[k] ?? 0) > 0)
    .map((k) => `${s.changeSummary[k]} ${LABEL[k] ?? k}`);
  const refused = s.rows.filter((r) => r.refusals.length > 0).length;
  // A refused preview stops at the first refusal: its counts are of what it got to, not a plan.
  if (counts.length > 0 && refused === 0 && s.otherErrors.length === 0)
    out.push(`Resources: ${counts.join(", ")}.`, "");
  if (refused > 0 || s.otherErrors.length > 0) {
    out.push(
      `**Refused**: the preview failed${refused > 0 ? ` (${refused} node${refused === 1 ? "" : "s"} refused)` : ""}; nothing was planned or changed.`,
      "",
    );
    for (const e of s.otherErrors) out.push(`- ${e}`);
    if (s.otherErrors.length > 0) out.push("");
  }
  return `${out.join("\n").trimEnd()}\n`;
}
