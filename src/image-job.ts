import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { ArgoCd } from './argo-cd';
import { ImageReference } from './image-reference';
import { JobName } from './job-name';
import { KargoNotification } from './kargo-notification';
import { NodeLabel, NodePreference } from './node-label';
import { PodEnvValue } from './pod-env-value';
import { RegistryCertificateAuthority } from './registry-certificate-authority';
import { Toleration } from './toleration';
import { ToolImagesOptions } from './tool-images';
import { ToolResources } from './tool-resources';

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
 * How a construct names its tool containers (what `kubectl logs -c <name>` takes).
 *
 * | role | LIBRARY | CLASSIC (the hand-written build and push-tar Job YAMLs) |
 * | --- | --- | --- |
 * | the builder: kaniko, buildah (`KanikoBuildJob`, `BuildahBuildJob`, `KanikoBuildBatch`) | `build` | `image-builder` |
 * | the builder: BuildKit (`OciConnectorBuildJob`) | `buildkit` | `image-builder` |
 * | the skopeo promoter | `promote` | `skopeo-promoter` |
 * | the skopeo archive pusher | `push` | `skopeo-tar-pusher` |
 *
 * Helper init containers (`fetch-context`, `fetch-archive`, `compose-*-auth`) and `UnifiedImageJob`'s
 * `init-determine-action` / `main-task-executor` keep their names either way.
 */
export enum ContainerNaming {
  /** Short role names: `build`, `buildkit`, `promote`, `push`. */
  LIBRARY = 'library',
  /** The classic YAMLs' names: `image-builder`, `skopeo-promoter`, `skopeo-tar-pusher`, for runbooks that use them. */
  CLASSIC = 'classic',
}

/**
 * Job-level options shared by every construct of this library.
 *
 * The defaults suit image builds and pushes, not long-running apps: one retry, a one-hour deadline, a day of
 * history, no service-account token, and pinned images pulled only when missing.
 */
export interface ImageJobOptions {
  /**
   * How the Job is named: a content-hashed name (a changed pod is a new Job), a stable name (for Argo CD's
   * `Replace=true`), or an exact one. See `JobName` for when to use each.
   *
   * Two Jobs of one app with the same name in the same namespace fail the synthesis, naming both constructs.
   *
   * @default JobName.contentHashed() - `<chart>-<id>-<hash of the pod template>`: an unchanged build keeps its
   * name and YAML, any change to what the pod runs gives a new Job
   */
  readonly name?: JobName;

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
   * With `argoCd`, leave it out: Argo CD reports a deleted Job OutOfSync, and self-heal re-creates it, which
   * runs the build again. Argo CD deletes hooks by their delete policy and prunes replaced Jobs itself.
   *
   * @default - Duration.days(1); with `argoCd`, none (the Job stays until Argo CD deletes it)
   */
  readonly ttlAfterFinished?: Duration;

  /**
   * The name of the service account the pod runs as (`serviceAccountName`), in the Job's namespace. Its
   * token is never mounted: no container here talks to the Kubernetes API.
   *
   * A name rather than a cdk8s-plus object, so apps on any cdk8s-plus version can pass one: with a
   * `ServiceAccount` construct, pass its `name`.
   *
   * @default - the namespace's `default` service account, without a mounted token
   */
  readonly serviceAccountName?: string;

  /**
   * Node labels the pod must match (`nodeSelector`), for example `{ 'kubernetes.io/arch': 'amd64' }`:
   * builders produce images for the architecture of the node they run on.
   *
   * @default - any node
   */
  readonly nodeSelector?: { [key: string]: string };

  /**
   * Taints the pod tolerates, for example dedicated build nodes:
   * `[{ key: 'dedicated', value: 'image-builds', effect: TolerationEffect.NO_SCHEDULE }]`.
   *
   * @default - no tolerations
   */
  readonly tolerations?: Toleration[];

  /**
   * Resources of the construct's main tool container (kaniko for builds, skopeo for pushes and promotions).
   * Given, they replace that container's defaults entirely; a field left out is not set.
   *
   * @default - per construct; see each construct's documentation
   */
  readonly resources?: ToolResources;

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
   * The names of the tool containers: the library's short ones, or the classic hand-written YAMLs' for runbooks
   * that say `kubectl logs -c skopeo-promoter` (see `ContainerNaming` for the mapping).
   *
   * @default ContainerNaming.LIBRARY
   */
  readonly containerNaming?: ContainerNaming;

  /**
   * Tell Kargo at once after a successful push (`KargoNotification.webhook()`), so Freight appears in seconds
   * instead of after the Warehouse's interval. The tool containers then run as init containers and a last
   * container, `notify-kargo`, notifies; a failed notification is logged and never fails the Job.
   *
   * @default - no notification; Kargo finds the image at the Warehouse's next discovery
   */
  readonly kargoNotification?: KargoNotification;

  /**
   * Argo CD delivery: the Job as a resource hook (`ArgoCd.hook()`) or a plain synced resource with sync
   * options (`ArgoCd.syncedResource()`). The annotations go on the Job's metadata only.
   *
   * @default - no Argo CD annotations; `ttlAfterFinished` defaults to a day
   */
  readonly argoCd?: ArgoCd;

  /**
   * Overrides for the pinned tool images (mirrors, forks, newer releases).
   *
   * @default - the images pinned in `ToolImages`
   */
  readonly toolImages?: ToolImagesOptions;

  /**
   * Private certificate authorities the tools trust, each for the hosts in its `registries` or (at most one bundle
   * without `registries`) for every registry the Job names. Mounted read-only into the skopeo, buildah, kaniko
   * and BuildKit containers; verification stays on. A download host (curl) or the git host of
   * `BuildContext.fromGit` (kaniko's clone) is trusted only through a bundle whose `registries` list it; BuildKit
   * cannot trust a CA for its git clone, so such a bundle is refused there. Registries reached without TLS
   * verification are a separate, explicit choice (`insecureRegistries`, `destinationTlsVerify`).
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
  readonly env?: { [name: string]: PodEnvValue };

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
   * Required node affinity: node labels the node must carry, all of them (one node selector term). Onto a pool
   * (`NodeLabel.oneOf('node.corp.io/pool', ['builds'])`), off spot or GPU nodes (`NodeLabel.noneOf`,
   * `NodeLabel.absent`), onto nodes carrying a label (`NodeLabel.present`). A requirement no node could meet together
   * with `nodeSelector` or another requirement (a value excluded, a label required absent and present) is refused.
   *
   * @default - no requirement beyond `nodeSelector`
   */
  readonly requiredNodeLabels?: NodeLabel[];

  /**
   * Soft node preferences: the scheduler favours nodes matching them (e.g. a cheaper pool) and still runs the pod
   * elsewhere when none is free.
   *
   * @default - no preference
   */
  readonly preferredNodes?: NodePreference[];

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
  /**
   * The underlying Job: the escape hatch for anything the props do not cover.
   *
   * It is a cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses: call its methods with
   * cdk8s-plus-28 objects, or patch the synthesized object through cdk8s itself, which works from any
   * version: `ApiObject.of(x.job).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'builds'))`.
   */
  readonly job: kplus.Job;

  /** Every image reference the Job pushes to, in push order. */
  readonly imageReferences: ImageReference[];

  /** The Pod Security Standards level the Job's pod fits. */
  readonly podSecurityLevel: PodSecurityLevel;
}
