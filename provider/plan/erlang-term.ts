// A strict parser of Erlang term text as EMQX and OTP write it: `relup`, `emqx.rel`, `RELEASES`
// (`file:consult` style, `term.` sentences) and `~p` output of CLI commands. Pure: no I/O, no
// module state (Pulumi serializes this file by value), a scanner of char codes with no regexes.
// Hostile input is bounded: at most MAX_TERM_TEXT_CHARS of text and MAX_TERM_DEPTH of nesting,
// and every loop advances, so any input either parses or throws `ErlangTermSyntaxError` quickly.
// Literals are scanned in erlang-term-scanner.ts; this file builds the tree and reads it back.
//
// Example: `{"4.4.16",[{"4.4.15",[],[point_of_no_return]}],[]}.` parses to
//   { type: "tuple", items: [{ type: "string", value: "4.4.16" }, { type: "list", items: [...] }, ...] }

import {
  describe,
  expect,
  fail,
  isAtomChar,
  isAtomStart,
  isDigit,
  isEndDot,
  MAX_TERM_DEPTH,
  openScanner,
  parseAdjacentStrings,
  parseChar,
  parseNumber,
  parseQuoted,
  Scanner,
  skipSpace,
} from "./erlang-term-scanner";

/** A parsed term. Strings are `"..."` literals (Erlang's char lists); `[]` stays an empty list. */
export type ErlangTerm =
  | { type: "tuple"; items: ErlangTerm[] }
  | { type: "list"; items: ErlangTerm[] }
  | { type: "string"; value: string }
  | { type: "atom"; value: string }
  | { type: "int"; value: number; text: string }
  | { type: "float"; value: number }
  | { type: "binary"; value: string }
  | { type: "map"; entries: Array<{ key: ErlangTerm; value: ErlangTerm }> }
  /** `~p` renderings that are not readable terms: `<0.95.0>`, `#Ref<0.1.2.3>`, `#Port<0.6>`, `#Fun<m.1.2>`. */
  | { type: "opaque"; text: string };

export { ErlangTermSyntaxError, MAX_TERM_DEPTH, MAX_TERM_TEXT_CHARS } from "./erlang-term-scanner";

// Parses text holding one term, optionally ended by `.`: `{a,"b"}` or `{a,"b"}.`.
export function parseErlangTerm(text: string): ErlangTerm {
  const s = openScanner(text);
  const term = parseValue(s);
  skipSpace(s);
  if (isEndDot(s)) {
    s.pos++;
    skipSpace(s);
  }
  if (s.pos < s.text.length) fail(s, "unexpected text after the term");
  return term;
}

// Parses text holding `term.` sentences (a RELEASES file, a consulted config); [] for no sentences.
export function parseErlangTerms(text: string): ErlangTerm[] {
  const s = openScanner(text);
  const terms: ErlangTerm[] = [];
  skipSpace(s);
  while (s.pos < s.text.length) {
    terms.push(parseValue(s));
    skipSpace(s);
    if (!isEndDot(s)) fail(s, "expected `.` followed by whitespace to end the term");
    s.pos++;
    skipSpace(s);
  }
  return terms;
}

function parseValue(s: Scanner): ErlangTerm {
  skipSpace(s);
  const t = s.text;
  const c = t.charCodeAt(s.pos);
  if (s.pos >= t.length) fail(s, "expected a term, found end of input");
  if (c === 123 /* { */) return { type: "tuple", items: parseSeq(s, "{", "}") };
  if (c === 91 /* [ */) return { type: "list", items: parseSeq(s, "[", "]") };
  if (c === 34 /* " */) return { type: "string", value: parseAdjacentStrings(s) };
  if (c === 39 /* ' */) return { type: "atom", value: parseQuoted(s, "'") };
  if (c === 36 /* $ */) return parseChar(s);
  if (c === 60 /* < */) return t.charCodeAt(s.pos + 1) === 60 ? parseBinary(s) : parseOpaque(s, s.pos);
  if (c === 35 /* # */) return t.charCodeAt(s.pos + 1) === 123 ? parseMap(s) : parseOpaque(s, s.pos);
  if (isDigit(c) || ((c === 45 || c === 43) && isDigit(t.charCodeAt(s.pos + 1)))) return parseNumber(s);
  if (isAtomStart(c)) {
    const start = s.pos;
    while (s.pos < t.length && isAtomChar(t.charCodeAt(s.pos))) s.pos++;
    return { type: "atom", value: t.slice(start, s.pos) };
  }
  if ((c >= 65 && c <= 90) || c === 95) fail(s, "variables are not allowed in a term (quote the atom: 'Name')");
  return fail(s, `expected a term, found ${describe(s)}`);
}

