// parseRelup: the keys of a relup term (the versions it upgrades from and downgrades to).
import { parseRelup } from "../../../provider/plan/relup";
import { relupFileText } from "../../../sandbox/package-zip";

test("reads the up and down keys of a relup as EMQX's build writes it", () => {
  const text = relupFileText({
    version: "4.4.16",
    relupFrom: ["4.4.15", "4.4.14"],
    relupDownTo: ["4.4.15", "4.4.1"],
  }) as string;
  expect(parseRelup(text)).toEqual({ version: "4.4.16", upFrom: ["4.4.15", "4.4.14"], downTo: ["4.4.15", "4.4.1"] });
});

// Row: [case, relup text, expected keys or an error fragment]
const ROWS: [string, string, object | string][] = [
  ["empty up and down lists", '{"4.4.0",[],[]}.', { version: "4.4.0", upFrom: [], downTo: [] }],
  [
    "comments and odd spacing",
    '%% relup\n{ "4.4.2" ,\n [ {"4.4.1", [], [point_of_no_return]} ] , [] } .\n',
    { version: "4.4.2", upFrom: ["4.4.1"], downTo: [] },
  ],
  ["fails for a term that is not a 3-tuple", '{"4.4.2",[]}.', 'is not a {"<version>", UpList, DownList} tuple'],
  ["fails when the version is not a string", "{v442,[],[]}.", 'is not a {"<version>", UpList, DownList} tuple'],
  ["fails when the up list is a tuple", '{"4.4.2",{},[]}.', "relup up list is a tuple, not a list"],
  [
    "fails for a down entry without instructions",
    '{"4.4.2",[],[{"4.4.1",[]}]}.',
    'relup down entry is not {"<version>", Descr, Instructions}',
  ],
  ["fails for an entry keyed by an atom", '{"4.4.2",[{v441,[],[]}],[]}.', "relup up entry is not"],
  ["fails for truncated text", '{"4.4.2",[{"4.4.1",[],[', ""],
];
test.each(ROWS)("%s", (_name, text, expected) => {
  if (typeof expected === "string") expect(() => parseRelup(text)).toThrow(expected);
  else expect(parseRelup(text)).toEqual(expected);
});
