import { ApiObject, Duration, JsonPatch, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { applyJobName, initialJobName } from './_job-name';
import { addKargoNotification, checkKargoNotification, NOTIFY_CONTAINER } from './_kargo-notify';
import { kplusTolerations } from './_kplus-props';
import { registryKey } from './_registry';
import { ResolvedToolImages, resolveToolImages } from './_tool-images';
import { checkEnvName, checkInteger, checkLabelKey, checkLabelValue, checkObjectName, checkWholeSeconds, invalid, sortedEntries } from './_validate';
import { ArgoCd } from './argo-cd';
import { ContainerNaming, ImageJobOptions, PodSecurityLevel } from './image-job';
import { KargoNotification } from './kargo-notification';
import { NodeLabel, NodeLabelMatch } from './node-label';
import { PodEnvValue } from './pod-env-value';
import { CertificateAuthoritySource, RegistryCertificateAuthority } from './registry-certificate-authority';

/** The uid and gid of every non-root helper container (the distroless "nonroot" user). */
export const NON_ROOT_ID = 65532;

/** The uid and gid of the rootless BuildKit image's `user`. */
export const BUILDKIT_ROOTLESS_ID = 1000;

/** How a container is confined. */
export enum ContainerProfile {
  /** Pod Security `restricted`: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp. */
  RESTRICTED,
  /** kaniko: root (it unpacks images into its own root filesystem), nothing more; fits `baseline`. */
  ROOT_BUILDER,
  /** BuildKit's documented Job: a privileged root container; needs `privileged`. */
  PRIVILEGED_BUILDER,
  /**
   * Rootless BuildKit: uid 1000, privilege escalation for the setuid `newuidmap`, Unconfined seccomp (and
   * AppArmor, see `unconfineAppArmor`) so it can create its own namespaces; needs `privileged`.
   */
  ROOTLESS_BUILDER,
  /**
   * buildah (chroot isolation): root with exactly the capabilities buildah gives RUN steps plus SYS_ADMIN,
   * which its mount and UTS namespaces need (without it buildah tries a user namespace instead). Privilege
   * escalation stays allowed so that RUN steps may exec setuid programs (`su`, `sudo` after `USER`), as
   * Docker builds do; buildah itself does not need it. Pair it with `unconfineAppArmor`. Needs `privileged`.
   */
  BUILDAH_BUILDER,
}

/**
 * The capabilities buildah grants RUN steps (its containers.conf `default_capabilities`, written by the
 * Job): each must be in the container's bounding set, or every RUN step fails. This is Docker's default RUN
 * capability set minus MKNOD, NET_RAW and AUDIT_WRITE. The e2e tier removes each from both the bounding set
 * and this list (buildah 1.28): buildah itself then fails without DAC_OVERRIDE (its storage's pivot dir),
 * FOWNER (applying a layer), SETGID (supplementary groups before every RUN) and SYS_CHROOT (chroot isolation);
 * CHOWN and SETUID are needed as soon as a RUN step chowns or runs after `USER 1000`. FSETID, KILL,
 * NET_BIND_SERVICE, SETFCAP and SETPCAP are not needed by those builds: they are kept so that Dockerfiles
 * behave as under `docker build` (a RUN step that binds port 80, kills a process, sets file capabilities).
 */
export const BUILDAH_RUN_CAPABILITIES: kplus.Capability[] = [
  kplus.Capability.CHOWN,
  kplus.Capability.DAC_OVERRIDE,
  kplus.Capability.FOWNER,
  kplus.Capability.FSETID,
  kplus.Capability.KILL,
  kplus.Capability.NET_BIND_SERVICE,
  kplus.Capability.SETFCAP,
  kplus.Capability.SETGID,
  kplus.Capability.SETPCAP,
  kplus.Capability.SETUID,
  kplus.Capability.SYS_CHROOT,
];

/**
 * The capabilities of a buildah container: its RUN steps' plus SYS_ADMIN (mount and UTS namespaces; without
 * it buildah falls back to a user namespace and fails). The runtime defaults MKNOD, NET_RAW and AUDIT_WRITE
 * are dropped.
 */
export const BUILDAH_CAPABILITIES: kplus.Capability[] = [...BUILDAH_RUN_CAPABILITIES, kplus.Capability.SYS_ADMIN].sort();

/** One volume mount of a container. */
export interface Mount {
  readonly path: string;
  readonly volume: kplus.Volume;
  readonly readOnly?: boolean;
}

/** A container of an image job: a constant script (or command) plus its environment and mounts. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  /** A constant POSIX sh script, run as `sh -c`. */
  readonly script?: string;
  /** The shell that runs `script` (kaniko's debug image keeps busybox in /busybox). */
  readonly shell?: string;
  readonly command?: string[];
  readonly args?: string[];
  /** Environment in the order it should appear. */
  readonly env: [string, kplus.EnvValue][];
  readonly mounts: Mount[];
  readonly profile: ContainerProfile;
  readonly resources: kplus.ContainerResources;
  /**
   * The registries a containers/image tool (skopeo, buildah) in this container talks to: their CA bundles are
   * mounted in its per-host certificate directories (`/etc/containers/certs.d/<host>/ca.crt`).
   */
  readonly registries?: string[];
  /**
   * The program that fails is not one of the library's scripts (which write their error to
   * `/dev/termination-log`) but a builder run directly, such as kaniko's executor: the container gets
   * `terminationMessagePolicy: FallbackToLogsOnError`, so when it fails without writing a message the kubelet
   * reports the tail of its log (the last 80 lines, at most 2048 bytes) as the termination message.
   * @default false
   */
  readonly messageFromLogsOnError?: boolean;
}

