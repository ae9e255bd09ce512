// One EMQX 4.4 node, upgraded in place to the version declared here.
//   pulumi config set host 10.0.0.7
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519   # from stdin: a key as an argument reads as flags
//   pulumi config set hostKey "$(ssh-keyscan -t ed25519 10.0.0.7 2>/dev/null | cut -d' ' -f2-)"
//   pulumi preview --diff   # the upgrade plan; refuses unsafe changes before any host is touched
//   pulumi up
import * as pulumi from "@pulumi/pulumi";
import { EmqxRelease } from "pulumi-emqx-release";

const config = new pulumi.Config();

const broker = new EmqxRelease("broker-1", {
  connection: {
    host: config.require("host"),
    port: config.getNumber("port"),
    user: config.get("user"),
    privateKey: config.requireSecret("privateKey"),
    hostKey: config.get("hostKey"),
  },
  version: config.get("version") ?? "4.4.16",
  packagePath: config.require("packagePath"),
  emqxPath: config.get("emqxPath"),
});

export const currentVersion = broker.currentVersion;
export const installedVersions = broker.installedVersions;
