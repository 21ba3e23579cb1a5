import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { ArgoCd } from './argo-cd';
import { ImageReference } from './image-reference';
import { JobName } from './job-name';
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
   * How the Job is named: a content-hashed name (a changed pod is a new Job), a stable name (for Argo CD's
   * `Replace=true`), or an exact one. See `JobName` for when to use each.
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