/** Where the CA bundle of a download's host is mounted for curl. */
const DOWNLOAD_CA_DIR = '/etc/download-ca';

/** containers/image's per-host certificate directories, read by skopeo and buildah for every uid. */
export const CONTAINERS_CERTS_DIR = '/etc/containers/certs.d';

/** A registry's CA bundle as one tool sees it: the file, and the read-only mount that puts it there. */
export interface RegistryCa {
  readonly host: string;
  /** `<root>/<host>/ca.crt`. */
  readonly file: string;
  readonly mount: Mount;
}

/** Small helper containers: enough for curl, tar and sh. */
export const HELPER_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
};

/** Default resources of a builder container (kaniko, BuildKit). */
export const BUILDER_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.units(1) },
  memory: { request: Size.gibibytes(2), limit: Size.gibibytes(4) },
  ephemeralStorage: { request: Size.gibibytes(10) },
};

/** kubelet expands `$(VAR)` in args; `$$` keeps a literal `$` in user-supplied values. */
export function escapeKubeletExpansion(arg: string): string {
  return arg.replace(/\$/g, '$$$$');
}

const LIBRARY = 'cdk8s-image-jobs';

/** The classic YAMLs' name of each tool container the library names by its role (see `ContainerNaming`). */
const CLASSIC_NAMES: { [name: string]: string } = {
  build: 'image-builder',
  buildkit: 'image-builder',
  promote: 'skopeo-promoter',
  push: 'skopeo-tar-pusher',
};

/**
 * The pod of an image job: owns the `kplus.Job` (construct id `Resource`), applies `ImageJobOptions`, and
 * hands out volumes, Secret references and confined containers.
 */
export class ImageJobPod {
  public readonly job: kplus.Job;
  public readonly images: ResolvedToolImages;
  private readonly scope: Construct;
  private readonly volumes = new Map<string, kplus.Volume>();
  private readonly secrets = new Map<string, kplus.ISecret>();
  private readonly configMaps = new Map<string, kplus.IConfigMap>();
  private readonly naming: ContainerNaming;
  private readonly authorities: RegistryCertificateAuthority[];
  /** `env`: added to every container after its own variables. */
  private readonly env: [string, kplus.EnvValue][];
  /** With a notification every tool container is an init container, and `notify-kargo` runs last. */
  private readonly notification?: KargoNotification;
  private notifierAdded = false;

