/**
 * SecureRegistryService's arguments and their defaults. The registry's own options (names, users,
 * TLS, storage, env...) are SecureRegistry's, with the same checks.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RegistryServerArgs } from "../registry/args";
import type { S3StorageOptions } from "../registry/s3";

/** How a change rolls through the replicas: which replica goes first (ServiceUpdateOptions.order). */
export const UpdateOrder = {
  StartFirst: "start-first",
  StopFirst: "stop-first",
} as const;
export type UpdateOrder = (typeof UpdateOrder)[keyof typeof UpdateOrder];

/** What an update does when an updated replica fails (ServiceUpdateOptions.failureAction). */
export const UpdateFailureAction = {
  Rollback: "rollback",
  Pause: "pause",
  Continue: "continue",
} as const;
export type UpdateFailureAction = (typeof UpdateFailureAction)[keyof typeof UpdateFailureAction];

/** How the replicas publish the port (SecureRegistryServiceArgs.publishMode). */
export const PublishMode = {
  Ingress: "ingress",
  Host: "host",
} as const;
export type PublishMode = (typeof PublishMode)[keyof typeof PublishMode];

/** Where the replicas keep their data: a bucket every replica shares. */
export interface ServiceStorageOptions {
  /** The bucket (required: replicas on different nodes must see the same data). */
  readonly s3: S3StorageOptions;
  /** Allow deleting images through the API (REGISTRY_STORAGE_DELETE_ENABLED). Default true. */
  readonly deleteEnabled?: boolean;
}

/** Where Swarm may run the replicas. */
export interface ServicePlacementOptions {
  /** Swarm constraints, e.g. `node.role==worker`, `node.labels.registry==true`. Default []. */
  readonly constraints?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Spread preferences as label names, e.g. `node.labels.zone` (`--placement-pref
   * spread=node.labels.zone`). Default [].
   */
  readonly spreadOver?: pulumi.Input<pulumi.Input<string>[]>;
  /** Most replicas on one node; 0 is no limit. Default 0. */
  readonly maxReplicasPerNode?: pulumi.Input<number>;
}

/**
 * How a change (a renewed certificate, a user added, a new image) rolls through the replicas.
 * Always one replica at a time; a replica counts as updated only once its health check passes.
 */
export interface ServiceUpdateOptions {
  /**
   * How long each updated replica is watched after it became healthy before the next one is
   * updated; a failure in that time triggers `failureAction`. A Go duration. Default "10s".
   */
  readonly monitor?: string;
  /** Pause between two replicas' updates (a Go duration). Default "0s". */
  readonly delay?: string;
  /**
   * "stop-first" (stop the old replica, then start the new) or "start-first" (start the new
   * replica before stopping the old). Default "start-first" for replicated services behind the
   * routing mesh; "stop-first" with `publishMode: "host"` (the node's port is held by its running
   * replica), `global` (one replica per node) or `placement.maxReplicasPerNode` (no room for a
   * second one), where start-first would wait forever.
   */
  readonly order?: UpdateOrder;
  /**
   * When an updated replica fails: "rollback" to the previous spec, "pause" the update, or
   * "continue". Default "rollback".
   */
  readonly failureAction?: UpdateFailureAction;
}

/** Redis for the registry's blob descriptor cache, shared by the replicas. */
export interface ServiceRedisOptions {
  /** `host:port` the replicas reach, e.g. "redis:6379" on a shared overlay network (`networks`). */
  readonly address: pulumi.Input<string>;
  /** Redis password (secret). Default: none. */
  readonly password?: pulumi.Input<string>;
  /** Database number. Default 0. */
  readonly db?: pulumi.Input<number>;
}

export interface SecureRegistryServiceArgs extends RegistryServerArgs {
  /**
   * Published port (the replicas listen on 5000 inside). With the default publish mode every
   * swarm node answers on it (routing mesh); with `publishMode: "host"` only the nodes running a
   * replica. Default 443.
   */
  readonly port?: pulumi.Input<number>;
  /** Data in S3 or an S3-compatible store, shared by every replica (required). */
  readonly storage: ServiceStorageOptions;
  /** Swarm service name: 1-63 letters, digits, '-' or '_'. Default: the component's name. */
  readonly serviceName?: string;
  /** Number of replicas (replicated mode). Default 2. Not with `global`. */
  readonly replicas?: pulumi.Input<number>;
  /** One replica on every node that matches `placement` (global mode). Default false. */
  readonly global?: boolean;
  /** Constraints and spread of the replicas. Default: any node. */
  readonly placement?: ServicePlacementOptions;
  /**
   * "ingress": the routing mesh publishes `port` on every node and balances across replicas;
   * "host": each replica publishes `port` on its own node (no mesh; put your own load balancer
   * in front, and at most one replica per node). Default "ingress".
   */
  readonly publishMode?: PublishMode;
  /** Rolling update policy. Default: one at a time, health-gated, monitor 10s, rollback. */
  readonly update?: ServiceUpdateOptions;
  /**
   * How long a stopping replica finishes open requests before it is killed (the registry's
   * `http.draintimeout` and the task's stop grace period). A Go duration. Default "10s".
   */
  readonly stopGracePeriod?: string;
  /** Redis for the blob descriptor cache. Default: none (each replica caches in memory). */
  readonly redis?: ServiceRedisOptions;
  /**
   * IDs of swarm networks (e.g. `docker.Network.id`, overlay) the replicas join, e.g. to reach
   * Redis. IDs, not names: the provider reads IDs back. Default [].
   */
  readonly networks?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * How long `pulumi up` waits for the replicas to run (replicated mode; the provider's
   * `convergeConfig`). A failed update that rolled back fails the deployment. Default "5m".
   */
  readonly convergeTimeout?: string;
}

export const SERVICE_DEFAULTS = {
  port: 443,
  replicas: 2,
  global: false,
  publishMode: "ingress" as PublishMode,
  monitor: "10s",
  delay: "0s",
  failureAction: "rollback" as UpdateFailureAction,
  stopGracePeriod: "10s",
  convergeTimeout: "5m",
  maxReplicasPerNode: 0,
} as const;
