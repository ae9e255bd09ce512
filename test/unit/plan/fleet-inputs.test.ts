import { checkFleetHosts, duplicateEndpoints, groupRefusals } from "../../../provider/plan/fleet-inputs";

const conn = { host: "10.0.0.7" };

// Row: [case, hosts, expected properties refused]
const ROWS: [string, unknown, string[]][] = [
  [
    "valid hosts",
    [
      { name: "a", connection: conn },
      { name: "b-1.x_y", connection: conn, cluster: "c1" },
    ],
    [],
  ],
  ["fails for no hosts", [], ["hosts"]],
  ["fails for hosts that is not a list", { a: 1 }, ["hosts"]],
  [
    "fails for a duplicate name",
    [
      { name: "a", connection: conn },
      { name: "a", connection: conn },
    ],
    ["hosts[1].name"],
  ],
  ["fails for a name with a space", [{ name: "a b", connection: conn }], ["hosts[0].name"]],
  ["fails for a name with a URN separator", [{ name: "a::b", connection: conn }], ["hosts[0].name"]],
  ["fails for a name starting with a hyphen", [{ name: "-a", connection: conn }], ["hosts[0].name"]],
  ["fails for a 64-character name", [{ name: "a".repeat(64), connection: conn }], ["hosts[0].name"]],
  ["fails for a missing name", [{ connection: conn }], ["hosts[0].name"]],
  [
    "fails for a cluster with shell characters",
    [{ name: "a", connection: conn, cluster: "c;rm" }],
    ["hosts[0].cluster"],
  ],
  ["fails for a missing connection", [{ name: "a" }], ["hosts[0].connection"]],
];

test.each(ROWS)("checkFleetHosts: %s", (_name, hosts, properties) => {
  expect(checkFleetHosts(hosts).map((r) => r.property)).toEqual(properties);
});

test("duplicateEndpoints: fails for two hosts at one host:port (22 by default), naming both", () => {
  const r = duplicateEndpoints([
    { name: "a", host: "10.0.0.7" },
    { name: "b", host: "10.0.0.7", port: 22 },
    { name: "c", host: "10.0.0.7", port: 2222 },
  ]);
  expect(r).toEqual([{ property: "hosts", reason: "a, b all point at 10.0.0.7:22: each node must be listed once" }]);
});

test("groupRefusals: one line per distinct refusal, naming all, some or one host", () => {
  const lines = groupRefusals([
    {
      name: "a",
      refusals: [
        { property: "version", reason: "bad" },
        { property: "connection.host", reason: "x" },
      ],
    },
    {
      name: "b",
      refusals: [
        { property: "version", reason: "bad" },
        { property: "connection.host", reason: "x" },
      ],
    },
    {
      name: "c",
      refusals: [
        { property: "version", reason: "bad" },
        { property: "emqxPath", reason: "y" },
      ],
    },
  ]);
  expect(lines).toEqual(["version (all 3 hosts): bad", "connection.host (2 hosts: a, b): x", "emqxPath (host c): y"]);
});