/** `{a, b}` / `[a, b]`: comma-separated terms between `open` and `close`; no improper tails. */
function parseSeq(s: Scanner, open: string, close: string): ErlangTerm[] {
  enter(s);
  s.pos++; // past `open`
  const items: ErlangTerm[] = [];
  skipSpace(s);
  if (s.text[s.pos] === close) {
    s.pos++;
    s.depth--;
    return items;
  }
  for (;;) {
    items.push(parseValue(s));
    skipSpace(s);
    const ch = s.text[s.pos];
    if (ch === ",") s.pos++;
    else if (ch === close) break;
    else if (ch === "|" && open === "[") fail(s, "improper lists ([H|T]) are not supported");
    else
      fail(
        s,
        `expected "," or ${JSON.stringify(close)} after element ${items.length} of ${open}…${close}, found ${describe(s)}`,
      );
  }
  s.pos++;
  s.depth--;
  return items;
}

function enter(s: Scanner): void {
  if (++s.depth > MAX_TERM_DEPTH) fail(s, `nesting deeper than ${MAX_TERM_DEPTH} levels`);
}

/** `#{k => v, ...}` */
function parseMap(s: Scanner): ErlangTerm {
  enter(s);
  s.pos += 2;
  const entries: Array<{ key: ErlangTerm; value: ErlangTerm }> = [];
  skipSpace(s);
  if (s.text[s.pos] !== "}") {
    for (;;) {
      const key = parseValue(s);
      skipSpace(s);
      if (!s.text.startsWith("=>", s.pos)) fail(s, `expected "=>" after a map key, found ${describe(s)}`);
      s.pos += 2;
      entries.push({ key, value: parseValue(s) });
      skipSpace(s);
      if (s.text[s.pos] !== ",") break;
      s.pos++;
    }
  }
  expect(s, "}");
  s.depth--;
  return { type: "map", entries };
}

/** `<<"text">>`, `<<"text"/utf8>>`, `<<1,2,3>>`, `<<>>`; integer segments become char codes. */
function parseBinary(s: Scanner): ErlangTerm {
  enter(s);
  s.pos += 2;
  let value = "";
  skipSpace(s);
  while (!s.text.startsWith(">>", s.pos)) {
    const seg = parseValue(s);
    if (seg.type === "string") value += seg.value;
    else if (seg.type === "int" && seg.value >= 0 && seg.value <= 255) value += String.fromCharCode(seg.value);
    else fail(s, "a binary segment must be a string or an integer 0..255");
    skipSpace(s);
    if (s.text.startsWith("/utf8", s.pos)) s.pos += 5;
    skipSpace(s);
    if (s.text[s.pos] === ",") s.pos++;
    else if (!s.text.startsWith(">>", s.pos)) fail(s, `expected "," or ">>" in a binary, found ${describe(s)}`);
  }
  s.pos += 2;
  s.depth--;
  return { type: "binary", value };
}

