// Output and the two ways an emulated command ends early: `Halt` (erlang:halt(N) / `exit N` in
// bin/emqx) and `Crash` (an uncaught exception in install_upgrade.escript: exit 127 with
// `escript: exception error: ...` on stderr, OTP 24 behaviour, docs/emqx-4.4-hot-upgrade.md §2.2).
"use strict";

const { posixReason } = require("./state");

class Halt extends Error {
  constructor(code) {
    super(`halt(${code})`);
    this.code = code;
  }
}

class Crash extends Error {
  constructor(reason, where = "main/1") {
    super(reason);
    this.reason = reason;
    this.where = where;
  }
}

/** One line on stdout (`io:format(... ~n)` / `echo`). */
const out = (line) => void process.stdout.write(`${line}\n`);
/** One line on stderr. */
const err = (line) => void process.stderr.write(`${line}\n`);

/** Runs a file operation of the escript that is pattern-matched against `ok`/`{ok,_}`: any
 * failure becomes `no match of right hand side value {error,<posix>}` (exit 127). */
function mustOk(fn, where) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Halt || e instanceof Crash) throw e;
    throw new Crash(`no match of right hand side value {error,${posixReason(e)}}`, where);
  }
}

/** Prints the crash report of an uncaught escript exception (first line + one stack line). */
function printCrash(c) {
  err(`escript: exception error: ${c.reason}`);
  err(`  in function  install_upgrade__escript__emulated:${c.where}`);
}

/** Numeric compare of two dotted versions ("4.4.16" vs "4.4.4"); non-numeric tails are ignored. */
function compareVsn(a, b) {
  const pa = String(a)
    .split(/[.-]/)
    .map((x) => parseInt(x, 10));
  const pb = String(b)
    .split(/[.-]/)
    .map((x) => parseInt(x, 10));
  for (let i = 0; i < 3; i++) {
    const x = Number.isNaN(pa[i]) || pa[i] === undefined ? 0 : pa[i];
    const y = Number.isNaN(pb[i]) || pb[i] === undefined ? 0 : pb[i];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
/** True when scripts of version `v` are at least `min` ("4.4.4"). */
const atLeast = (v, min) => compareVsn(v, min) >= 0;

module.exports = { Halt, Crash, out, err, mustOk, printCrash, atLeast };
