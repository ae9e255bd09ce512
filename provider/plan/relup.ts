// Reads a `relup` file: {"<V>", [{"<from>", Descr, Instrs}...], [{"<to>", Descr, Instrs}...]}.
// release_handler looks up the target's "up" list by the running version, else the running
// release's "down" list by the target (docs/emqx-4.4-hot-upgrade.md §3.4); only the keys matter for our rules.
import { ErlangTerm, parseErlangTerm } from "./erlang-term";

/** The versions a release can be hot-upgraded from and hot-downgraded to. */
export interface RelupKeys {
  version: string;
  upFrom: string[];
  downTo: string[];
}

function keysOf(list: ErlangTerm, what: string): string[] {
  if (list.type !== "list") throw new Error(`relup ${what} list is a ${list.type}, not a list`);
  return list.items.map((item) => {
    if (item.type !== "tuple" || item.items.length !== 3 || item.items[0].type !== "string") {
      throw new Error(`relup ${what} entry is not {"<version>", Descr, Instructions}`);
    }
    return (item.items[0] as { value: string }).value;
  });
}

/** Parses relup text; throws (ErlangTermSyntaxError or Error) when it is not a relup term. */
export function parseRelup(text: string): RelupKeys {
  const term = parseErlangTerm(text);
  if (term.type !== "tuple" || term.items.length !== 3 || term.items[0].type !== "string") {
    throw new Error('relup is not a {"<version>", UpList, DownList} tuple');
  }
  return { version: term.items[0].value, upFrom: keysOf(term.items[1], "up"), downTo: keysOf(term.items[2], "down") };
}
