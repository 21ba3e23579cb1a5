import { Size } from 'cdk8s';

/**
 * Compute resources of a construct's main tool container (`resources` and `requests`/`limits` of the
 * container).
 *
 * A plain struct, so it works the same whichever cdk8s-plus version your app uses. Given, it replaces the
 * construct's default resources entirely: a field left out is not set, and Kubernetes (or the namespace's
 * LimitRange) decides it.
 *
 * @example { cpuRequestMillicores: 2000, memoryRequest: Size.gibibytes(4), memoryLimit: Size.gibibytes(8) }
 */
export interface ToolResources {
  /**
   * CPU the container requests, in millicores (1000 is one core).
   *
   * @default - no CPU request
   */
  readonly cpuRequestMillicores?: number;

  /**
   * CPU the container may use at most, in millicores (1000 is one core).
   *
   * @default - no CPU limit
   */
  readonly cpuLimitMillicores?: number;

  /**
   * Memory the container requests.
   *
   * @default - no memory request
   */
  readonly memoryRequest?: Size;

  /**
   * Memory the container may use at most; above it the container is killed.
   *
   * @default - no memory limit
   */
  readonly memoryLimit?: Size;

  /**
   * Node-local scratch space (writable layers, emptyDirs without a medium, logs) the container requests.
   *
   * @default - no ephemeral-storage request
   */
  readonly ephemeralStorageRequest?: Size;

  /**
   * Node-local scratch space the container may use at most; above it the pod is evicted.
   *
   * @default - no ephemeral-storage limit
   */
  readonly ephemeralStorageLimit?: Size;
}
