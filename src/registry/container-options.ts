/**
 * The registry container's tunable settings (SecureRegistry `container`), one by one: every
 * docker.Container input the component does not own (see OWNED_CONTAINER_INPUTS in container.ts),
 * typed as the docker provider types it. Listed rather than derived (`Omit<docker.ContainerArgs,
 * ...>`) because Pulumi's schema analyser reads declared properties only: this way other languages
 * get every setting, with its description. container.ts proves at compile time that this list and
 * the provider's inputs agree.
 *
 * Descriptions are the docker provider's.
 */
import type * as docker from "@pulumi/docker";

/** Container settings a SecureRegistry passes through: docker.Container's, less the owned ones. */
export interface RegistryContainerOptions {
  /** Add or drop certain linux capabilities. */
  readonly capabilities?: docker.ContainerArgs["capabilities"];
  /** Optional parent cgroup for the container */
  readonly cgroupParent?: docker.ContainerArgs["cgroupParent"];
  /** Cgroup namespace mode to use for the container. Possible values are: `private`, `host`. */
  readonly cgroupnsMode?: docker.ContainerArgs["cgroupnsMode"];
  /** The total number of milliseconds to wait for the container to reach status 'running' */
  readonly containerReadRefreshTimeoutMilliseconds?: docker.ContainerArgs["containerReadRefreshTimeoutMilliseconds"];
  /**
   * Specify the CPU CFS scheduler period (in microseconds), which is used alongside `cpu-quota`.
   * Is ignored if `cpus` is set.
   */
  readonly cpuPeriod?: docker.ContainerArgs["cpuPeriod"];
  /**
   * Impose a CPU CFS quota on the container (in microseconds). The number of microseconds per
   * `cpu-period` that the container is limited to before throttled. Is ignored if `cpus` is set.
   */
  readonly cpuQuota?: docker.ContainerArgs["cpuQuota"];
  /** A comma-separated list or hyphen-separated range of CPUs a container can use, e.g. `0-1`. */
  readonly cpuSet?: docker.ContainerArgs["cpuSet"];
  /** CPU shares (relative weight) for the container. */
  readonly cpuShares?: docker.ContainerArgs["cpuShares"];
  /**
   * Specify how much of the available CPU resources a container can use. e.g a value of 1.5 means
   * the container is guaranteed at most one and a half of the CPUs. Has precedence over
   * `cpuPeriod` and `cpuQuota`.
   */
  readonly cpus?: docker.ContainerArgs["cpus"];
  /**
   * If defined will attempt to stop the container before destroying. Container will be destroyed
   * after `n` seconds or on successful stop.
   */
  readonly destroyGraceSeconds?: docker.ContainerArgs["destroyGraceSeconds"];
  /** Cgroup rules to allow access to classes of devices without binding specific device nodes. */
  readonly deviceCgroupRules?: docker.ContainerArgs["deviceCgroupRules"];
  /**
   * Limit read rate (bytes per second) from a device. This is the equivalent to repeating
   * `--device-read-bps` for `docker run`.
   */
  readonly deviceReadBps?: docker.ContainerArgs["deviceReadBps"];
  /**
   * Limit read rate (IO per second) from a device. This is the equivalent to repeating
   * `--device-read-iops` for `docker run`.
   */
  readonly deviceReadIops?: docker.ContainerArgs["deviceReadIops"];
  /**
   * Device requests for the container, such as CDI devices (e.g., `nvidia.com/gpu=all`) or GPU
   * requests. This is the equivalent to using the `--device` flag for CDI devices in `docker run`.
   */
  readonly deviceRequests?: docker.ContainerArgs["deviceRequests"];
  /**
   * Limit write rate (bytes per second) to a device. This is the equivalent to repeating
   * `--device-write-bps` for `docker run`.
   */
  readonly deviceWriteBps?: docker.ContainerArgs["deviceWriteBps"];
  /**
   * Limit write rate (IO per second) to a device. This is the equivalent to repeating
   * `--device-write-iops` for `docker run`.
   */
  readonly deviceWriteIops?: docker.ContainerArgs["deviceWriteIops"];
  /**
   * Bind traditional devices to the container (e.g., `/dev/nvidia0`). For CDI devices, use
   * `deviceRequests` instead.
   */
  readonly devices?: docker.ContainerArgs["devices"];
  /** DNS servers to use. */
  readonly dns?: docker.ContainerArgs["dns"];
  /**
   * DNS options used by the DNS provider(s), see `resolv.conf` documentation for valid list of
   * options.
   */
  readonly dnsOpts?: docker.ContainerArgs["dnsOpts"];
  /**
   * DNS search domains that are used when bare unqualified hostnames are used inside of the
   * container.
   */
  readonly dnsSearches?: docker.ContainerArgs["dnsSearches"];
  /** Domain name of the container. */
  readonly domainname?: docker.ContainerArgs["domainname"];
  /** Environment variables to set in the form of `KEY=VALUE`, e.g. `DEBUG=0` */
  readonly envs?: docker.ContainerArgs["envs"];
  /**
   * GPU devices to add to the container. Supported values are `all` or `device=<id[,id...]>`, for
   * example `device=0,2` or `device=GPU-3a23c669-1f69-c64e-cf85-44e9b07e7a2a`.
   */
  readonly gpus?: docker.ContainerArgs["gpus"];
  /** Additional groups for the container user */
  readonly groupAdds?: docker.ContainerArgs["groupAdds"];
  /** Hostname of the container. */
  readonly hostname?: docker.ContainerArgs["hostname"];
  /** Additional hosts to add to the container. */
  readonly hosts?: docker.ContainerArgs["hosts"];
  /**
   * Configured whether an init process should be injected for this container. If unset this will
   * default to the `dockerd` defaults.
   */
  readonly init?: docker.ContainerArgs["init"];
  /**
   * IPC sharing mode for the container. Possible values are: `none`, `private`, `shareable`,
   * `container:<name|id>` or `host`.
   */
  readonly ipcMode?: docker.ContainerArgs["ipcMode"];
  /** User-defined key/value metadata */
  readonly labels?: docker.ContainerArgs["labels"];
  /** The logging driver to use for the container. */
  readonly logDriver?: docker.ContainerArgs["logDriver"];
  /** Key/value pairs to use as options for the logging driver. */
  readonly logOpts?: docker.ContainerArgs["logOpts"];
  /** The maximum amount of times to an attempt a restart when `restart` is set to 'on-failure'. */
  readonly maxRetryCount?: docker.ContainerArgs["maxRetryCount"];
  /** The memory limit for the container in MBs. */
  readonly memory?: docker.ContainerArgs["memory"];
  /**
   * The memory-resveration for the container in MBs. Defaults to 0. Allows you to specify a soft
   * limit smaller than `memory` which is activated when Docker detects contention or low memory on
   * the host machine. If you use `memory-reservation`, it must be set lower than `memory` for it
   * to take precedence. Because it is a soft limit, it doesn't guarantee that the container
   * doesn't exceed the limit.
   */
  readonly memoryReservation?: docker.ContainerArgs["memoryReservation"];
  /**
   * The total memory limit (memory + swap) for the container in MBs. This setting may compute to
   * `-1` after `pulumi up` if the target host doesn't support memory swap, when that is the case
   * docker will use a soft limitation.
   */
  readonly memorySwap?: docker.ContainerArgs["memorySwap"];
  /** Specification for mounts to be added to containers created as part of the service. */
  readonly mounts?: docker.ContainerArgs["mounts"];
  /**
   * Network mode of the container. Defaults to `bridge`. If your host OS is any other OS, you need
   * to set this value explicitly, e.g. `nat` when your container will be running on an Windows
   * host. See https://docs.docker.com/engine/network/ for more information.
   */
  readonly networkMode?: docker.ContainerArgs["networkMode"];
  /**
   * The networks the container is attached to. This is the equivalent to the `--network` option of
   * `docker run`
   */
  readonly networksAdvanced?: docker.ContainerArgs["networksAdvanced"];
  /** The PID (Process) Namespace mode for the container. Either `container:<name|id>` or `host`. */
  readonly pidMode?: docker.ContainerArgs["pidMode"];
  /**
   * Platform in the format `os[/arch[/variant]]` used for image lookup and container runtime, for
   * example `linux/amd64`.
   */
  readonly platform?: docker.ContainerArgs["platform"];
  /** If `true`, the container runs in privileged mode. */
  readonly privileged?: docker.ContainerArgs["privileged"];
  /** Publish all ports of the container. */
  readonly publishAllPorts?: docker.ContainerArgs["publishAllPorts"];
  /**
   * If `true`, it will remove anonymous volumes associated with the container. Defaults to `true`.
   */
  readonly removeVolumes?: docker.ContainerArgs["removeVolumes"];
  /**
   * The restart policy for the container. Must be one of 'no', 'on-failure', 'always',
   * 'unless-stopped'. Defaults to `no`.
   */
  readonly restart?: docker.ContainerArgs["restart"];
  /** Runtime to use for the container. */
  readonly runtime?: docker.ContainerArgs["runtime"];
  /**
   * List of string values to customize labels for MLS systems, such as SELinux. See
   * https://docs.docker.com/engine/reference/run/#security-configuration.
   */
  readonly securityOpts?: docker.ContainerArgs["securityOpts"];
  /** Size of `/dev/shm` in MBs. */
  readonly shmSize?: docker.ContainerArgs["shmSize"];
  /** If `true`, keep STDIN open even if not attached (`docker run -i`). Defaults to `false`. */
  readonly stdinOpen?: docker.ContainerArgs["stdinOpen"];
  /** Signal to stop a container (default `SIGTERM`). */
  readonly stopSignal?: docker.ContainerArgs["stopSignal"];
  /** Timeout (in seconds) to stop a container. */
  readonly stopTimeout?: docker.ContainerArgs["stopTimeout"];
  /** Key/value pairs for the storage driver options, e.g. `size`: `120G` */
  readonly storageOpts?: docker.ContainerArgs["storageOpts"];
  /** A map of kernel parameters (sysctls) to set in the container. */
  readonly sysctls?: docker.ContainerArgs["sysctls"];
  /**
   * A map of container directories which should be replaced by `tmpfs mounts`, and their
   * corresponding mount options.
   */
  readonly tmpfs?: docker.ContainerArgs["tmpfs"];
  /** If `true`, allocate a pseudo-tty (`docker run -t`). Defaults to `false`. */
  readonly tty?: docker.ContainerArgs["tty"];
  /** Ulimit options to add. */
  readonly ulimits?: docker.ContainerArgs["ulimits"];
  /**
   * Sets the usernamespace mode for the container when usernamespace remapping option is enabled.
   */
  readonly usernsMode?: docker.ContainerArgs["usernsMode"];
  /** The working directory for commands to run in. */
  readonly workingDir?: docker.ContainerArgs["workingDir"];
}
