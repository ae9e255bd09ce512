// Parses `emqx ctl cluster status` (4.4): `Cluster status: #{running_nodes => [...], stopped_nodes => [...]}`
// (docs/emqx-4.4-hot-upgrade.md §1.3). The map is printed with `~p`, so a long node list wraps over several lines:
//   Cluster status: #{running_nodes => ['emqx@node1.example.internal',
//                                       'emqx@node2.example.internal'],
//                     stopped_nodes => []}
// We parse the Erlang map, never the line layout.
import { EmqxOutputParseError } from "../errors";
import { asAtom, asList, ErlangTerm, ErlangTermSyntaxError, mapGet, parseErlangTerm } from "../plan/erlang-term";
import { cleanLines } from "./clean-output";

/** Which members of the node's cluster are running and which are stopped, as node names. */
export interface ClusterStatus {
  runningNodes: string[];
  stoppedNodes: string[];
}

const PREFIX = "Cluster status:";

/** Parses the `Cluster status: #{...}` map; throws EmqxOutputParseError on anything else. */
export function parseClusterStatus(stdout: string, argv: string[]): ClusterStatus {
  const lines = cleanLines(stdout);
  const start = lines.findIndex((l) => l.trimStart().startsWith(PREFIX));
  if (start < 0) throw new EmqxOutputParseError({ argv, output: stdout, what: `no "${PREFIX} #{...}" line` });
  // The map runs from after the prefix to the end of the output (it may span lines). Blanking the
  // prefix keeps a syntax error's column that of the output; its line 1 is the prefix's line.
  const first = lines[start];
  const prefixEnd = first.indexOf(PREFIX) + PREFIX.length;
  const text = " ".repeat(prefixEnd) + [first.slice(prefixEnd), ...lines.slice(start + 1)].join("\n");
  let term: ErlangTerm;
  try {
    term = parseErlangTerm(text);
  } catch (e) {
    if (!ErlangTermSyntaxError.isInstance(e)) throw e;
    throw new EmqxOutputParseError({
      argv,
      output: stdout,
      what: `the cluster status is not an Erlang term (${e.message})`,
    });
  }
  if (term.type !== "map")
    throw new EmqxOutputParseError({ argv, output: stdout, what: `the cluster status is a ${term.type}, not a map` });
  return {
    runningNodes: nodeList(term, "running_nodes", stdout, argv),
    stoppedNodes: nodeList(term, "stopped_nodes", stdout, argv),
  };
}

/** The node names under `key`: a list of atoms (`[]` when none). */
function nodeList(map: ErlangTerm, key: string, stdout: string, argv: string[]): string[] {
  const items = asList(mapGet(map, key));
  const names = items?.map(asAtom);
  if (!names || names.some((n) => n === undefined)) {
    throw new EmqxOutputParseError({ argv, output: stdout, what: `no list of node names under ${key}` });
  }
  return names as string[];
}