/** `<0.95.0>`, `#Ref<0.1.2.3>`, `#Port<0.6>`, `#Fun<erl_eval.6.1234>`: kept as text. */
function parseOpaque(s: Scanner, start: number): ErlangTerm {
  const t = s.text;
  if (t[s.pos] === "#") {
    s.pos++;
    while (isAtomChar(t.charCodeAt(s.pos))) s.pos++;
  }
  if (t[s.pos] !== "<") fail(s, `expected a term, found ${JSON.stringify(t.slice(start, s.pos + 1))}`, start);
  s.pos++;
  while (s.pos < t.length && s.pos - start < 200 && (isAtomChar(t.charCodeAt(s.pos)) || t[s.pos] === ".")) s.pos++;
  if (t[s.pos] !== ">") fail(s, "malformed pid, reference, port or fun", start);
  s.pos++;
  return { type: "opaque", text: t.slice(start, s.pos) };
}

// The text of a string term: a `"..."` literal, or a list of character codes (`[]` is "").
export function asString(t: ErlangTerm | undefined): string | undefined {
  if (t?.type === "string") return t.value;
  if (t?.type !== "list") return undefined;
  let out = "";
  for (const item of t.items) {
    if (item.type !== "int" || item.value < 0 || item.value > 0x10ffff) return undefined;
    out += String.fromCodePoint(item.value);
  }
  return out;
}

// The name of an atom term (`emqx`, `'emqx@10.0.0.1'`), else undefined.
export function asAtom(t: ErlangTerm | undefined): string | undefined {
  return t?.type === "atom" ? t.value : undefined;
}

// The value of an integer term, else undefined.
export function asInt(t: ErlangTerm | undefined): number | undefined {
  return t?.type === "int" ? t.value : undefined;
}

// The elements of a list term; a `"..."` literal is a list of character codes, as in Erlang.
export function asList(t: ErlangTerm | undefined): ErlangTerm[] | undefined {
  if (t?.type === "list") return t.items;
  if (t?.type !== "string") return undefined;
  return Array.from(t.value, (ch) => ({ type: "int", value: ch.codePointAt(0) ?? 0, text: `$${ch}` }) as ErlangTerm);
}

// The elements of a tuple term (of exactly `arity` elements when given), else undefined.
export function asTuple(t: ErlangTerm | undefined, arity?: number): ErlangTerm[] | undefined {
  if (t?.type !== "tuple" || (arity !== undefined && t.items.length !== arity)) return undefined;
  return t.items;
}

// The first element of a tuple when it is an atom: `{release, ...}` -> "release".
export function tupleTag(t: ErlangTerm | undefined): string | undefined {
  return t?.type === "tuple" ? asAtom(t.items[0]) : undefined;
}

// The value under atom key `key` in a map term, else undefined.
export function mapGet(t: ErlangTerm | undefined, key: string): ErlangTerm | undefined {
  if (t?.type !== "map") return undefined;
  return t.entries.find((e) => e.key.type === "atom" && e.key.value === key)?.value;
}

// Erlang text of a term, compact (`{"4.4.16",[a,'b@c']}`), for messages and excerpts.
export function formatErlangTerm(t: ErlangTerm): string {
  switch (t.type) {
    case "tuple":
      return `{${t.items.map(formatErlangTerm).join(",")}}`;
    case "list":
      return `[${t.items.map(formatErlangTerm).join(",")}]`;
    case "string":
      return quote(t.value, '"');
    case "atom":
      return isBareAtom(t.value) ? t.value : quote(t.value, "'");
    case "int":
      return String(t.value);
    case "float":
      return Number.isInteger(t.value) ? t.value.toFixed(1) : String(t.value);
    case "binary":
      return `<<${quote(t.value, '"')}>>`;
    case "map":
      return `#{${t.entries.map((e) => `${formatErlangTerm(e.key)} => ${formatErlangTerm(e.value)}`).join(",")}}`;
    case "opaque":
      return t.text;
  }
}

function isBareAtom(name: string): boolean {
  if (name === "" || !isAtomStart(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) if (!isAtomChar(name.charCodeAt(i))) return false;
  return true;
}

function quote(text: string, q: string): string {
  let out = q;
  for (const ch of text) {
    if (ch === q || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch < " " || ch === "\u007f") out += `\\x{${ch.charCodeAt(0).toString(16)}}`;
    else out += ch;
  }
  return out + q;
}
