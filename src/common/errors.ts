/**
 * The one error type every component throws for bad arguments.
 *
 * No imports: dynamic providers may carry this module by value (see src/trust/provider.ts).
 */

/**
 * A bad argument, reported at construction, before any resource exists (values that are Outputs
 * are checked once known). `message` names the component, the field path, the problem and the fix;
 * it never contains a password, key or other secret value.
 */
export class InvalidInputError extends Error {
  /** How the component instance is named in the message, e.g. `SecureRegistry "reg"`. */
  readonly component: string;
  /** Path of the argument at fault, e.g. `tls.minimumVersion` or `users[1].username`. */
  readonly field: string;

  constructor(component: string, field: string, message: string) {
    super(`${component}: ${message}`);
    this.name = "InvalidInputError";
    this.component = component;
    this.field = field;
  }
}