  /**
   * @param indexedCompletions for an Indexed Job, its number of pods: the Job name must leave room for the
   * pods' hostnames `<name>-<index>`
   */
  constructor(scope: Construct, options: ImageJobOptions, component: string, level: PodSecurityLevel, indexedCompletions?: number) {
    this.scope = scope;
    this.naming = options.containerNaming ?? ContainerNaming.LIBRARY;
    if (!Object.values(ContainerNaming).includes(this.naming)) {
      invalid('containerNaming', this.naming, 'expected ContainerNaming.LIBRARY or ContainerNaming.CLASSIC');
    }
    this.notification = checkKargoNotification(options.kargoNotification);
    const initialName = initialJobName(options.name, indexedCompletions);
    this.images = resolveToolImages(options.toolImages);
    this.authorities = checkAuthorities(options.certificateAuthorities ?? []);
    const activeDeadline = options.activeDeadline ?? Duration.hours(1);
    checkWholeSeconds('activeDeadline', activeDeadline, 1);
    if (options.argoCd !== undefined && !(options.argoCd instanceof ArgoCd)) {
      invalid('argoCd', options.argoCd, 'expected ArgoCd.hook(...) or ArgoCd.syncedResource(...)');
    }
    // Argo CD sees a Job deleted by its TTL as OutOfSync, and self-heal would run it again
    const ttlAfterFinished = options.ttlAfterFinished ?? (options.argoCd ? undefined : Duration.days(1));
    if (ttlAfterFinished !== undefined) {
      checkWholeSeconds('ttlAfterFinished', ttlAfterFinished, 0);
    }
    this.job = new kplus.Job(scope, 'Resource', {
      metadata: initialName !== undefined ? { name: initialName } : undefined,
      activeDeadline,
      backoffLimit: checkInteger('backoffLimit', options.backoffLimit ?? 1, 0, 100),
      ttlAfterFinished,
      serviceAccount: options.serviceAccountName === undefined ? undefined
        : kplus.ServiceAccount.fromServiceAccountName(scope, 'ServiceAccount', checkObjectName('serviceAccountName', options.serviceAccountName)),
      automountServiceAccountToken: false,
      // containers set their own users; fsGroup lets the non-root helpers read mounted Secret files (mode 0440).
      // OnRootMismatch: a claim mounted for an archive is not re-chowned on every run.
      securityContext: {
        ensureNonRoot: level === PodSecurityLevel.RESTRICTED,
        fsGroup: NON_ROOT_ID,
        fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
      },
    });
    applyJobName(this.job, options.name, indexedCompletions);

    const resource = ApiObject.of(this.job);
    scope.node.addValidation({ validate: () => sameNameJobs(resource).map(other => `name: got ${JSON.stringify(resource.name)}; expected a Job name unique in its namespace, but ${other.node.path.replace(/(\/Resource)+$/, '')} has it too (the second kubectl apply would try to replace the first)`) });

    const labels: [string, string][] = [
      ['app.kubernetes.io/created-by', LIBRARY],
      ['app.kubernetes.io/component', component],
      ...sortedEntries('jobLabels', options.jobLabels, checkLabelKey),
    ];
    for (const [key, value] of labels) {
      checkLabelValue(`jobLabels.${key}`, value);
      this.job.metadata.addLabel(key, value);
      this.job.podMetadata.addLabel(key, value);
    }
    for (const [key, value] of sortedEntries('jobAnnotations', options.jobAnnotations, checkLabelKey)) {
      this.job.metadata.addAnnotation(key, value);
      this.job.podMetadata.addAnnotation(key, value);
    }
    for (const [key, value] of Object.entries(options.argoCd?.annotations ?? {})) {
      this.job.metadata.addAnnotation(key, value);
    }
    const nodeSelector = sortedEntries('nodeSelector', options.nodeSelector, checkLabelKey);
    for (const [key, value] of nodeSelector) {
      checkLabelValue(`nodeSelector.${key}`, value);
    }
    if (nodeSelector.length > 0) {
      ApiObject.of(this.job).addJsonPatch(JsonPatch.add('/spec/template/spec/nodeSelector', Object.fromEntries(nodeSelector)));
    }
    if (options.tolerations && options.tolerations.length > 0) {
      this.job.scheduling.tolerate(kplus.Node.tainted(...kplusTolerations(options.tolerations)));
    }
    this.env = Object.keys(options.env ?? {}).sort().map(name => {
      checkEnvName('env key', name);
      const value = options.env![name];
      if (!(value instanceof PodEnvValue)) {
        invalid(`env.${name}`, value, 'expected a PodEnvValue such as PodEnvValue.fromValue("http://proxy.corp:3128") or PodEnvValue.fromSecret(name, key)');
      }
      return [name, value._bind(this)] as [string, kplus.EnvValue];
    });
    for (const [key, value] of sortedEntries('podLabels', options.podLabels, checkLabelKey)) {
      checkLabelValue(`podLabels.${key}`, value);
      this.job.podMetadata.addLabel(key, value);
    }
    for (const [key, value] of sortedEntries('podAnnotations', options.podAnnotations, checkLabelKey)) {
      this.job.podMetadata.addAnnotation(key, value);
    }
    const patches: JsonPatch[] = [];
    if (options.imagePullSecrets !== undefined) {
      const names = options.imagePullSecrets.map((name, i) => checkObjectName(`imagePullSecrets[${i}]`, name));
      patches.push(JsonPatch.add('/spec/template/spec/imagePullSecrets', [...new Set(names)].map(name => ({ name }))));
    }
    if (options.priorityClassName !== undefined) {
      patches.push(JsonPatch.add('/spec/template/spec/priorityClassName', checkObjectName('priorityClassName', options.priorityClassName)));
    }
    if (options.runtimeClassName !== undefined) {
      patches.push(JsonPatch.add('/spec/template/spec/runtimeClassName', checkObjectName('runtimeClassName', options.runtimeClassName)));
    }
    const affinity = affinityOf(options, new Map(nodeSelector), component);
    if (affinity) {
      patches.push(JsonPatch.add('/spec/template/spec/affinity', affinity));
    }
    if (patches.length > 0) {
      ApiObject.of(this.job).addJsonPatch(...patches);
    }
  }

