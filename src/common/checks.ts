/**
 * Argument checks every component shares. JavaScript callers and `config.get` strings reach the
 * components with values of any type, so each option is checked for its type and shape before it
 * is used; every failure is an {@link InvalidInputError} naming the component, the field path, the
 * problem and the fix.
 *
 * Values known at construction are checked at once, before any resource is declared. Outputs and
 * Promises are checked once known (`whenKnown`): the failure then reaches the resource that
 * consumes the value. Messages describe a value only through `describeValue`, which never quotes
 * secrets, long text or objects.
 */
import * as pulumi from "@pulumi/pulumi";
import { InvalidInputError } from "./errors";

/** `SecureRegistry "reg"`: how messages name the component instance. */
export function componentLabel(kind: string, name: string): string {
  return `${kind} "${name}"`;
}

/** Throws an InvalidInputError for `field`; `message` is the sentence after the label. */
export function fail(label: string, field: string, message: string): never {
  throw new InvalidInputError(label, field, message);
}

/** True for an Output or a Promise: a value that is not known at construction. */
export function isDeferred(value: unknown): boolean {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/**
 * Runs `check` now when `value` is plain; otherwise inside an apply once the value is known,
 * returning the checked Output so the failure reaches the resource that consumes it.
 */
export function whenKnown<T>(
  value: pulumi.Input<T>,
  check: (v: T) => void,
): pulumi.Input<T> | pulumi.Output<T> {
  if (isDeferred(value)) {
    return pulumi.output(value).apply((v) => {
      check(v as T);
      return v;
    }) as pulumi.Output<T>;
  }
  check(value as T);
  return value;
}

/**
 * A short, safe description of a value for messages: short strings and numbers are quoted,
 * anything else is named by its kind. `secret` values are never shown.
 */
export function describeValue(value: unknown, secret = false): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "a list";
  if (pulumi.Output.isInstance(value)) return "an Output";
  if (secret) return `a ${typeof value} (not shown)`;
  if (typeof value === "string") {
    return value.length <= 80 && !/[\p{Cc}]/u.test(value)
      ? JSON.stringify(value)
      : `a string of ${value.length} characters`;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !isDeferred(value) &&
    !pulumi.Resource.isInstance(value)
  );
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** The allowed key a mistyped `key` most likely meant, if any is close. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allowed) {
    const c = candidate.toLowerCase();
    const distance = c.includes(lower) || lower.includes(c) ? 1 : editDistance(lower, c);
    if (distance <= Math.max(2, Math.floor(c.length / 3)) && (!best || distance < best.distance)) {
      best = { key: candidate, distance };
    }
  }
  return best?.key;
}

function join(field: string, key: string): string {
  return field === "" ? key : `${field}.${key}`;
}

/**
 * An options object: `undefined` passes (the caller applies defaults); anything but a plain
 * object, or an object with keys that are not options, fails. `field` is "" for the top-level args.
 */
export function checkObject(
  label: string,
  field: string,
  value: unknown,
  allowed: readonly string[],
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const name = field === "" ? "args" : field;
  if (!isPlainObject(value)) {
    fail(
      label,
      name,
      `${name} is ${describeValue(value)}, not an object; pass { ${allowed.slice(0, 4).join(", ")}${allowed.length > 4 ? ", ..." : ""} }` +
        (field === "" ? " or leave it out for the defaults." : " or leave it out."),
    );
  }
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const guess = closestKey(key, allowed);
    fail(
      label,
      join(field, key),
      `${join(field, key)} is not an option of ${label.split(" ")[0]}` +
        (guess
          ? `; did you mean ${join(field, guess)}?`
          : `; the options are ${allowed.join(", ")}.`),
    );
  }
  return value;
}

/** `true` or `false` (or an Output of one, checked when known); undefined passes. */
export function checkBoolean(
  label: string,
  field: string,
  value: unknown,
): pulumi.Input<boolean> | undefined {
  if (value === undefined) return undefined;
  return whenKnown(value as pulumi.Input<boolean>, (v) => {
    if (typeof v !== "boolean") {
      fail(
        label,
        field,
        `${field} is ${describeValue(v)}, not a boolean; use true or false` +
          (typeof v === "string" ? " (without quotes)." : "."),
      );
    }
  });
}

export interface StringRules {
  /** Empty (or blank) text is refused. Default true. */
  readonly nonEmpty?: boolean;
  /** Line breaks and NUL are refused. Default true. */
  readonly singleLine?: boolean;
  /** Never shown in messages. Default false. */
  readonly secret?: boolean;
  /** An example value for the fix. */
  readonly example?: string;
}

