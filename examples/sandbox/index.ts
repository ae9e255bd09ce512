// The demo's program: every node listed in config `hosts` upgraded to `version`, one at a time
// (each node depends on the previous one, so a failure leaves later nodes untouched). Optional
// config `permanent`, `allowDowngrade`, `uninstallPrevious` ("true"/"false") pass through to each
// EmqxRelease (the real-OTP e2e test drives a trial, a downgrade and an uninstall with them).
import * as pulumi from "@pulumi/pulumi";
import { EmqxRelease } from "pulumi-emqx-release";

interface SandboxHost {
  name: string;
  host: string;
  port: number;
  hostKey: string;
  emqxPath: string;
}

const config = new pulumi.Config();
const hosts = config.requireObject<SandboxHost[]>("hosts");
const privateKey = config.requireSecret("privateKey");

let previous: EmqxRelease | undefined;
const releases = hosts.map((h) => {
  previous = new EmqxRelease(
    h.name,
    {
      connection: { host: h.host, port: h.port, user: "root", privateKey, hostKey: h.hostKey },
      version: config.require("version"),
      packagePath: config.require("packagePath"),
      emqxPath: h.emqxPath,
      permanent: config.getBoolean("permanent"),
      allowDowngrade: config.getBoolean("allowDowngrade"),
      uninstallPrevious: config.getBoolean("uninstallPrevious"),
    },
    { dependsOn: previous ? [previous] : [] },
  );
  return previous;
});

export const versions = pulumi.all(releases.map((r) => r.currentVersion));
export const permanentVersions = pulumi.all(releases.map((r) => r.permanentVersion));
