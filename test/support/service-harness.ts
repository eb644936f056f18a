/**
 * Declares a SecureRegistryService under mocks, as `pulumi up` would evaluate the program, for
 * tests that then run the declaration on a real swarm (swarm-deploy.ts).
 *
 *   const first = await declareService("reg", args);
 *   const deployment = await runDeclaredService(swarm.manager, first.declared);
 *   // a second `pulumi up` a year later: the server certificate is due for renewal
 *   const renewed = await declareService("reg", args, { priorState: withoutServerCert(first.all) });
 *   await deployment.apply(renewed.declared);
 *
 * `priorState` gives every resource whose inputs did not change its previous outputs (keys,
 * certificates, passwords, the http secret), as the engine keeps a resource's state.
 */
import type { SecureRegistryServiceArgs } from "../../src/service";
import { TEST_IMAGES } from "./engine";
import { Credential, declaredChildren, resolveOutputs } from "./harness";
import { DeclaredResource, setupMocks } from "./mocks";

export interface DeclaredService {
  name: string;
  /** The component's own resources (what runs on the swarm and what the mocks answered). */
  declared: DeclaredResource[];
  /** Everything the mocks recorded: the prior state of a later run. */
  all: DeclaredResource[];
  /** Resolved component outputs (secrets unwrapped). */
  outputs: Record<string, unknown>;
  endpoint: string;
  caCertPem: string;
  credentials: Credential[];
  /** The server certificate the registry serves (the `certificate` config's content). */
  certPem: string;
}

/**
 * Declares `new SecureRegistryService(name, args)` under fresh mocks; the image defaults to the
 * local registry stand-in (loaded into every simulated host). Throws when a mock refused an input.
 */
export async function declareService(
  name: string,
  args: SecureRegistryServiceArgs,
  options: { priorState?: readonly DeclaredResource[] } = {},
): Promise<DeclaredService> {
  const mocks = setupMocks({ priorState: options.priorState });
  // Loaded after setMocks, as the mocks documentation requires.
  const { SecureRegistryService } =
    require("../../src/service") as typeof import("../../src/service");
  const component = new SecureRegistryService(name, { image: TEST_IMAGES.registry, ...args });
  const outputs = await resolveOutputs(component);
  if (mocks.rejections.length > 0) {
    throw new Error(`the mocks refused inputs: ${JSON.stringify(mocks.rejections)}`);
  }
  const certificate = mocks.resources.find(
    (r) =>
      r.type === "tls:index/locallySignedCert:LocallySignedCert" &&
      r.name === `${name}-tls-server-cert`,
  );
  return {
    name,
    declared: declaredChildren(mocks.resources, name),
    all: [...mocks.resources],
    outputs,
    endpoint: String(outputs.endpoint),
    caCertPem: String(outputs.caCertPem),
    credentials: (outputs.credentials as Credential[]) ?? [],
    certPem: String(certificate?.state.certPem ?? ""),
  };
}

/**
 * `state` as it is when the server certificate is due for renewal: the tls provider replaces a
 * LocallySignedCert once `readyForRenewal` (same key and request, a new certificate); every other
 * resource keeps its outputs.
 */
export function withoutServerCert(
  state: readonly DeclaredResource[],
  name: string,
): DeclaredResource[] {
  return state.filter((r) => r.name !== `${name}-tls-server-cert`);
}
