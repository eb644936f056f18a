/**
 * Checks of names shared by several components: ports, DNS names, IP addresses, Docker object
 * names and image references. Each throws an InvalidInputError naming the field, the problem and
 * the fix.
 */
import { describeValue, fail } from "./checks";
import { ImageReference, ipVersion, isDnsName, isPort, parseImageReference } from "./names";

export function validatePort(label: string, field: string, port: unknown): void {
  if (!isPort(port)) {
    fail(
      label,
      field,
      `${field} ${describeValue(port)} is outside 1-65535; choose a free TCP port such as 5000 or 443.`,
    );
  }
}

export function validateHostname(label: string, field: string, value: unknown): void {
  if (!isDnsName(value)) {
    const hint =
      ipVersion(value) !== 0
        ? " It is an IP address: put it in ipAddresses instead."
        : " Use letters, digits, hyphens and dots only, e.g. registry.example.com or localhost.";
    fail(label, field, `${field} ${describeValue(value)} is not a valid DNS name.${hint}`);
  }
}

/** A DNS name or an IP address. */
export function validateHostOrIp(label: string, field: string, value: unknown): void {
  if (ipVersion(value) !== 0 || isDnsName(value)) return;
  fail(
    label,
    field,
    `${field} ${describeValue(value)} is neither a valid DNS name nor an IP address; ` +
      `use a name such as registry.example.com or localhost, or an address such as 10.0.0.5.`,
  );
}

export function validateIp(label: string, field: string, value: unknown): void {
  if (ipVersion(value) === 0) {
    fail(
      label,
      field,
      `${field} ${describeValue(value)} is not an IP address; use a literal IPv4 or IPv6 ` +
        `address such as 10.0.0.5 or fd00::5 (host names go in hostname/additionalHostnames).`,
    );
  }
}

export function validateBindAddress(label: string, field: string, value: unknown): void {
  if (ipVersion(value) === 0) {
    fail(
      label,
      field,
      `${field} ${describeValue(value)} is not an IP address of this host; use 0.0.0.0 for ` +
        `all interfaces or an address such as 127.0.0.1.`,
    );
  }
}

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A container, volume, network or secret name as the Docker engine accepts it. */
export function validateDockerName(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || !DOCKER_NAME.test(value) || value.length > 255) {
    fail(
      label,
      field,
      `${field} ${describeValue(value)} is not a valid Docker name; use 2-255 letters, ` +
        `digits, '_', '.' or '-', starting with a letter or digit.`,
    );
  }
}

/** An image reference (`[registry/]repository[:tag][@sha256:...]`); returns its parts. */
export function validateImageReference(
  label: string,
  field: string,
  value: unknown,
  example = "registry:2",
): ImageReference {
  const parsed = parseImageReference(value);
  if ("problem" in parsed) {
    fail(
      label,
      field,
      `${field} ${describeValue(value)} is not an image reference: it ${parsed.problem}; use e.g. ${JSON.stringify(example)}.`,
    );
  }
  return parsed;
}