  /** An emptyDir volume, created once per name. */
  public emptyDir(name: string, sizeLimit: Size, memory = false): kplus.Volume {
    return this.volume(name, () => kplus.Volume.fromEmptyDir(this.scope, `Volume-${name}`, name, {
      sizeLimit,
      medium: memory ? kplus.EmptyDirMedium.MEMORY : undefined,
    }));
  }

  /** A volume projecting one key of a Secret as `path`, readable by the pod's fsGroup only. */
  public secretFileVolume(name: string, secretName: string, key: string, path: string): kplus.Volume {
    return this.volume(name, () => kplus.Volume.fromSecret(this.scope, `Volume-${name}`, this.secret(secretName), {
      name,
      items: { [key]: { path } },
      defaultMode: 0o440,
    }));
  }

  /** A PersistentVolumeClaim volume, mounted read-only by whoever uses it. */
  public claimVolume(name: string, claimName: string): kplus.Volume {
    return this.volume(name, () => kplus.Volume.fromPersistentVolumeClaim(this.scope, `Volume-${name}`,
      kplus.PersistentVolumeClaim.fromClaimName(this.scope, `Claim-${claimName}`, claimName), { name, readOnly: true }));
  }

  /** A reference to an existing ConfigMap, created once per name. */
  public configMap(configMapName: string): kplus.IConfigMap {
    return once(this.configMaps, configMapName, () => kplus.ConfigMap.fromConfigMapName(this.scope, `ConfigMap-${configMapName}`, configMapName));
  }

  /** A volume holding every key of an existing ConfigMap as a file, created once per name. */
  public configMapVolume(name: string, configMapName: string): kplus.Volume {
    return this.volume(name, () => kplus.Volume.fromConfigMap(this.scope, `Volume-${name}`, this.configMap(configMapName), { name }));
  }

  /**
   * A ConfigMap this construct owns, holding a packed build context as binaryData, and a volume of it. The
   * name ends with the archive's hash: a changed context gets a new ConfigMap, so a re-applied Job never
   * mounts stale files (and the ConfigMap can be immutable).
   */
  public contextArchiveVolume(name: string, sha256: string, binaryData: { [key: string]: string }): kplus.Volume {
    return this.volume(name, () => {
      const configMap = new kplus.ConfigMap(this.scope, `ConfigMap-${name}`, {
        metadata: { name: `${Names.toDnsLabel(this.scope, { maxLen: 50, extra: [name] })}-${sha256.slice(0, 12)}` },
        binaryData,
        immutable: true,
      });
      return kplus.Volume.fromConfigMap(this.scope, `Volume-${name}`, configMap, { name });
    });
  }

