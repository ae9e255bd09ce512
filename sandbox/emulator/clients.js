// `emqx ctl broker`, `broker stats`, `listeners` and `plugins list` of EMQX 4.4 in its exact formats
// (docs/emqx-4.4-observability.md §2), for the cases a real node cannot produce on demand. The
// numbers come from the `clients` fault switch (see emqx.js), keyed by the version the node runs,
// so one switch describes what the node says before and after an upgrade:
//   {"clients": {"live": 100, "listeners": [...], "plugins": [...], "unanswered": ["broker stats"],
//                "byVersion": {"4.4.16": {"live": 40, "shutdownCount": {"killed": 60}}}}}
// uptime is the time since the emulated node last booted (state.bootedAt): a restart resets it.
"use strict";

const { out } = require("./io");

const DEFAULT_PLUGINS = [
  ["emqx_dashboard", "EMQX Web Dashboard", true],
  ["emqx_management", "EMQX Management Plugin", true],
  ["emqx_recon", "EMQX Recon Plugin", true],
  ["emqx_retainer", "EMQX Retainer Plugin", true],
  ["emqx_rule_engine", "EMQX Rule Engine", true],
  ["emqx_auth_http", "EMQX Authentication/ACL with HTTP API", false],
].map(([name, description, active]) => ({ name, description, active }));

const STAT_KEYS = [
  "connections.count",
  "live_connections.count",
  "channels.count",
  "sessions.count",
  "topics.count",
  "suboptions.count",
  "subscribers.count",
  "subscriptions.count",
  "subscriptions.shared.count",
  "routes.count",
  "retained.count",
];

/** What the node reports while running `vsn`: the switch's values, overridden by byVersion[vsn]. */
function clientsOf(faults, vsn) {
  const c = faults.clients || {};
  const v = (c.byVersion || {})[vsn] || {};
  const live = v.live ?? c.live ?? 0;
  const shutdownCount = v.shutdownCount ?? c.shutdownCount ?? {};
  const listeners = v.listeners ??
    c.listeners ?? [{ id: "mqtt:tcp:external", listenOn: "0.0.0.0:1883", currentConn: live, shutdownCount }];
  return {
    live,
    listeners,
    plugins: v.plugins ?? c.plugins ?? DEFAULT_PLUGINS,
    unanswered: v.unanswered ?? c.unanswered ?? [],
  };
}

/** "1 hours, 2 minutes, 3 seconds" as EMQX writes uptime ("days," without a space). */
function uptimeText(secs) {
  if (secs < 60) return `${secs} seconds`;
  const m = Math.floor(secs / 60);
  const mins = m < 60 ? `${m} minutes, ` : `${hoursText(Math.floor(m / 60))}${m % 60} minutes, `;
  return `${mins}${secs % 60} seconds`;
}
function hoursText(h) {
  return h < 24 ? `${h} hours, ` : `${Math.floor(h / 24)} days,${h % 24} hours, `;
}

const pad = (s, n) => (s.length >= n ? s : s + " ".repeat(n - s.length));
/** Erlang's ~w of [{closed,2}]. */
const fmtCounts = (counts) =>
  `[${Object.entries(counts)
    .map(([r, n]) => `{${r},${n}}`)
    .join(",")}]`;

/** Prints the answer to one of the four commands and returns true, or false for another command
 * (or one the `unanswered` switch silences: the caller then prints the usage, as EMQX does). */
function clientsCommand(ctx, st, args) {
  const cmd = args.join(" ");
  const c = clientsOf(ctx.faults, st.runningVsn);
  if (c.unanswered.includes(cmd)) return false;
  if (cmd === "broker") {
    const now = new Date();
    const p2 = (n) => String(n).padStart(2, "0");
    const datetime = `${now.getFullYear()}-${p2(now.getMonth() + 1)}-${p2(now.getDate())} ${p2(now.getHours())}:${p2(now.getMinutes())}:${p2(now.getSeconds())}`;
    const uptime = uptimeText(Math.floor((Date.now() - (st.bootedAt || Date.now())) / 1000));
    for (const [k, v] of [
      ["sysdescr", ctx.vars.EMQX_DESCRIPTION || "EMQ X Broker"],
      ["version", st.runningVsn],
      ["uptime", uptime],
      ["datetime", datetime],
    ])
      out(`${pad(k, 10)}: ${v}`);
    return true;
  }
  if (cmd === "broker stats") {
    const lines = [];
    for (const k of STAT_KEYS) {
      const n = k === "subscriptions.shared.count" || k === "retained.count" ? 0 : c.live;
      lines.push([k, n], [`${k}.max`, n]);
    }
    lines.sort((a, b) => (a[0] < b[0] ? -1 : 1)).forEach(([k, n]) => out(`${pad(k, 30)}: ${n}`));
    return true;
  }
  if (cmd === "listeners") {
    for (const l of c.listeners) {
      out(l.id);
      const fields = [
        ["listen_on", l.listenOn],
        ["acceptors", 8],
        ["max_conns", 1024000],
        ["current_conn", l.currentConn],
        ["shutdown_count", fmtCounts(l.shutdownCount || {})],
      ];
      for (const [k, v] of fields) out(`  ${pad(k, 16)}: ${v}`);
    }
    return true;
  }
  if (cmd === "plugins list") {
    for (const p of c.plugins) out(`Plugin(${p.name}, description=${p.description}, active=${p.active})`);
    return true;
  }
  return false;
}

module.exports = { clientsCommand };
