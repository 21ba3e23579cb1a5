import { Size } from 'cdk8s';
import { ImageAnnotationOptions } from './image-annotation-options';
import { ImageJobOptions } from './image-job';
import { PushDestinationOptions } from './push-destinations';
import { RegistryCredentials } from './registry-credentials';

/**
 * The inputs every Dockerfile builder takes (`KanikoBuildJob`, `BuildahBuildJob`), next to its own
 * `context`, `cache` and `extraArgs`.
 */
export interface BuildJobOptions extends ImageJobOptions, ImageAnnotationOptions {
  /**
   * The Dockerfile's path relative to the context root (the classic Job YAMLs' `DOCKERFILE_PATH`).
   *
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;

  /**
   * Where the builder pushes the image, each with a tag; every one is pushed and receives the same digest. The
   * first travels in the build container's `INTERMEDIATE_REGISTRY_URL` / `BUILD_IMAGE_NAME` / `BUILD_IMAGE_TAG`
   * with `promotion` (as in the classic build Job YAML), and in `DESTINATION_REGISTRY` / `DESTINATION_IMAGE_NAME` /
   * `DESTINATION_IMAGE_TAG` without (it is then a final destination).
   */
  readonly destinations: string[];

  /**
   * Credentials for the destinations and the cache, given to the builder as a docker `config.json` file that
   * holds each credential only for its own registries. For private base images the file needs their registry
   * too: list it in the docker-config Secret's `auths`, or in `fromUsernamePassword()`'s `additionalRegistries`
   * or `registries`. A username/password credential without `registries` is for the destinations' registries
   * only, and a cache repository on another registry is refused: give `registries` (the cache is then
   * anonymous) or `RegistryCredentials.combine()` a credential for the cache's registry.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly credentials?: RegistryCredentials;

  /**
   * Build arguments (`--build-arg KEY=VALUE`). Values are visible in the Job YAML: never pass secrets here.
   * Values with a line break are refused (usually a file's trailing newline).
   *
   * @default - none
   */
  readonly buildArgs?: { [key: string]: string };

  /**
   * The Dockerfile stage to build (`--target`).
   *
   * @default - the last stage
   */
  readonly target?: string;

  /**
   * Labels written into the image config (`--label KEY=VALUE`), e.g. `org.opencontainers.image.revision`.
   * Values with a line break are refused (usually a file's trailing newline).
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };


  /**
   * Registries (`host[:port]`) reached over plain http or with an unverified certificate (kaniko's
   * `--insecure-registry`, an `insecure` entry in buildah's registries.conf). When the first destination's
   * registry is listed, the promotion also reads it without TLS.
   *
   * @default - every registry uses https with a verified certificate
   */
  readonly insecureRegistries?: string[];

  /**
   * Promote the built image by digest to final registries. The builder then runs as an init container and a
   * skopeo container copies `<first destination>@<digest the builder recorded>` to every promotion destination.
   *
   * @default - no promotion; the builder is the main container
   */
  readonly promotion?: PushDestinationOptions;

  /**
   * Size limit of the emptyDir holding a downloaded context (archive and unpacked files).
   *
   * @default Size.gibibytes(2)
   */
  readonly contextSizeLimit?: Size;
}