  /** A read-only CSI volume (kplus defaults `readOnly` to false; drivers such as `connectors-csi` require true). */
  public csiVolume(name: string, driver: string, attributes: [string, string][]): kplus.Volume {
    return this.volume(name, () => kplus.Volume.fromCsi(this.scope, `Volume-${name}`, driver, {
      name,
      readOnly: true,
      attributes: Object.fromEntries(attributes),
    }));
  }

  /**
   * Runs a container (init or main) without AppArmor confinement, through the pod annotation every Kubernetes
   * version honours. Kubernetes 1.30 deprecates it (a warning on apply) in favour of the `appArmorProfile`
   * field, which 1.28 and 1.29 API servers would reject as an unknown field under `kubectl apply`'s strict
   * validation: the annotation is the one form that applies everywhere.
   */
  public unconfineAppArmor(containerName: string): void {
    this.job.podMetadata.addAnnotation(`container.apparmor.security.beta.kubernetes.io/${this.containerName(containerName)}`, 'unconfined');
  }

  /** A reference to an existing Secret, created once per name. */
  public secret(secretName: string): kplus.ISecret {
    return once(this.secrets, secretName, () => kplus.Secret.fromSecretName(this.scope, `Secret-${secretName}`, secretName));
  }

  /**
   * The CA bundles a tool talking to `registries` trusts, under `root` (`<root>/<host>/ca.crt`), sorted by host:
   * every host of a bundle with `registries` (a base image's registry the Job cannot name), and each of
   * `registries` for the bundle without.
   */
  public registryCas(registries: string[], root: string): RegistryCa[] {
    const byHost = new Map<string, number>();
    this.authorities.forEach((authority, i) => {
      for (const host of authority.registries ?? []) {
        byHost.set(host, i);
      }
    });
    const everyRegistry = this.authorities.findIndex(a => a.registries === undefined);
    if (everyRegistry >= 0) {
      const listed = new Set([...byHost.keys()].map(registryKey));
      for (const host of registries) {
        if (!listed.has(registryKey(host))) {
          byHost.set(host, everyRegistry);
        }
      }
    }
    return [...byHost.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([host, i]) => {
      const path = `${root}/${host}`;
      return { host, file: `${path}/ca.crt`, mount: { path, volume: this.caVolume(i), readOnly: true } };
    });
  }

  /**
   * The bundle given for the host of `url` (a download or git server), mounted read-only at `path` as
   * `<path>/ca.crt`: the bundle whose `registries` list that host. The bundle for every registry is not used for
   * such hosts, as the Job does not name them as registries; undefined when no bundle lists the host.
   */
  public hostCa(url: string, path: string): { file: string; mount: Mount } | undefined {
    const i = this.hostCaIndex(url);
    return i < 0 ? undefined : { file: `${path}/ca.crt`, mount: { path, volume: this.caVolume(i), readOnly: true } };
  }

  /** The index in `certificateAuthorities` of the bundle whose `registries` list the host of `url`, or -1. */
  public hostCaIndex(url: string): number {
    const host = registryKey(new URL(url).host);
    return this.authorities.findIndex(a => (a.registries ?? []).some(r => registryKey(r) === host));
  }

  /**
   * curl's trust for a download from `url`: `CURL_CA_BUNDLE` names the bundle whose `registries` list the URL's
   * host, so curl trusts exactly that CA for it. Without such a bundle, the image's trust store (the bundle for
   * every registry is not used for downloads: curl would then trust nothing else).
   */
  public downloadTrust(url: string): { env: [string, kplus.EnvValue][]; mounts: Mount[] } {
    const ca = this.hostCa(url, DOWNLOAD_CA_DIR);
    return ca ? { env: [['CURL_CA_BUNDLE', kplus.EnvValue.fromValue(ca.file)]], mounts: [ca.mount] } : { env: [], mounts: [] };
  }

