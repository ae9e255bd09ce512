// Parses releases/emqx_vars: shell assignments that bin/emqx sources, appended to by every permafy,
// so the LAST assignment of a name is the one in force (docs/emqx-4.4-hot-upgrade.md §2.7). 4.4.0-4.4.2's
// template exports one of them: `export EMQX_DESCRIPTION='EMQ X Broker'`.

const ASSIGN_RE = /^(?:export[ \t]+)?([A-Z_][A-Z0-9_]{0,63})=(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"'#]*))\s*(?:#.*)?$/;

/** Every variable's value in force, and the REL_VSN history (oldest first). */
export function parseEmqxVars(text: string): { vars: Record<string, string>; relVsnHistory: string[] } {
  const vars: Record<string, string> = {};
  const relVsnHistory: string[] = [];
  for (const raw of text.replace(/\r/g, "").split("\n")) {
    const m = ASSIGN_RE.exec(raw.trim());
    if (!m) continue;
    const value = m[2] ?? m[3] ?? m[4] ?? "";
    vars[m[1]] = value;
    if (m[1] === "REL_VSN") relVsnHistory.push(value);
  }
  return { vars, relVsnHistory };
}
