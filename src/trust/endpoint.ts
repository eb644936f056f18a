/**
 * Registry endpoint validation. The endpoint becomes a directory name under each certs dir and a
 * key in daemon.json / config.json, so anything that is not exactly `host[:port]` is refused
 * before a path is ever built from it.
 *
 * No imports: this module is serialized by value into the dynamic provider (see provider.ts);
 * Node built-ins are required inside the functions that use them.
 */

/** An endpoint split into the parts the trust files are named after. */
export interface ParsedEndpoint {
  /** Host as given: a DNS name, an IPv4 address, or a bracketed IPv6 address (`[fd00::1]`). */
  readonly host: string;
  /** Port, when the endpoint names one. */
  readonly port?: number;
}

const EXAMPLE = 'e.g. "registry.example.com:5000" or "192.0.2.10:5000"';

/** Why `endpoint` is not a valid `host[:port]`, with the fix; undefined when it is valid. */
export function endpointProblem(endpoint: unknown, field = "endpoint"): string | undefined {
  const intro = `${field} ${JSON.stringify(endpoint)} is not host[:port]`;
  if (typeof endpoint !== "string") {
    return `${field} must be a string host[:port], ${EXAMPLE}`;
  }
  if (endpoint === "") {
    return `${field} is empty: give the registry's host[:port], ${EXAMPLE}`;
  }
  if (/\s/.test(endpoint)) {
    return `${intro}: it contains whitespace; remove it (${EXAMPLE})`;
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(endpoint)) {
    return `${intro}: remove the scheme "${endpoint.split("://")[0]}://" (${EXAMPLE})`;
  }
  if (endpoint.includes("..")) {
    return `${intro}: ".." is not allowed; give the host name only (${EXAMPLE})`;
  }
  if (endpoint.includes("/") || endpoint.includes("\\")) {
    return `${intro}: it contains a path separator; drop any path or repository part (${EXAMPLE})`;
  }
  let host: string;
  let portText: string | undefined;
  if (endpoint.startsWith("[")) {
    const close = endpoint.indexOf("]");
    if (close < 0) {
      return `${intro}: the IPv6 address has no closing "]" (e.g. "[fd00::10]:5000")`;
    }
    host = endpoint.slice(0, close + 1);
    const rest = endpoint.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) {
      return `${intro}: expected ":<port>" after "${host}" (e.g. "[fd00::10]:5000")`;
    }
    portText = rest === "" ? undefined : rest.slice(1);
    if (!isIPv6(host.slice(1, -1))) {
      return `${intro}: ${host} is not an IPv6 address`;
    }
  } else {
    const colons = endpoint.split(":").length - 1;
    if (colons > 1) {
      return `${intro}: an IPv6 address must be in brackets, e.g. "[fd00::10]:5000"`;
    }
    [host, portText] = colons === 1 ? endpoint.split(":") : [endpoint, undefined];
    if (!isIPv4(host) && !isDnsName(host)) {
      return (
        `${intro}: "${host}" is neither a DNS name (letters, digits, "-" and "." only, ` +
        `labels of 1-63 characters not starting or ending with "-") nor an IPv4 address (${EXAMPLE})`
      );
    }
  }
  if (portText !== undefined && !isPort(portText)) {
    return `${intro}: port "${portText}" must be a number from 1 to 65535 without leading zeros`;
  }
  return undefined;
}

/** Parses `host[:port]`; throws an Error naming `field` and the fix when it is not valid. */
export function parseEndpoint(endpoint: string, field = "endpoint"): ParsedEndpoint {
  const problem = endpointProblem(endpoint, field);
  if (problem !== undefined) {
    throw new Error(problem);
  }
  const portStart = endpoint.lastIndexOf(":");
  const hasPort = portStart >= 0 && !endpoint.slice(portStart).includes("]");
  return hasPort
    ? { host: endpoint.slice(0, portStart), port: Number(endpoint.slice(portStart + 1)) }
    : { host: endpoint };
}

/**
 * Directory names under a certs dir for this endpoint. Docker and containers/image look up
 * `certs.d/<host:port>`; for the default HTTPS port a registry is usually referenced without a
 * port, so 443 (written or implied) gets both `<host>` and `<host>:443`.
 */
export function certDirNames(endpoint: string): string[] {
  const { host, port } = parseEndpoint(endpoint);
  if (port === undefined || port === 443) {
    return [host, `${host}:443`];
  }
  return [endpoint];
}

function isPort(text: string): boolean {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) {
    return false;
  }
  const port = Number(text);
  return port >= 1 && port <= 65535;
}

function isIPv4(host: string): boolean {
  // Required here, not imported: this module is serialized by value (built-ins stay `require`s).
  return (require("net") as typeof import("net")).isIPv4(host);
}

function isDnsName(host: string): boolean {
  if (host.length === 0 || host.length > 253) {
    return false;
  }
  const labels = host.split(".");
  // All-numeric names that are not valid IPv4 (e.g. "1.2.3") would be read as addresses by clients.
  if (labels.every((l) => /^[0-9]+$/.test(l))) {
    return false;
  }
  return labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

function isIPv6(address: string): boolean {
  // Zones (`%eth0`) cannot appear in a registry host name.
  return !address.includes("%") && (require("net") as typeof import("net")).isIPv6(address);
}