  /** Adds a confined container; init containers run in the order they are added. */
  public addContainer(spec: ContainerSpec, init: boolean): kplus.Container {
    for (const [name] of this.env) {
      if (spec.env.some(([own]) => own === name)) {
        invalid(`env.${name}`, name, `expected a variable the construct does not manage; container ${spec.name} sets ${name} itself`);
      }
    }
    const props: kplus.ContainerProps = {
      name: this.containerName(spec.name),
      image: spec.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: spec.script ? [spec.shell ?? '/bin/sh', '-c', spec.script] : spec.command,
      args: spec.args,
      envVariables: Object.fromEntries([...spec.env, ...this.env].map(([name, value]) => [name, literal(value)])),
      resources: spec.resources,
      securityContext: securityContextOf(spec.profile),
    };
    const asInit = init || (this.notification !== undefined && spec.name !== NOTIFY_CONTAINER);
    const container = asInit ? this.job.addInitContainer(props) : this.job.addContainer(props);
    if (spec.messageFromLogsOnError) {
      // cdk8s-plus-28 has no terminationMessagePolicy prop; containers are synthesized in the order they are added
      const list = asInit ? 'initContainers' : 'containers';
      const index = (asInit ? this.job.initContainers : this.job.containers).length - 1;
      ApiObject.of(this.job).addJsonPatch(JsonPatch.add(`/spec/template/spec/${list}/${index}/terminationMessagePolicy`, 'FallbackToLogsOnError'));
    }
    const cas = spec.registries ? this.registryCas(spec.registries, CONTAINERS_CERTS_DIR).map(ca => ca.mount) : [];
    for (const mount of [...spec.mounts, ...cas]) {
      container.mount(mount.path, mount.volume, { readOnly: mount.readOnly ?? false });
    }
    return container;
  }

  /** The volume of CA bundle `i`, its key projected as `ca.crt` (world-readable: certificates are public). */
  private caVolume(i: number): kplus.Volume {
    const authority = this.authorities[i];
    const name = `registry-ca-${i}`;
    const options = { name, items: { [authority.key]: { path: 'ca.crt' } }, defaultMode: 0o444 };
    return this.volume(name, () => authority.source === CertificateAuthoritySource.SECRET
      ? kplus.Volume.fromSecret(this.scope, `Volume-${name}`, this.secret(authority.name), options)
      : kplus.Volume.fromConfigMap(this.scope, `Volume-${name}`, this.configMap(authority.name), options));
  }

  /**
   * Makes `kubectl logs` and `kubectl exec` pick this container. Every construct calls it once its tool containers
   * are in place, so it also ends the pod with the `kargoNotification` container when one is asked for.
   */
  public setDefaultContainer(name: string): void {
    this.job.podMetadata.addAnnotation('kubectl.kubernetes.io/default-container', this.containerName(name));
    if (this.notification && !this.notifierAdded) {
      this.notifierAdded = true;
      addKargoNotification(this, this.notification);
    }
  }

  /** A container's name under the construct's `containerNaming`: role names map to the classic ones on request. */
  public containerName(name: string): string {
    return this.naming === ContainerNaming.CLASSIC ? CLASSIC_NAMES[name] ?? name : name;
  }

  private volume(name: string, create: () => kplus.Volume): kplus.Volume {
    return once(this.volumes, name, create);
  }
}

/** The value `cache` holds for `key`, made by `create` the first time: each construct id is created once. */
function once<T>(cache: Map<string, T>, key: string, create: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = create();
    cache.set(key, value);
  }
  return value;
}

/** The other Jobs of the app with `job`'s name in `job`'s namespace (Kubernetes would see one object). */
function sameNameJobs(job: ApiObject): ApiObject[] {
  const namespace = job.metadata.namespace ?? '';
  return job.node.root.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c) && c !== job
    && c.kind === job.kind && c.apiVersion === job.apiVersion && c.name === job.name && (c.metadata.namespace ?? '') === namespace);
}

/**
 * Node affinity (`requiredNodeLabels` in one required term, checked against `nodeSelector` and each other;
 * `preferredNodes`) and the anti-affinity of `spreadAcrossNodes`.
 */
