import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { bindArchive, checkSizeLimit } from './_archive';
import { DIRECTORY_SOURCES, requireContextSource } from './_build';
import { provideCredentials } from './_credentials';
import { kanikoFlags, kanikoTrust } from './_kaniko';
import { kplusResources } from './_kplus-props';
import { BUILDER_RESOURCES, ContainerProfile, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { parseDestination, parseDestinations } from './_refs';
import { DETERMINE_ACTION_SCRIPT, UNIFIED_SCRIPT } from './_scripts';
import { Env, SKOPEO_RESOURCES, skopeoEnv, tmpEnv, tmpMounts } from './_skopeo';
import { checkToolImage } from './_tool-images';
import { checkInteger, checkRelativePath, invalid } from './_validate';
import { BuildContext } from './build-context';
import { ImageArchive } from './image-archive';
import { IImageJob, ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { PushDestinationOptions } from './push-destinations';
import { RegistryCredentials } from './registry-credentials';

/** What `UnifiedImageJob` does; the values are the classic unified Job YAML's `JOB_TYPE` values. */
export enum UnifiedJobMode {
  /** Download a build context, build it with kaniko into an intermediate registry, promote the digest. */
  BUILD_AND_PUSH = 'build_and_push',
  /** Download (or read) an image tarball and push it. */
  PUSH_TAR = 'push_tar',
}

/** Props of `UnifiedImageJob`. */
export interface UnifiedImageJobProps extends ImageJobOptions, PushDestinationOptions {
  /**
   * What the Job does unless an operator changes it: the `JOB_TYPE` of the `init-determine-action` container.
   * Its inputs are required; the other mode's inputs are optional, and when given (each path still validated)
   * the main container carries both paths' variables, so `JOB_TYPE` can be flipped in the YAML before applying.
   */
  readonly mode: UnifiedJobMode;

  /**
   * The combined image of the main container: kaniko (`/kaniko/executor`), skopeo, curl, tar, sh. See
   * `images/unified-tools/Dockerfile` in this repository for a reference build. Must pin a tag or digest.
   */
  readonly toolsImage: string;

  /**
   * The build path: the build context, prepared by the main container itself: `BuildContext.fromUrl()`
   * (downloaded), `fromLocalDirectory()` (unpacked from its ConfigMap), `fromConfigMap()` or
   * `fromPersistentVolumeClaim()` (read in place). Git, S3 and GCS contexts need `KanikoBuildJob`.
   *
   * @default - required for BUILD_AND_PUSH; with PUSH_TAR, no build path (`JOB_TYPE=build_and_push` fails naming the missing variables)
   */
  readonly context?: BuildContext;

  /**
   * The build path: the Dockerfile's path in the context (the classic unified YAML's `DOCKERFILE_PATH`).
   *
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;

  /**
   * The build path: where kaniko pushes before promotion, with a tag (the classic unified YAML's
   * `INTERMEDIATE_REGISTRY_URL` / `BUILD_IMAGE_NAME` / `BUILD_IMAGE_TAG`).
   *
   * @default - required for BUILD_AND_PUSH; with PUSH_TAR, no build path (`JOB_TYPE=build_and_push` fails naming the missing variables)
   */
  readonly intermediateDestination?: string;

  /**
   * The build path: credentials for the intermediate registry. For private base images the
   * `config.json` needs their registry too: list it in the docker-config Secret's `auths`, or in
   * `fromUsernamePassword()`'s `additionalRegistries`. Mounted in the container that runs the Dockerfile's RUN steps, as are the
   * destinations' `credentials`.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly buildCredentials?: RegistryCredentials;

  /**
   * The build path: build arguments. Values may not contain line breaks (as with every builder here).
   *
   * @default - none
   */
  readonly buildArgs?: { [key: string]: string };

  /**
   * The build path: the Dockerfile stage to build.
   *
   * @default - the last stage
   */
  readonly target?: string;

  /**
   * The build path: registries reached over plain http; when the intermediate registry is listed,
   * the promotion reads it without TLS.
   *
   * @default - every registry uses https with a verified certificate
   */
  readonly insecureRegistries?: string[];

  /**
   * The build path: size limit of the workspace emptyDir (context archive and unpacked files).
   *
   * @default Size.gibibytes(2)
   */
  readonly contextSizeLimit?: Size;

  /**
   * The push_tar path: the image tarball.
   *
   * @default - required for PUSH_TAR; with BUILD_AND_PUSH, no push_tar path (`JOB_TYPE=push_tar` fails naming the missing variables)
   */
  readonly archive?: ImageArchive;

  /**
   * The push_tar path: size limit of the emptyDir holding a downloaded archive and of skopeo's temp directory.
   *
   * @default Size.gibibytes(10)
   */
  readonly archiveSizeLimit?: Size;
}

const BUILD_PROPS = ['context', 'dockerfile', 'intermediateDestination', 'buildCredentials', 'buildArgs', 'target', 'insecureRegistries', 'contextSizeLimit'];
const PUSH_TAR_PROPS = ['archive', 'archiveSizeLimit'];
const REQUIRED: { [mode: string]: string[] } = {
  [UnifiedJobMode.BUILD_AND_PUSH]: ['context', 'intermediateDestination'],
  [UnifiedJobMode.PUSH_TAR]: ['archive'],
};

/**
 * The classic `unified-single-container-job.yaml`, kept compatible: the init container `init-determine-action`
 * maps `JOB_TYPE` (`build_and_push` / `push_tar`) to `/pod-info/action_type`, and the main container
 * `main-task-executor` runs one constant script that branches on it, with the tools of one combined image.
 * `mode` sets `JOB_TYPE`. Give the inputs of both modes and the main container carries both paths'
 * variables, as the classic YAML does: flipping `JOB_TYPE` (`kubectl set env --local -f job.yaml -c
 * init-determine-action JOB_TYPE=push_tar -o yaml`, or an edit, before applying) then runs the other path.
 * Flipping to a path whose inputs were not given fails in the main container, naming the missing variables;
 * an unknown value fails the init container.
 *
 * Improvements over the hand-written Job: downloads retried and verified, promotion by the digest kaniko recorded
 * (never a tag lookup), credentials composed into a 0640 file (the pod's group only) instead of living in the main container's
 * environment, the missing variables named when an action lacks them, and `<ref>@<digest>` lines in the
 * termination message.
 *
 * A path is either complete or absent: a prop of a path without that path's required props is refused at
 * synth time, so a Job never carries settings that silently do nothing.
 *
 * Security: build mode exposes every credential in the pod to the Dockerfile's RUN steps. kaniko runs as
 * root in the one main container, which also mounts the build credentials and the final registries' push
 * credentials (`/auth/destination`) for the promotion, so a RUN step can read and use them. One container
 * cannot separate them: for untrusted build contexts use `KanikoBuildJob` with `promotion`, whose promoter
 * is a separate container and the only one that mounts the promotion credentials.
 */
export class UnifiedImageJob extends Construct implements IImageJob {
  /**
   * The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover.
   *
   * A cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses; `ApiObject.of(x.job).addJsonPatch(…)`
   * patches it from any version.
   */
  public readonly job: kplus.Job;

  /**
   * Every reference the Job may push to, in push order: the intermediate destination first when the build path
   * is configured, then the destinations.
   */
  public readonly imageReferences: ImageReference[];

  /**
   * With the build path configured, kaniko runs as root (`baseline`) in the container that also holds every
   * credential of the pod, readable by the Dockerfile's RUN steps; a push_tar-only Job runs everything non-root
   * and read-only (`restricted`).
   */
  public readonly podSecurityLevel: PodSecurityLevel;

  /** What the Job does: the default `JOB_TYPE`. */
  public readonly mode: UnifiedJobMode;

  /** The `JOB_TYPE` values the main container has the variables for: `mode` first, then the other if configured. */
  public readonly jobTypes: UnifiedJobMode[];

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props the mode, the tools image, and that mode's inputs
   */
  constructor(scope: Construct, id: string, props: UnifiedImageJobProps) {
    super(scope, id);
    this.mode = checkMode(props);
    this.jobTypes = configuredPaths(props);
    const building = this.jobTypes.includes(UnifiedJobMode.BUILD_AND_PUSH);
    const pushingTar = this.jobTypes.includes(UnifiedJobMode.PUSH_TAR);
    const toolsImage = checkToolImage('toolsImage', props.toolsImage);
    const destinations = parseDestinations('destinations', props.destinations);
    const intermediate = building ? parseDestination('intermediateDestination', props.intermediateDestination!) : undefined;
    this.imageReferences = [...(intermediate ? [intermediate] : []), ...destinations];
    this.podSecurityLevel = building ? PodSecurityLevel.BASELINE : PodSecurityLevel.RESTRICTED;

    const pod = new ImageJobPod(this, props, 'unified-image', this.podSecurityLevel);
    this.job = pod.job;
    const value = kplus.EnvValue.fromValue;
    const podInfo = pod.emptyDir('pod-info', Size.mebibytes(1));
    pod.addContainer({
      name: 'init-determine-action',
      image: pod.images.downloadHelper,
      script: DETERMINE_ACTION_SCRIPT,
      env: [['JOB_TYPE', value(this.mode)], ['ACTION_FILE', value('/pod-info/action_type')]],
      mounts: [{ path: '/pod-info', volume: podInfo }],
      profile: ContainerProfile.RESTRICTED,
      resources: HELPER_RESOURCES,
    }, true);

    const destinationAuth = provideCredentials(pod, props.credentials, 'destination', destinations.map(d => d.registry));
    const retryTimes = checkInteger('retryTimes', props.retryTimes ?? 3, 0, 100);
    const destinationTlsVerify = props.destinationTlsVerify ?? true;
    const env: Env = [['ACTION_FILE', value('/pod-info/action_type')]];
    const mounts: Mount[] = [{ path: '/pod-info', volume: podInfo, readOnly: true }];

    let sourceAuth: kplus.Volume | undefined;
    let sourceTlsVerify = destinationTlsVerify;
    let tmpSizeLimit = Size.gibibytes(1);
    if (intermediate) {
      // the unified script prepares the context itself: sources it can download, unpack or read in place
      const context = requireContextSource('UnifiedImageJob', props.context!, DIRECTORY_SOURCES);
      const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
      const kaniko = kanikoFlags({
        buildArgs: props.buildArgs,
        target: props.target,
        insecureRegistries: props.insecureRegistries,
      });
      sourceTlsVerify = !kaniko.insecureRegistries.includes(intermediate.registry);
      sourceAuth = provideCredentials(pod, props.buildCredentials, 'build', [intermediate.registry]);
      const trust = kanikoTrust(pod, [intermediate.registry]);
      mounts.push(...trust.mounts);
      // the main script prepares the context itself (prepare_context): no init container
      const binding = context._bind(pod, {
        workspaceSizeLimit: checkSizeLimit('contextSizeLimit', props.contextSizeLimit ?? Size.gibibytes(2)),
        dockerfile,
        selfPrepared: true,
      });
      env.push(
        ...binding.env,
        ['INTERMEDIATE_REGISTRY_URL', value(intermediate.registry)],
        ['BUILD_IMAGE_NAME', value(intermediate.repository)],
        ['BUILD_IMAGE_TAG', value(intermediate.tag!)],
        ['SOURCE_DIGEST_FILE', value('/results/digest')],
        ['KANIKO_ARGS', value(['--image-name-with-digest-file=/dev/termination-log', ...trust.flags, ...kaniko.flags].join('\n'))],
        ['DOCKER_CONFIG', value('/kaniko/.docker')],
      );
      mounts.push(...binding.mounts, { path: '/results', volume: pod.emptyDir('results', Size.mebibytes(1)) });
      if (sourceAuth) {
        mounts.push({ path: '/kaniko/.docker', volume: sourceAuth, readOnly: true });
      }
    }
    if (pushingTar) {
      tmpSizeLimit = checkSizeLimit('archiveSizeLimit', props.archiveSizeLimit ?? Size.gibibytes(10));
      if (!(props.archive instanceof ImageArchive)) {
        invalid('archive', props.archive, 'expected an ImageArchive such as ImageArchive.fromUrl("https://…/image.tar")');
      }
      const archive = bindArchive(pod, props.archive, tmpSizeLimit, false);
      env.push(...archive.env);
      mounts.push(...archive.mounts);
    }

    const shared = skopeoEnv(destinations, {
      copyAllPlatforms: true,
      preserveDigests: true,
      retryTimes,
      sourceTlsVerify,
      destinationTlsVerify,
      sourceAuth,
      destinationAuth,
    });
    pod.addContainer({
      name: 'main-task-executor',
      image: toolsImage,
      script: UNIFIED_SCRIPT,
      env: [...env, ...shared.env, ...tmpEnv()],
      mounts: [...mounts, ...tmpMounts(pod.emptyDir('tmp', tmpSizeLimit)), ...shared.mounts],
      profile: building ? ContainerProfile.ROOT_BUILDER : ContainerProfile.RESTRICTED,
      resources: kplusResources(props.resources, building ? BUILDER_RESOURCES : SKOPEO_RESOURCES),
      registries: [...new Set([...(intermediate ? [intermediate.registry] : []), ...destinations.map(d => d.registry)])],
    }, false);
    pod.setDefaultContainer('main-task-executor');
  }
}

/** The mode is known and its required props are given. */
function checkMode(props: UnifiedImageJobProps): UnifiedJobMode {
  const mode = props.mode;
  if (!Object.values(UnifiedJobMode).includes(mode)) {
    invalid('mode', mode, `expected ${Object.values(UnifiedJobMode).map(m => `UnifiedJobMode.${m.toUpperCase()}`).join(' or ')}`);
  }
  const given = props as unknown as { [prop: string]: unknown };
  const missing = REQUIRED[mode].filter(prop => given[prop] === undefined);
  if (missing.length > 0) {
    invalid('mode', mode, `expected ${REQUIRED[mode].join(' and ')} for this mode; missing: ${missing.join(', ')}`);
  }
  return mode;
}

/**
 * The paths the main container gets variables for: the mode's, then the other one when any of its props is
 * given, in which case its required props must be given too (a partial path would silently do nothing).
 */
function configuredPaths(props: UnifiedImageJobProps): UnifiedJobMode[] {
  const given = props as unknown as { [prop: string]: unknown };
  const other = props.mode === UnifiedJobMode.BUILD_AND_PUSH ? UnifiedJobMode.PUSH_TAR : UnifiedJobMode.BUILD_AND_PUSH;
  const otherProps = (other === UnifiedJobMode.BUILD_AND_PUSH ? BUILD_PROPS : PUSH_TAR_PROPS).filter(prop => given[prop] !== undefined);
  if (otherProps.length === 0) {
    return [props.mode];
  }
  const missing = REQUIRED[other].filter(prop => given[prop] === undefined);
  if (missing.length > 0) {
    invalid(otherProps[0], given[otherProps[0]], `configures JOB_TYPE=${other} only with ${REQUIRED[other].join(' and ')}; give ${missing.join(', ')} or remove ${otherProps.join(', ')}`);
  }
  return [props.mode, other];
}
