/**
 * Property-test support (fast-check): arguments that are valid except for a few fields replaced by
 * values of any type, and the check every component must pass with them: construction either
 * succeeds or throws an InvalidInputError naming one of the replaced fields. No TypeError,
 * RangeError or other crash may escape.
 *
 *   fc.assert(fc.property(mutatedArgs(validArgs, otherValues), ({ args, mutated }) =>
 *     expectOnlyInvalidInput(() => new RegistryCertificates("c", args), mutated)), FUZZ_PARAMS);
 */
import fc from "fast-check";
import { InvalidInputError } from "../../src/common/errors";

/** Seeded, so a failure reproduces; at least 1000 constructions per property. */
export const FUZZ_PARAMS = { seed: 20261127, numRuns: 1000 } as const;

/** Values of every JavaScript type a caller (or `config.get`) might pass by mistake. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    true,
    false,
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    "",
    " ",
    "false",
    "true",
    "0",
    "no",
    "\n",
    "a: b",
    "#x",
    "- a",
    "*ref",
    "x #y",
    "../../etc",
    "/",
    "A",
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
  fc.constant(() => 1),
  fc.constant(Symbol("s")),
);

/**
 * `valid` with 1 to `maxMutations` of its fields replaced by `anyValue` (or by values from
 * `extra[field]`, when given, to reach the checks behind the type check), plus sometimes an
 * unknown key. `mutated` lists the field paths changed.
 */
export function mutatedArgs<T extends Record<string, unknown>>(
  valid: T,
  extra: Partial<Record<keyof T & string, fc.Arbitrary<unknown>>> = {},
  maxMutations = 3,
): fc.Arbitrary<{ args: Record<string, unknown>; mutated: string[] }> {
  const keys = Object.keys(valid);
  return fc
    .record({
      fields: fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: maxMutations }),
      values: fc.array(anyValue, { minLength: maxMutations, maxLength: maxMutations }),
      pick: fc.array(fc.boolean(), { minLength: maxMutations, maxLength: maxMutations }),
      extras: fc.record(
        Object.fromEntries(
          keys.map((k) => [k, (extra as Record<string, fc.Arbitrary<unknown>>)[k] ?? anyValue]),
        ),
      ),
      unknownKey: fc.option(fc.constantFrom("hostnames", "validity", "tls_", "Port", "extra"), {
        nil: undefined,
      }),
    })
    .map(({ fields, values, pick, extras, unknownKey }) => {
      const args: Record<string, unknown> = { ...valid };
      fields.forEach((field, i) => {
        args[field] = pick[i] ? (extras as Record<string, unknown>)[field] : values[i];
      });
      const mutated = [...fields];
      if (unknownKey !== undefined && !(unknownKey in args)) {
        args[unknownKey] = "x";
        mutated.push(unknownKey);
      }
      return { args, mutated };
    });
}

/**
 * Runs `construct`; passes when it succeeds or throws an InvalidInputError whose `field` is (or is
 * inside, or contains) one of `mutated`, or whose message names one of them (a check across two
 * fields). Any other error fails the property with the error itself.
 */
export function expectOnlyInvalidInput(construct: () => unknown, mutated: readonly string[]): void {
  try {
    construct();
  } catch (error) {
    if (!(error instanceof InvalidInputError)) {
      throw new Error(
        `expected success or InvalidInputError, got ${(error as Error)?.name}: ${(error as Error)?.message}`,
      );
    }
    const root = (path: string) => path.split(/[.[]/)[0];
    const names = mutated.map(root);
    // A check across two fields (e.g. the CA must outlive the certificate) names one of them as
    // its field and both in its message.
    const namedInMessage = names.some((name) =>
      new RegExp(`(^|[^A-Za-z0-9_])${name.replace(/[$]/g, "\\$")}([^A-Za-z0-9_]|$)`).test(
        error.message.slice(error.component.length),
      ),
    );
    if (!names.includes(root(error.field)) && !namedInMessage) {
      throw new Error(
        `InvalidInputError names field "${error.field}", but the mutated fields were ${mutated.join(", ")}: ${error.message}`,
      );
    }
    if (!error.message.includes(error.field.split(/[.[]/).pop()!.replace(/\]$/, ""))) {
      throw new Error(
        `InvalidInputError message does not name its field "${error.field}": ${error.message}`,
      );
    }
  }
}

/**
 * Waits until components built by a property run are registered with their outputs, so no
 * registration of theirs reaches the mocks of a later test (which would not know them).
 */
export async function settleComponents(components: readonly object[]): Promise<void> {
  const pulumi = await import("@pulumi/pulumi");
  const pending: Promise<unknown>[] = [];
  for (const component of components) {
    for (const value of Object.values(component)) {
      if (pulumi.Output.isInstance(value)) {
        pending.push(
          new Promise((resolve) => {
            (value as import("@pulumi/pulumi").Output<unknown>).apply((v) => {
              resolve(v);
              return v;
            });
          }),
        );
      }
    }
  }
  await Promise.allSettled(pending);
  // registerOutputs runs once the outputs resolved: give it a turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Mocks that answer every resource with its inputs: a property run builds hundreds of
 * components, and only their construction (argument checks) is under test, not the outputs
 * that real-looking mocks (keys, certificates, bcrypt) would compute at length.
 */
export async function installLightMocks(): Promise<void> {
  const pulumi = await import("@pulumi/pulumi");
  pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        // The few computed outputs components read at once: a password and random bytes.
        state: { ...args.inputs, result: "generated-password-0123456789", hex: "ab".repeat(32) },
      }),
      call: () => ({}),
    },
    "project",
    "stack",
    false,
  );
}