function affinityOf(options: ImageJobOptions, nodeSelector: Map<string, string>, component: string): any {
  const required = checkNodeLabels('requiredNodeLabels', options.requiredNodeLabels).map((label, i) => ({ prop: `requiredNodeLabels[${i}]`, label }));
  checkSatisfiable(required, nodeSelector);
  const preferred = (options.preferredNodes ?? []).map((preference, i) => {
    const labels = checkNodeLabels(`preferredNodes[${i}].labels`, preference?.labels);
    if (labels.length === 0) {
      invalid(`preferredNodes[${i}].labels`, labels, 'expected at least one NodeLabel');
    }
    const weight = checkInteger(`preferredNodes[${i}].weight`, preference.weight ?? 100, 1, 100);
    return { weight, preference: { matchExpressions: labels.map(matchExpression) } };
  });
  const affinity: any = {};
  const nodeAffinity: any = {};
  if (required.length > 0) {
    const matchExpressions = required.map(r => matchExpression(r.label));
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchExpressions }] };
  }
  if (preferred.length > 0) {
    nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = preferred;
  }
  if (Object.keys(nodeAffinity).length > 0) {
    affinity.nodeAffinity = nodeAffinity;
  }
  if (options.spreadAcrossNodes) {
    affinity.podAntiAffinity = {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/component': component } } },
      }],
    };
  }
  return Object.keys(affinity).length > 0 ? affinity : undefined;
}

/** A node selector requirement as Kubernetes writes it. */
function matchExpression(label: NodeLabel): any {
  return label.values.length > 0 ? { key: label.key, operator: label.match, values: label.values } : { key: label.key, operator: label.match };
}

function checkNodeLabels(prop: string, labels: NodeLabel[] | undefined): NodeLabel[] {
  if (labels === undefined) {
    return [];
  }
  if (!Array.isArray(labels)) {
    invalid(prop, labels, 'expected a list of NodeLabel.oneOf() / noneOf() / present() / absent()');
  }
  labels.forEach((label, i) => {
    if (!(label instanceof NodeLabel)) {
      invalid(`${prop}[${i}]`, label, 'expected NodeLabel.oneOf(), noneOf(), present() or absent()');
    }
  });
  return labels;
}

/**
 * Refuses required node labels no node could carry together with `nodeSelector` and each other: the values a label
 * may take (nodeSelector's, `ONE_OF`'s), minus those `NONE_OF` excludes, must stay non-empty, and a label cannot be
 * required both absent and present.
 */
function checkSatisfiable(required: { prop: string; label: NodeLabel }[], nodeSelector: Map<string, string>): void {
  const allowed = new Map<string, { by: string; values: string[] }>();
  for (const [key, value] of nodeSelector) {
    allowed.set(key, { by: 'nodeSelector', values: [value] });
  }
  const present = new Map<string, string>();
  for (const { prop, label } of required) {
    if (label.match === NodeLabelMatch.ONE_OF) {
      const before = allowed.get(label.key);
      const values = before ? before.values.filter(v => label.values.includes(v)) : label.values;
      if (values.length === 0) {
        invalid(prop, label.values, `expected to include ${before!.values.map(v => `"${v}"`).join(' or ')}, which ${before!.by} requires: no node could match both`);
      }
      allowed.set(label.key, { by: before ? `${before.by} and ${prop}` : prop, values });
    }
    if (label.match !== NodeLabelMatch.ABSENT) {
      present.set(label.key, present.get(label.key) ?? prop);
    }
  }
  for (const [key] of nodeSelector) {
    present.set(key, present.get(key) ?? 'nodeSelector');
  }
  for (const { prop, label } of required) {
    const values = allowed.get(label.key);
    if (label.match === NodeLabelMatch.NONE_OF && values && values.values.every(v => label.values.includes(v))) {
      invalid(prop, label.values, `expected to leave one of ${values.values.map(v => `"${v}"`).join(', ')}, which ${values.by} requires: no node could match both`);
    }
    if (label.match === NodeLabelMatch.ABSENT && present.has(label.key)) {
      invalid(prop, label.key, `expected a label ${present.get(label.key)} does not require: no node could match both`);
    }
  }
}

