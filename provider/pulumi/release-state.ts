// The EmqxRelease provider's inputs and state, typed, and the one place where the engine's untyped
// property bags become them. The engine hands a dynamic provider plain objects (`news`, `olds`,
// `props`); create/update/read/delete read them only through `releaseProps` (the inputs checked
// again: a value unknown at preview is only known now) and diff through `recordedState`.
import { InvalidInputError } from "../errors";
import type { NodeState } from "../emqx/apply-release";
import type { CheckedPackage } from "../package/package-check";
import { checkReleaseInputs } from "../plan/check-inputs";
import type { HostFacts } from "../plan/host-facts";
import type { ReleaseInputs } from "../plan/inputs";
import type { ReleaseResult } from "../plan/release-result";

/** A property bag as the engine passes it to a dynamic provider: inputs or state, untyped. */
export type PropertyBag = Record<string, unknown>;

/** The inputs as check returns them and create/update receive them: the user's inputs plus what
 * the resource and check add. */
export interface ReleaseProviderInputs extends ReleaseInputs {
  /** EmqxFleet: record a failure in `lastResult` instead of failing the resource. */
  __recordFailure?: boolean;
  /** The package as check read it; not kept in state. */
  __package?: CheckedPackage;
}

/** What create/update record about the node, beside the inputs they echo. */
export interface ReleaseOutputs extends Omit<NodeState, "hostFacts"> {
  /** The node's facts; `{}` in a failure recorded (inside a fleet) before the node was ever read. */
  hostFacts: HostFacts | Record<string, never>;
  /** What the node ran before the last change ("" when unknown). */
  previousVersion: string;
  /** sha256 of the package that was installed. */
  packageSha256: string;
  /** The node's host key as seen on the last contact: pinned when no hostKey/knownHosts is given. */
  hostKeyFingerprint: string;
  /** The action of the last successful create/update. */
  lastAction: string;
  /** What the last create/update did. */
  lastResult: ReleaseResult;
}

/** The resource's state as create/update write it: the inputs echoed, and the outputs. Other keys
 * the engine echoes are kept as they are. */
export type ReleaseState = ReleaseProviderInputs & ReleaseOutputs & PropertyBag;

/** A bag create/update/read/delete receive: valid inputs, and whatever outputs an earlier
 * operation recorded (none before the first create). */
export type ReleaseProps = ReleaseProviderInputs & Partial<ReleaseOutputs> & PropertyBag;

/** State (`olds`) or checked inputs (`news`) as diff reads them: never validated (diff runs on
 * refresh and must not throw there), so every field may be missing, and at preview any input may
 * be unknown. */
export type RecordedState = Partial<ReleaseProviderInputs> & Partial<ReleaseOutputs> & PropertyBag;

/** The bag as ReleaseProps; fails with the first input rule it breaks (the same rules check
 * reports), as an InvalidInputError naming the property and what to do. */
export function releaseProps(bag: PropertyBag): ReleaseProps {
  const failures = checkReleaseInputs(bag);
  if (failures.length) throw new InvalidInputError(failures[0]);
  return bag as ReleaseProps;
}

/** A bag as diff reads it (not validated, see RecordedState). */
export function recordedState(bag: PropertyBag): RecordedState {
  return bag as RecordedState;
}
