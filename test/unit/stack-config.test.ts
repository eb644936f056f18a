import * as fs from "fs";
import * as path from "path";
import { DEFAULTS, parseImageEntry, parseStackConfig, unknownConfigKeys } from "../../stack/config";

describe("root stack config", () => {
  it("applies the defaults when nothing is set", () => {
    const config = parseStackConfig({});
    expect(config).toMatchObject({
      hostname: "localhost",
      port: 443,
      users: ["registry"],
      minimumTlsVersion: "tls1.2",
      keyAlgorithm: "RSA",
      trustCertsDirs: ["/etc/docker/certs.d"],
      trustInsecure: false,
      dockerLogin: true,
      platform: "linux/amd64",
      images: [],
    });
    expect(config.proxyRemoteUrl).toBeUndefined();
  });

  it("declares the same keys and defaults in Pulumi.yaml as the parser uses", () => {
    const yaml = fs.readFileSync(path.join(__dirname, "../../Pulumi.yaml"), "utf8");
    const block = yaml.slice(yaml.indexOf("\nconfig:\n"));
    const declared = [...block.matchAll(/^ {2}(\w+):\n {4}type: (\w+)/gm)].map((m) => m[1]);
    expect(declared.sort()).toEqual([...Object.keys(DEFAULTS), "proxyPassword"].sort());
    for (const [name, value] of Object.entries(DEFAULTS)) {
      const entry = block.slice(block.indexOf(`\n  ${name}:\n`));
      const line = entry.split("\n").find((l) => l.startsWith("    default: "));
      const text = line!.slice("    default: ".length);
      const parsed = text.startsWith("[") || text.startsWith('"') ? JSON.parse(text) : text;
      expect({ name, value: String(parsed) }).toEqual({ name, value: String(value) });
    }
    expect(block).toMatch(/proxyPassword:\n {4}type: string\n {4}secret: true/);
  });

  it("reads lists as pulumi.Config returns them (JSON text)", () => {
    const config = parseStackConfig({ users: '["ci","dev"]', images: '["app:1=./app"]' });
    expect(config.users).toEqual(["ci", "dev"]);
    expect(config.images.map((i) => i.name)).toEqual(["app:1"]);
  });

  it("parses image entries with their options", () => {
    expect(parseImageEntry("app:1.0=./app,target=runtime,flatten")).toEqual({
      name: "app:1.0",
      context: "./app",
      dockerfile: undefined,
      target: "runtime",
      flatten: true,
    });
    expect(parseImageEntry("tools=./tools,dockerfile=build/Dockerfile")).toEqual({
      name: "tools:latest",
      context: "./tools",
      dockerfile: "build/Dockerfile",
      target: undefined,
      flatten: false,
    });
  });

  it.each([
    [{ port: 70000 }, /secure-registry:port: 70000 is not a whole number from 1 to 65535/],
    [{ port: "443x" }, /secure-registry:port: "443x" is not a whole number/],
    [
      { logLevel: "verbose" },
      /secure-registry:logLevel: "verbose" is not supported; use one of error, warn, info, debug/,
    ],
    [
      { minimumTlsVersion: "tls1.1" },
      /secure-registry:minimumTlsVersion: "tls1.1" is not supported; use one of tls1.2, tls1.3/,
    ],
    [{ keyAlgorithm: "DSA" }, /secure-registry:keyAlgorithm: "DSA" is not supported/],
    [{ users: [] }, /secure-registry:users: the list is empty/],
    [{ users: "alice" }, /secure-registry:users: expected a list of strings/],
    [{ trustInsecure: "yes" }, /secure-registry:trustInsecure: "yes" is not a boolean/],
    [
      { certValidityDays: 0 },
      /secure-registry:certValidityDays: 0 is not a whole number from 1 to 3650/,
    ],
    [
      { proxyUsername: "bob" },
      /secure-registry:proxyRemoteUrl: is empty while proxyUsername is set/,
    ],
    [{ hostname: "a\nb" }, /secure-registry:hostname: contains a line break/],
    [
      { images: ["app"] },
      /secure-registry:images\[0\]: "app" has no "<repository>:<tag>=<context>" part/,
    ],
    [{ images: ["App=./x"] }, /secure-registry:images\[0\]: "App" is not a valid repository/],
    [
      { images: ["a=./x,squash"] },
      /secure-registry:images\[0\]: "squash" in "a=.\/x,squash" is not an option/,
    ],
    [{ images: ["a=./x", "a:latest=./y"] }, /secure-registry:images: "a:latest" is listed twice/],
    [{ hostname: "bad_host" }, /secure-registry:hostname "bad_host" is neither a valid DNS name/],
    [
      { additionalHostnames: ["ok.example", "-x"] },
      /secure-registry:additionalHostnames\[1\] "-x"/,
    ],
    [{ ipAddresses: ["10.0.0.300"] }, /secure-registry:ipAddresses\[0\] "10.0.0.300"/],
    [{ bindAddress: "everywhere" }, /secure-registry:bindAddress "everywhere"/],
    [{ users: ["ci", "a:b"] }, /secure-registry:users\[1\]/],
    [{ users: ["ci", "ci"] }, /secure-registry:users: a username is listed twice/],
    [{ proxyRemoteUrl: "ftp://mirror" }, /secure-registry:proxyRemoteUrl "ftp:\/\/mirror"/],
    [
      { trustCertsDirs: ["certs.d"] },
      /secure-registry:trustCertsDirs\[0\] "certs.d" must be an absolute path/,
    ],
    [{ users: '["ci",' }, /secure-registry:users: expected a list of strings/],
  ])("rejects %j naming the key", (raw, message) => {
    expect(() => parseStackConfig(raw)).toThrow(message);
  });

  it("reports every bad key at once", () => {
    expect(() => parseStackConfig({ port: 0, logLevel: "loud" })).toThrow(
      /port: 0 is not[\s\S]*logLevel: "loud"/,
    );
  });

  it("refuses keys of its namespace that do not exist, with the likely key", () => {
    expect(() => parseStackConfig({ hostname: "reg.test" }, ["hostnme", "hostname"])).toThrow(
      /- secure-registry:hostnme: is not a setting of this stack; did you mean secure-registry:hostname\?/,
    );
    expect(unknownConfigKeys(["zzzzzz"])[0]).toMatch(
      /zzzzzz: is not a setting of this stack; the settings are hostname, additionalHostnames/,
    );
    // Every real key (the secret too) passes.
    expect(unknownConfigKeys([...Object.keys(DEFAULTS), "proxyPassword"])).toEqual([]);
  });
});