/** Checks a known string against `rules`; throws naming `field`. */
export function checkStringValue(
  label: string,
  field: string,
  value: unknown,
  rules: StringRules = {},
): asserts value is string {
  const example = rules.example ? `, e.g. ${JSON.stringify(rules.example)}` : "";
  if (typeof value !== "string") {
    fail(
      label,
      field,
      `${field} is ${describeValue(value, rules.secret)}, not a string; give text${example}.`,
    );
  }
  if ((rules.nonEmpty ?? true) && value.trim() === "") {
    fail(label, field, `${field} is empty; give a value${example}.`);
  }
  if ((rules.singleLine ?? true) && /[\r\n\0]/.test(value)) {
    fail(label, field, `${field} contains a line break or NUL character; remove it.`);
  }
}

/** A string (or an Output of one, checked when known); undefined passes. */
export function checkString(
  label: string,
  field: string,
  value: unknown,
  rules: StringRules = {},
): pulumi.Input<string> | undefined {
  if (value === undefined) return undefined;
  return whenKnown(value as pulumi.Input<string>, (v) => checkStringValue(label, field, v, rules));
}

/** An integer in [min, max] (or an Output of one); undefined passes. */
export function checkInteger(
  label: string,
  field: string,
  value: unknown,
  range: { min: number; max: number; example?: number },
): pulumi.Input<number> | undefined {
  if (value === undefined) return undefined;
  return whenKnown(value as pulumi.Input<number>, (v) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < range.min || v > range.max) {
      fail(
        label,
        field,
        `${field} is ${describeValue(v)}, not a whole number from ${range.min} to ${range.max}` +
          (range.example !== undefined ? `; use e.g. ${range.example}.` : "."),
      );
    }
  });
}

/** One of `allowed` (or an Output of one); undefined passes. */
export function checkOneOf<T extends string | number>(
  label: string,
  field: string,
  value: unknown,
  allowed: readonly T[],
): pulumi.Input<T> | undefined {
  if (value === undefined) return undefined;
  return whenKnown(value as pulumi.Input<T>, (v) => {
    if (!allowed.includes(v)) {
      fail(
        label,
        field,
        `${field} ${describeValue(v)} is not supported; use one of ` +
          `${allowed.map((a) => JSON.stringify(a)).join(", ")}.`,
      );
    }
  });
}

/**
 * A list whose elements may be Outputs, or an Output of a list (Pulumi's `Input<Input<T>[]>`):
 * each element is checked with `each` (now, or when known). Undefined passes.
 */
export function checkList<T>(
  label: string,
  field: string,
  value: unknown,
  each: (field: string, element: unknown) => void,
): pulumi.Input<pulumi.Input<T>[]> | undefined {
  if (value === undefined) return undefined;
  const checkElements = (list: unknown): void => {
    if (!Array.isArray(list)) {
      fail(
        label,
        field,
        `${field} is ${describeValue(list)}, not a list; pass [ ... ] or leave it out.`,
      );
    }
  };
  if (isDeferred(value)) {
    return pulumi.output(value as pulumi.Input<unknown[]>).apply((list) => {
      checkElements(list);
      list.forEach((element, i) => each(`${field}[${i}]`, element));
      return list as T[];
    });
  }
  checkElements(value);
  return (value as unknown[]).map((element, i) =>
    whenKnown(element as pulumi.Input<T>, (v) => each(`${field}[${i}]`, v)),
  );
}

/**
 * A map of strings (`Record<string, Input<string>>`, or an Output of one): keys checked with
 * `eachKey`, values with `eachValue`. Undefined passes.
 */
export function checkStringMap(
  label: string,
  field: string,
  value: unknown,
  eachKey: (key: string) => void,
  eachValue: (field: string, value: unknown) => void,
): pulumi.Input<Record<string, pulumi.Input<string>>> | undefined {
  if (value === undefined) return undefined;
  const checkKnown = (map: unknown): Record<string, unknown> => {
    if (!isPlainObject(map)) {
      fail(
        label,
        field,
        `${field} is ${describeValue(map)}, not a map of names to text; pass { KEY: "value" }.`,
      );
    }
    for (const key of Object.keys(map)) eachKey(key);
    return map;
  };
  if (isDeferred(value)) {
    return pulumi.output(value as pulumi.Input<Record<string, string>>).apply((map) => {
      for (const [key, v] of Object.entries(checkKnown(map))) eachValue(`${field}.${key}`, v);
      return map;
    });
  }
  const map = checkKnown(value);
  const out: Record<string, pulumi.Input<string>> = {};
  for (const key of Object.keys(map)) {
    out[key] = whenKnown(map[key] as pulumi.Input<string>, (v) => eachValue(`${field}.${key}`, v));
  }
  return out;
}
