// Parses `emqx ctl listeners` (4.4): per listener an identifier line (`mqtt:tcp:external`), then
// indented `"  ~-16s: ~w"` lines (docs/emqx-4.4-observability.md §2.4):
//   mqtt:tcp:external
//     listen_on       : 0.0.0.0:1883
//     acceptors       : 8
//     max_conns       : 1024000
//     current_conn    : 1170
//     shutdown_count  : [{closed,12},{keepalive_timeout,3}]
import { EmqxOutputParseError } from "../errors";
import { asAtom, asInt, asList, asTuple, ErlangTermSyntaxError, parseErlangTerm } from "../plan/erlang-term";
import { cleanLines } from "./clean-output";

/** One listener of the node. */
export interface ListenerInfo {
  /** `mqtt:tcp:external`, `http:management`, ... */
  id: string;
  listenOn: string;
  currentConn: number;
  maxConns?: number;
  /** Connections that ended since the listener started, per exit reason (`{closed: 12}`). */
  shutdownCount: Record<string, number>;
}

const ID_RE = /^[a-z][a-z0-9_]{0,31}(?::[A-Za-z0-9_.-]{1,64}){1,3}$/;
const FIELD_RE = /^ {2}([a-z_]{1,32}) {0,16}: (.{0,4000})$/;

/** Every listener, in the CLI's order; throws EmqxOutputParseError on anything else. */
export function parseListeners(stdout: string, argv: string[]): ListenerInfo[] {
  const out: ListenerInfo[] = [];
  let current: { id: string; fields: Record<string, string> } | undefined;
  const finish = () => {
    if (current) out.push(toListener(current.id, current.fields, stdout, argv));
  };
  for (const raw of cleanLines(stdout)) {
    const line = raw.trimEnd();
    if (line === "") continue;
    const field = FIELD_RE.exec(line);
    if (field && current) {
      current.fields[field[1]] = field[2].trim();
    } else if (ID_RE.test(line)) {
      finish();
      current = { id: line, fields: {} };
    } else {
      throw new EmqxOutputParseError({
        argv,
        output: stdout,
        what: `the line ${JSON.stringify(line.slice(0, 120))} is neither a listener nor one of its fields`,
      });
    }
  }
  finish();
  if (out.length === 0) throw new EmqxOutputParseError({ argv, output: stdout, what: "no listener" });
  return out;
}

function toListener(id: string, f: Record<string, string>, stdout: string, argv: string[]): ListenerInfo {
  const bad = (what: string) => new EmqxOutputParseError({ argv, output: stdout, what: `listener ${id}: ${what}` });
  if (f.current_conn === undefined || !/^[0-9]{1,12}$/.test(f.current_conn))
    throw bad(`current_conn ${JSON.stringify(f.current_conn ?? "missing")} is not a number`);
  if (f.shutdown_count === undefined) throw bad("no shutdown_count");
  const listener: ListenerInfo = {
    id,
    listenOn: f.listen_on ?? "",
    currentConn: Number(f.current_conn),
    shutdownCount: parseShutdownCount(f.shutdown_count, bad),
  };
  if (f.max_conns !== undefined && /^[0-9]{1,12}$/.test(f.max_conns)) listener.maxConns = Number(f.max_conns);
  return listener;
}

/** `[{closed,12},{keepalive_timeout,3}]` -> { closed: 12, keepalive_timeout: 3 }. */
function parseShutdownCount(text: string, bad: (what: string) => Error): Record<string, number> {
  let items;
  try {
    items = asList(parseErlangTerm(text));
  } catch (e) {
    if (ErlangTermSyntaxError.isInstance(e)) throw bad(`shutdown_count is not an Erlang term (${e.message})`);
    throw e;
  }
  if (!items) throw bad(`shutdown_count ${text.slice(0, 80)} is not a list`);
  const counts: Record<string, number> = {};
  for (const item of items) {
    const pair = asTuple(item, 2);
    const reason = pair && asAtom(pair[0]);
    const n = pair && asInt(pair[1]);
    if (reason === undefined || n === undefined)
      throw bad(`shutdown_count ${text.slice(0, 80)} is not a list of {reason, count}`);
    counts[reason] = (counts[reason] ?? 0) + n;
  }
  return counts;
}