/** At most one bundle for every registry, and each listed registry in one bundle only. */
function checkAuthorities(authorities: RegistryCertificateAuthority[]): RegistryCertificateAuthority[] {
  if (!Array.isArray(authorities)) {
    invalid('certificateAuthorities', authorities, 'expected a list of RegistryCertificateAuthority.fromConfigMap() / fromSecret() bundles');
  }
  const owner = new Map<string, number>();
  let everyRegistry: number | undefined;
  authorities.forEach((authority, i) => {
    if (!(authority instanceof RegistryCertificateAuthority)) {
      invalid(`certificateAuthorities[${i}]`, authority, 'expected RegistryCertificateAuthority.fromConfigMap() or fromSecret()');
    }
    if (authority.registries === undefined) {
      if (everyRegistry !== undefined) {
        invalid(`certificateAuthorities[${i}]`, authority.name, `expected registries: certificateAuthorities[${everyRegistry}] is already the bundle for every registry`);
      }
      everyRegistry = i;
    }
    for (const host of authority.registries ?? []) {
      const first = owner.get(registryKey(host));
      if (first !== undefined) {
        invalid(`certificateAuthorities[${i}].registries`, host, `expected each registry in one CA bundle only; it is also in certificateAuthorities[${first}] ("${authorities[first].name}")`);
      }
      owner.set(registryKey(host), i);
    }
  });
  return authorities;
}

/** Env values already escaped for kubelet, whose `$(VAR)` references kubelet is meant to expand. */
const EXPANDED = new WeakSet<kplus.EnvValue>();

/**
 * An env value kubelet expands: `text` must already be escaped (`escapeKubeletExpansion` on every user-supplied
 * part), and its `$(VAR)` references must name variables defined earlier in the same container.
 */
export function expandedEnvValue(text: string): kplus.EnvValue {
  const value = kplus.EnvValue.fromValue(text);
  EXPANDED.add(value);
  return value;
}

/** kubelet expands `$(VAR)` in env values too; `$$` keeps every plain value literal. */
function literal(value: kplus.EnvValue): kplus.EnvValue {
  return typeof value.value === 'string' && !EXPANDED.has(value) ? kplus.EnvValue.fromValue(value.value.replace(/\$/g, '$$$$')) : value;
}

function securityContextOf(profile: ContainerProfile): kplus.ContainerSecurityContextProps {
  const common = {
    privileged: false,
    allowPrivilegeEscalation: false,
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
  switch (profile) {
    case ContainerProfile.PRIVILEGED_BUILDER:
      // Kubernetes refuses allowPrivilegeEscalation: false on a privileged container; seccomp does not apply.
      return { privileged: true, allowPrivilegeEscalation: true, user: 0, group: 0, ensureNonRoot: false, readOnlyRootFilesystem: false };
    case ContainerProfile.ROOTLESS_BUILDER:
      return {
        privileged: false,
        allowPrivilegeEscalation: true,
        seccompProfile: { type: kplus.SeccompProfileType.UNCONFINED },
        user: BUILDKIT_ROOTLESS_ID,
        group: BUILDKIT_ROOTLESS_ID,
        ensureNonRoot: true,
        readOnlyRootFilesystem: false,
      };
    case ContainerProfile.BUILDAH_BUILDER:
      return {
        privileged: false,
        allowPrivilegeEscalation: true,
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
        user: 0,
        group: 0,
        ensureNonRoot: false,
        readOnlyRootFilesystem: false,
        capabilities: { drop: [kplus.Capability.ALL], add: BUILDAH_CAPABILITIES },
      };
    case ContainerProfile.ROOT_BUILDER:
      // kaniko unpacks base images into its own root: root user, writable root filesystem, the runtime's
      // default capabilities (all inside the baseline set).
      return { ...common, user: 0, group: 0, ensureNonRoot: false, readOnlyRootFilesystem: false };
    case ContainerProfile.RESTRICTED:
    default:
      return {
        ...common,
        user: NON_ROOT_ID,
        group: NON_ROOT_ID,
        ensureNonRoot: true,
        readOnlyRootFilesystem: true,
        capabilities: { drop: [kplus.Capability.ALL] },
      };
  }
}
