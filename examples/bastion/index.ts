// One EMQX 4.4 node on a private network, upgraded in place through an SSH bastion: the provider
// logs in to the bastion, asks it for a TCP channel to the node (as `ssh -J` does), and runs the
// whole upgrade over that channel. The bastion needs `AllowTcpForwarding yes` (sshd's default).
//   pulumi config set bastionHost bastion.example.com
//   pulumi config set bastionHostKey "$(ssh-keyscan -t ed25519 bastion.example.com 2>/dev/null | cut -d' ' -f2-)"
//   pulumi config set host 10.0.1.7   # the node's address as the bastion sees it
//   pulumi config set hostKey "$(ssh root@bastion.example.com ssh-keyscan -t ed25519 10.0.1.7 2>/dev/null | cut -d' ' -f2-)"
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519   # from stdin: a key as an argument reads as flags
//   pulumi config set --secret bastionPrivateKey < ~/.ssh/bastion_ed25519   # only if it differs
//   pulumi config set packagePath ./emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip
//   pulumi preview --diff   # the upgrade plan; refuses unsafe changes before any host is touched
//   pulumi up
import * as pulumi from "@pulumi/pulumi";
import { EmqxRelease } from "pulumi-emqx-release";

const config = new pulumi.Config();
const privateKey = config.requireSecret("privateKey");

const broker = new EmqxRelease("broker-1", {
  connection: {
    host: config.require("host"),
    port: config.getNumber("port"),
    user: config.get("user"),
    privateKey,
    hostKey: config.get("hostKey"),
    proxy: {
      host: config.require("bastionHost"),
      port: config.getNumber("bastionPort"),
      user: config.get("bastionUser"),
      privateKey: config.getSecret("bastionPrivateKey") ?? privateKey,
      hostKey: config.get("bastionHostKey"),
    },
  },
  version: config.get("version") ?? "4.4.16",
  packagePath: config.require("packagePath"),
  emqxPath: config.get("emqxPath"),
});

export const currentVersion = broker.currentVersion;
export const installedVersions = broker.installedVersions;
