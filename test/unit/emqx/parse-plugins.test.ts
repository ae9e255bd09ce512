// parsePlugins against `emqx ctl plugins list` of 4.4 (docs/emqx-4.4-observability.md §2.5).
import * as fs from "fs";
import * as path from "path";
import { parsePlugins } from "../../../provider/emqx/parse-plugins";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../../fixtures/emqx", name), "utf8");
const ARGV = ["emqx", "ctl", "plugins", "list"];

test("reads the plugins of a 4.4.16 node, descriptions with slashes and spaces included", () => {
  const plugins = parsePlugins(fixture("4.4.16/plugins-list.txt"), ARGV);
  expect(plugins).toHaveLength(7);
  expect(plugins[0]).toEqual({
    name: "emqx_auth_http",
    description: "EMQX Authentication/ACL with HTTP API",
    active: false,
  });
  expect(plugins.filter((p) => p.active).map((p) => p.name)).toEqual([
    "emqx_auth_jwt",
    "emqx_dashboard",
    "emqx_management",
    "emqx_recon",
    "emqx_retainer",
    "emqx_rule_engine",
  ]);
});

// Row: [case, stdout]
const BAD_ROWS: [string, string][] = [
  ["fails on the CLI's usage text", "plugins list                    # List all plugins\n"],
  ["fails on an active flag that is not a boolean", "Plugin(emqx_recon, description=x, active=maybe)\n"],
  ["fails on a pathological line without hanging", `Plugin(emqx_recon, description=${"(".repeat(100_000)}\n`],
];
test.each(BAD_ROWS)("%s", (_c, stdout) => {
  expect(() => parsePlugins(stdout, ARGV)).toThrow(/is not "Plugin\(<name>, description=<text>, active=<bool>\)"/);
});
