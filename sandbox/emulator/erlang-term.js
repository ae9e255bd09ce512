// Reading and printing the few Erlang terms an EMQX 4.4 install keeps on disk: `emqx.rel`,
// `relup`, `RELEASES` (docs/emqx-4.4-hot-upgrade.md §3.3, §3.4), and the `~p` forms the CLI prints (quoted strings and
// atoms, lists of strings). Strings become JS strings, atoms `Atom`, tuples `Tuple`, lists arrays.
"use strict";

class Atom {
  constructor(name) {
    this.name = name;
  }
}
class Tuple {
  constructor(items) {
    this.items = items;
  }
}

/** Parses the first term of `text` (Erlang `file:consult` syntax, one term ending with `.`). */
function parseTerm(text) {
  const p = { s: text, i: 0 };
  const term = parseValue(p);
  skipBlank(p);
  if (p.s[p.i] !== ".") throw new Error(`expected '.' at offset ${p.i}`);
  return term;
}

function skipBlank(p) {
  for (;;) {
    while (p.i < p.s.length && /\s/.test(p.s[p.i])) p.i++;
    if (p.s[p.i] !== "%") return;
    while (p.i < p.s.length && p.s[p.i] !== "\n") p.i++;
  }
}

function parseValue(p) {
  skipBlank(p);
  const c = p.s[p.i];
  if (c === "{") return new Tuple(parseSeq(p, "}"));
  if (c === "[") return parseSeq(p, "]");
  if (c === '"') return readQuoted(p, '"');
  if (c === "'") return new Atom(readQuoted(p, "'"));
  if (c === "<" && p.s.startsWith("<<", p.i)) {
    p.i += 2;
    skipBlank(p);
    const s = p.s[p.i] === '"' ? readQuoted(p, '"') : "";
    skipBlank(p);
    if (!p.s.startsWith(">>", p.i)) throw new Error(`unsupported binary at offset ${p.i}`);
    p.i += 2;
    return s;
  }
  const m = /^-?\d+(\.\d+(e-?\d+)?)?/.exec(p.s.slice(p.i, p.i + 40));
  if (m) {
    p.i += m[0].length;
    return Number(m[0]);
  }
  const a = /^[a-z][A-Za-z0-9_@]*/.exec(p.s.slice(p.i, p.i + 256));
  if (a) {
    p.i += a[0].length;
    return new Atom(a[0]);
  }
  throw new Error(`unexpected ${JSON.stringify(c)} at offset ${p.i}`);
}

function parseSeq(p, close) {
  p.i++;
  const items = [];
  skipBlank(p);
  if (p.s[p.i] === close) {
    p.i++;
    return items;
  }
  for (;;) {
    items.push(parseValue(p));
    skipBlank(p);
    const c = p.s[p.i++];
    if (c === close) return items;
    if (c !== ",") throw new Error(`expected ',' or '${close}' at offset ${p.i - 1}`);
  }
}

const ESCAPES = {
  n: "\n",
  t: "\t",
  r: "\r",
  s: " ",
  e: "\x1b",
  "\\": "\\",
  '"': '"',
  "'": "'",
  b: "\b",
  f: "\f",
  v: "\v",
  d: "\x7f",
};

function readQuoted(p, q) {
  p.i++;
  let out = "";
  while (p.i < p.s.length && p.s[p.i] !== q) {
    if (p.s[p.i] === "\\") {
      p.i++;
      const e = p.s[p.i];
      out += ESCAPES[e] !== undefined ? ESCAPES[e] : e;
    } else {
      out += p.s[p.i];
    }
    p.i++;
  }
  if (p.s[p.i] !== q) throw new Error("unterminated quoted text");
  p.i++;
  return out;
}

/** `~p` of a string: "releases/emqx-4.4.16.tar.gz" with the quotes. */
function fmtString(s) {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t")}"`;
}

/** `~p` of an atom: bare when it is a plain lowercase name, else single-quoted ('emqx@127.0.0.1'). */
function fmtAtom(name) {
  return /^[a-z][A-Za-z0-9_]*$/.test(name) ? name : `'${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** `~p` of a list of strings printed at column `col`: one line when it fits in 80 columns, else
 * one element per line aligned after the `[` (io_lib_pretty's layout for lists of strings). */
function fmtStringList(items, col) {
  const flat = `[${items.map(fmtString).join(",")}]`;
  if (col + flat.length <= 80) return flat;
  return `[${items.map(fmtString).join(`,\n${" ".repeat(col + 1)}`)}]`;
}

/** `~p` of a list of atoms (node names) with the same wrapping rule as `fmtStringList`. */
function fmtAtomList(items, col) {
  const flat = `[${items.map(fmtAtom).join(",")}]`;
  if (col + flat.length <= 80) return flat;
  return `[${items.map(fmtAtom).join(`,\n${" ".repeat(col + 1)}`)}]`;
}

const isAtom = (t, name) => t instanceof Atom && (name === undefined || t.name === name);
const isTuple = (t, arity) => t instanceof Tuple && (arity === undefined || t.items.length === arity);

/** Width `~p` fills before it wraps a term. */
const PRETTY_WIDTH = 80;

/** The top-level elements of a tuple's text `{a,"b",{c,d}}` (quotes and nesting respected). */
function tupleElements(text) {
  const inner = text.slice(1, -1);
  const out = [];
  let depth = 0;
  let quote = "";
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      out.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  out.push(inner.slice(start));
  return out;
}

/** `io:format("<prefix>~p", [Term])` for a term already printed on one line: a tuple that does not
 * fit in 80 columns (counting the prefix) is filled element by element, continuation lines
 * indented to just after its `{`, as the real CLI prints release_handler's reasons, e.g.
 * `ERROR: release_handler:install_release failed: {no_matching_relup,"4.4.18",` then 48 spaces and
 * `"4.4.16"}` (docs/emqx-4.4-hot-upgrade.md, corrections: long terms wrap). */
function wrapTerm(prefix, termText) {
  if (prefix.length + termText.length <= PRETTY_WIDTH || !termText.startsWith("{") || !termText.endsWith("}"))
    return prefix + termText;
  const indent = prefix.length + 1;
  const elements = tupleElements(termText);
  let text = `${prefix}{`;
  let col = indent;
  elements.forEach((e, i) => {
    const piece = e + (i === elements.length - 1 ? "}" : ",");
    if (i > 0 && col + piece.length > PRETTY_WIDTH) {
      text += `\n${" ".repeat(indent)}`;
      col = indent;
    }
    text += piece;
    col += piece.length;
  });
  return text;
}

module.exports = { Atom, Tuple, parseTerm, fmtString, fmtAtom, fmtStringList, fmtAtomList, isAtom, isTuple, wrapTerm };
