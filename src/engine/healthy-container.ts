import * as pulumi from "@pulumi/pulumi";
import { declaredEngine } from "./declared";
import { healthyContainerProvider } from "./health-provider";

export interface HealthyContainerArgs {
  /** The container to wait for: a `docker.Container`'s `id`. Required. */
  container: pulumi.Input<string>;
  /** Seconds to wait before the deployment fails. Required. */
  timeoutSeconds: pulumi.Input<number>;
}

/**
 * Waits during `pulumi up` until a container's health check passes, as soon as it passes, on the
 * Docker engine of `opts.parent`'s docker provider (without a parent: the default docker
 * provider's configuration, else `DOCKER_HOST`); fails at once when the container is unhealthy
 * or exits. Declare the container with `wait: false` and make what needs it running
 * depend on this resource. Replaced (waited for again) when the container is replaced.
 */
export class HealthyContainer extends pulumi.dynamic.Resource {
  declare public readonly container: pulumi.Output<string>;
  declare public readonly engineAddress: pulumi.Output<string>;

  constructor(name: string, args: HealthyContainerArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      healthyContainerProvider,
      name,
      {
        container: args.container,
        timeoutSeconds: args.timeoutSeconds,
        ...declaredEngine(opts.parent),
        engineAddress: undefined,
      },
      { ...opts, additionalSecretOutputs: ["engineKey"] },
      "secure-registry",
      "HealthyContainer",
    );
  }
}
