import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { ImageReference } from './image-reference';
import { RegistryCertificateAuthority } from './registry-certificate-authority';
import { ToolImagesOptions } from './tool-images';

/**
 * The Pod Security Standards level a construct's pod fits.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export enum PodSecurityLevel {
  /** Fits `restricted`: non-root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault. */
  RESTRICTED = 'restricted',
  /** Fits `baseline` but not `restricted` (for example kaniko, which must run as root). */
  BASELINE = 'baseline',
  /** Needs a `privileged` namespace (privileged containers or Unconfined seccomp/AppArmor). */
  PRIVILEGED = 'privileged',
}

/**
 * Job-level options shared by every construct of this library.
 *
 * The defaults suit image builds and pushes, not long-running apps: one retry, a one-hour deadline, a day of
 * history, no service-account token, and pinned images pulled only when missing.
 */
export interface ImageJobOptions {
  /**
   * The Job's `metadata.name`.
   *
   * Job pod templates are immutable: GitOps tools replace a changed Job only if its name changes, so
   * consider putting a version in it.
   *
   * @default - a name cdk8s derives from the construct path (`<chart>-<id>-<hash>`), stable across synths
   */
  readonly name?: string;

  /**
   * How long the Job may run before Kubernetes stops it (`activeDeadlineSeconds`).
   *
   * @default Duration.hours(1)
   */
  readonly activeDeadline?: Duration;

  /**
   * How many times a failed pod is retried (`backoffLimit`).
   *
   * Tools already retry network faults inside the pod; a pod-level retry mostly repeats a failing build.
   *
   * @default 1
   */
  readonly backoffLimit?: number;

  /**
   * How long a finished Job (and its pod and logs) is kept (`ttlSecondsAfterFinished`).
   *
   * @default Duration.days(1)
   */
  readonly ttlAfterFinished?: Duration;

  /**
   * The service account the pod runs as. Its token is never mounted: no container here talks to the
   * Kubernetes API.
   *
   * @default - the namespace's `default` service account, without a mounted token
   */
  readonly serviceAccount?: kplus.IServiceAccount;

  /**
   * Node labels the pod must match (`nodeSelector`), for example `{ 'kubernetes.io/arch': 'amd64' }`:
   * builders produce images for the architecture of the node they run on.
   *
   * @default - any node
   */
  readonly nodeSelector?: { [key: string]: string };

  /**
   * Taints the pod tolerates, for example dedicated build nodes.
   *
   * @default - no tolerations
   */
  readonly tolerations?: kplus.NodeTaintQuery[];

  /**
   * Resources of the construct's main tool container (kaniko for builds, skopeo for pushes and promotions).
   *
   * @default - per construct; see each construct's documentation
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Extra labels for the Job and its pod template.
   *
   * Every Job also carries `app.kubernetes.io/created-by: cdk8s-image-jobs` and
   * `app.kubernetes.io/component: <kind>` (for example `kaniko-build`).
   *
   * @default - only the library's labels
   */
  readonly jobLabels?: { [key: string]: string };

  /**
   * Extra annotations for the Job and its pod template.
   *
   * @default - only `kubectl.kubernetes.io/default-container` on the pod template
   */
  readonly jobAnnotations?: { [key: string]: string };

  /**
   * Overrides for the pinned tool images (mirrors, forks, newer releases).
   *
   * @default - the images pinned in `ToolImages`
   */
  readonly toolImages?: ToolImagesOptions;

  /**
   * Private certificate authorities the registry tools trust, each for its `registries` or (at most one bundle
   * without `registries`) for every registry the Job names. Mounted read-only into the skopeo, buildah and
   * kaniko containers; verification stays on. Registries reached without TLS verification are a separate,
   * explicit choice (`insecureRegistries`, `destinationTlsVerify`).
   *
   * @default - the tool images' system trust stores only
   */
  readonly certificateAuthorities?: RegistryCertificateAuthority[];

  /**
   * Environment variables set on every container of the pod (init containers included), values or Secret /
   * ConfigMap references: typically `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` and their lower-case forms. curl
   * reads the lower-case `http_proxy` (never upper-case `HTTP_PROXY`), `HTTPS_PROXY`/`https_proxy` and
   * `NO_PROXY`/`no_proxy`; skopeo, buildah, kaniko and BuildKit (Go) read `HTTPS_PROXY`, `HTTP_PROXY` and
   * `NO_PROXY`, upper-case first then lower-case. Set both forms. A name a container already sets (such as
   * `DOCKER_CONFIG` or `CURL_CA_BUNDLE`) is refused.
   *
   * @default - only the variables each container needs
   */
  readonly env?: { [name: string]: kplus.EnvValue };

  /**
   * Secrets (`kubernetes.io/dockerconfigjson`) the kubelet uses to pull the tool images, e.g. from a mirror.
   * They never reach the containers.
   *
   * @default - the service account's image pull secrets
   */
  readonly imagePullSecrets?: string[];

  /**
   * The pod's `priorityClassName`.
   *
   * @default - the cluster's default priority
   */
  readonly priorityClassName?: string;

  /**
   * The pod's `runtimeClassName`, e.g. a sandboxed runtime (gVisor, Kata) for builders.
   *
   * @default - the cluster's default runtime
   */
  readonly runtimeClassName?: string;

  /**
   * Labels for the pod template only (not the Job), e.g. for network policies or cost allocation.
   *
   * @default - only the Job's labels (`jobLabels` and the library's)
   */
  readonly podLabels?: { [key: string]: string };

  /**
   * Annotations for the pod template only (not the Job), e.g. a service mesh opt-out.
   *
   * @default - only the Job's annotations and `kubectl.kubernetes.io/default-container`
   */
  readonly podAnnotations?: { [key: string]: string };

  /**
   * Required node affinity: for each node label, the values one of which the node must carry (`In`). Contradicting
   * `nodeSelector` (a value it sets missing here) is refused.
   *
   * @default - no node affinity
   */
  readonly nodeAffinity?: { [labelKey: string]: string[] };

  /**
   * Prefer nodes that run no other pod of the same kind of Job (pod anti-affinity on
   * `app.kubernetes.io/component`, per `kubernetes.io/hostname`), spreading batch builds.
   *
   * @default false
   */
  readonly spreadAcrossNodes?: boolean;
}

/** What every construct of this library exposes. */
export interface IImageJob extends IConstruct {
  /** The underlying Job: the escape hatch for anything the props do not cover. */
  readonly job: kplus.Job;

  /** Every image reference the Job pushes to, in push order. */
  readonly imageReferences: ImageReference[];

  /** The Pod Security Standards level the Job's pod fits. */
  readonly podSecurityLevel: PodSecurityLevel;
}
