// Values Pulumi does not know yet during preview: the provider skips the rules that need them.

/** The sentinel Pulumi passes for values not known during preview (pulumi.runtime.unknownValue). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when a value (or anything inside it) is unknown during preview. */
export function isUnknown(v: unknown): boolean {
  if (v === UNKNOWN_VALUE) return true;
  if (Array.isArray(v)) return v.some(isUnknown);
  if (v && typeof v === "object") return Object.values(v as Record<string, unknown>).some(isUnknown);
  return false;
}
