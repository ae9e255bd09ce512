// The one place a plan's refusals become an error. planRelease (plan/upgrade-plan.ts) answers with
// an action or with refusals; both times the provider asks it (at plan time from the facts in
// state, in create/update from the node itself) refusals end the operation as one
// UnsupportedUpgradeError naming the host, the first refusal's property and every reason.
import { UnsupportedUpgradeError } from "../errors";
import type { HostFacts } from "../plan/host-facts";
import { parsePackageName } from "../plan/package-name";
import { InstalledRelease, PackageProperty, PlanAction, PlanInput, planRelease } from "../plan/upgrade-plan";

/** The action planRelease decides for `input` on `host`, or its refusals thrown as one
 * UnsupportedUpgradeError whose reason ends with `after` (e.g. "; nothing was changed"). */
export function decideOrRefuse(input: PlanInput, host: string, after = ""): PlanAction {
  const decided = planRelease(input, host);
  if ("refusals" in decided) {
    throw new UnsupportedUpgradeError({
      from: input.running,
      to: input.target,
      host,
      property: decided.refusals[0].property,
      reason: decided.refusals.map((r) => r.reason).join("; ") + after,
    });
  }
  return decided.action;
}

/** What the last create/update/refresh recorded about the node, as `diff` reads it from state. */
export interface RecordedNode {
  host: string;
  currentVersion: string;
  installedVersions: InstalledRelease[];
  hostFacts: HostFacts;
}

/** The declaration `diff` judges against the recorded node. */
export interface DeclaredRelease {
  version: string;
  permanent: boolean;
  allowDowngrade: boolean;
  edition?: "ce" | "ee";
}

/** Plan-time refusals (`pulumi preview`) from the facts the last create/update/refresh recorded:
 * throws what create would refuse on the node; a package name that does not parse is left to
 * check, which reports it. */
export function refuseFromState(
  node: RecordedNode,
  declared: DeclaredRelease,
  pkg: { fileName: string; relupUpFrom: string[] | null; property?: PackageProperty },
): void {
  const name = parsePackageName(pkg.fileName);
  if (typeof name === "string") return;
  decideOrRefuse(
    {
      target: declared.version,
      permanent: declared.permanent,
      allowDowngrade: declared.allowDowngrade,
      running: node.currentVersion,
      installed: node.installedVersions,
      facts: node.hostFacts,
      pkg: { name, relupUpFrom: pkg.relupUpFrom, property: pkg.property },
      edition: declared.edition,
    },
    node.host,
  );
}
