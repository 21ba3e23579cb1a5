import { RegistryCredentials } from './registry-credentials';

/**
 * Where an image is pushed or promoted to, and how: shared by `TarPushJob`, `UnifiedImageJob` and
 * `KanikoBuildJob`'s `promotion`.
 */
export interface PushDestinationOptions {
  /**
   * The destinations, each with a tag, e.g. `harbor.example.com/platform/api:1.4.0`. The first travels in
   * the classic Job YAMLs' `HARBOR_REGISTRY` / `HARBOR_PROJECT` / `HARBOR_IMAGE_NAME` / `HARBOR_IMAGE_TAG` variables; every
   * destination receives the same digest and is verified after the copy.
   */
  readonly destinations: string[];

  /**
   * Credentials for the destination registries. `KanikoBuildJob`'s `promotion` mounts them in the promoter
   * only; `UnifiedImageJob`'s build mode mounts them in its one main container, where the Dockerfile's RUN
   * steps can read them.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly credentials?: RegistryCredentials;

  /**
   * How often skopeo retries a failed registry operation (`--retry-times`). Authentication errors are never retried.
   *
   * @default 3
   */
  readonly retryTimes?: number;

  /**
   * Require https with a verified certificate for the destinations.
   *
   * @default true
   */
  readonly destinationTlsVerify?: boolean;
}
