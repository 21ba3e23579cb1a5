/**
 * A local Job runner: runs the pod of a synthesized `batch/v1` Job the way a kubelet would, with the
 * real tools and without a cluster. See README.md for what it reproduces and what it does not.
 */
import { spawn, spawnSync } from 'child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'fs';
import { constants } from 'os';
import { dirname, join } from 'path';
import { stopProcess, which } from './fixtures';
import { IMAGE_MAP, ImageProfile, repositoryOf, RootLayout } from './images';
import { capabilitiesOf, expand, quantityBytes, TERMINATION_MESSAGE_POLICIES, terminationMessage } from './kubelet';

/** One process started inside a container (or by the runner to set the container up). */
export interface ProcessRecord {
  readonly pid: number;
  readonly argv: string[];
  /** True for the runner's own setup processes (nsenter, unshare, mount, chroot …) before the container's command. */
  readonly runner: boolean;
}

/** What one container did. */
export interface ContainerResult {
  readonly name: string;
  readonly init: boolean;
  readonly image: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /**
   * The termination message as the kubelet reports it: the tail of `/dev/termination-log` (at most 4096 bytes),
   * or under `FallbackToLogsOnError` the tail of the log when the container failed without writing one.
   */
  readonly terminationMessage: string;
  /** Every execve in the container, in order, from strace. */
  readonly processes: ProcessRecord[];
  /** The resolved environment the command ran with. */
  readonly env: { [name: string]: string };
  readonly durationMs: number;
}

/** A file inside a pod volume, inspected after the pod finished. */
export interface FileStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
}

/** What the pod did. */
export interface PodResult {
  readonly phase: 'Succeeded' | 'Failed';
  /** Containers that ran, in start order; init containers after a failed one do not run. */
  readonly containers: ContainerResult[];
  /** Files requested with `RunOptions.stat`, keyed `volume:path`; absent when the file does not exist. */
  readonly stats: { [key: string]: FileStat };
}

/** Options of one run. */
export interface RunOptions {
  /** Kill a container that runs longer than this. @default 120000 */
  readonly timeoutMs?: number;
  /** Files to inspect in pod volumes after the run, as `[volumeName, pathInVolume]`. */
  readonly stat?: [string, string][];
  /**
   * PersistentVolumeClaims of the fixture "cluster": claim name → a host directory standing for the bound
   * volume. A claim the pod names but this map lacks fails like an unbound claim.
   */
  readonly claims?: { [claimName: string]: string };
  /**
   * CSI drivers of the fixture "cluster": driver name → a function that gets the volume's attributes and
   * returns the files the driver would publish (path → content). The volume is always read-only.
   */
  readonly csiDrivers?: { [driver: string]: (attributes: { [key: string]: string }) => { [path: string]: string | Buffer } };
  /**
   * Called with each chunk a container writes to stderr while it runs (like `kubectl logs -f`), so a test can
   * act on what the pod has done so far, e.g. bring a server up only after a refused attempt was logged.
   */
  readonly onStderr?: (container: string, chunk: string) => void;
}

/** A container of a pod spec (the fields the runner reads). */
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: any }[];
  envFrom?: unknown[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext?: any;
  workingDir?: string;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}

/** A pod volume materialized on the host. */
interface Materialized {
  readonly hostPath: string;
  /** Secret and ConfigMap volumes are always mounted read-only. */
  readonly forceReadOnly: boolean;
}

const SUPPORTED_VOLUMES = ['emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'csi'];

/** The single-quoted sh word for `value`. */
function q(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Runs the pods of synthesized Jobs against Secrets and ConfigMaps given as fixtures. */
export class JobRunner {
  private runs = 0;

  /**
   * @param scratch a directory for pod state (volumes, root filesystems, traces)
   * @param profiles the image stand-ins, from `prepareImages()`
   */
  constructor(private readonly scratch: string, private readonly profiles: { [name: string]: ImageProfile }) {}

  /**
   * Runs the pod of the only Job in `objects`. Secrets and ConfigMaps in `objects` are the cluster's
   * objects its env and volumes refer to.
   */
  public async run(objects: any[], options: RunOptions = {}): Promise<PodResult> {
    const jobs = objects.filter(o => o.kind === 'Job');
    if (jobs.length !== 1) {
      throw new Error(`expected exactly one Job, got ${jobs.length}`);
    }
    const job = jobs[0];
    const spec = job.spec.template.spec;
    const podName = `${job.metadata.name}-${(++this.runs).toString().padStart(5, '0')}`;
    const podDir = join(this.scratch, 'pods', podName);
    mkdirSync(podDir, { recursive: true });
    for (const key of ['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace']) {
      if (spec[key]) {
        throw new Error(`runner does not support spec.${key}`);
      }
    }
    const fsGroup: number | undefined = spec.securityContext?.fsGroup;
    const supplemental: number[] = [...(fsGroup !== undefined ? [fsGroup] : []), ...(spec.securityContext?.supplementalGroups ?? [])];
    const lookup = new ObjectLookup(objects, job.metadata.namespace);
    const volumes = new Map<string, Materialized>();
    const memoryDirs: { path: string; sizeBytes?: number }[] = [];
    for (const volume of spec.volumes ?? []) {
      volumes.set(volume.name, this.materialize(podDir, volume, lookup, fsGroup, memoryDirs, options));
    }

    // The pod sandbox holds the pod's mount namespace, where memory-backed emptyDirs are tmpfs mounts;
    // containers enter it and then unshare their own. Killing it unmounts everything.
    const sandbox = spawn(which('unshare')!, ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', [
      'set -e',
      ...memoryDirs.map(d => `mount -t tmpfs -o ${d.sizeBytes ? `size=${d.sizeBytes},` : ''}mode=1777 emptydir ${q(d.path)}`
        + (fsGroup !== undefined ? ` && chgrp ${fsGroup} ${q(d.path)} && chmod 3777 ${q(d.path)}` : '')),
      'echo ready',
      'exec sleep 86400',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((ok, fail) => {
        sandbox.stdout!.once('data', () => ok());
        sandbox.once('exit', code => fail(new Error(`pod sandbox exited with ${code}`)));
      });

      const containers: ContainerResult[] = [];
      let failed = false;
      for (const c of spec.initContainers ?? []) {
        const result = await this.runContainer(c, true, { podDir, podName, spec, lookup, volumes, supplemental, sandboxPid: sandbox.pid!, options });
        containers.push(result);
        if (result.exitCode !== 0) {
          failed = true;
          break;
        }
      }
      if (!failed) {
        const results = await Promise.all(spec.containers.map((c: Container) =>
          this.runContainer(c, false, { podDir, podName, spec, lookup, volumes, supplemental, sandboxPid: sandbox.pid!, options })));
        containers.push(...results);
        failed = results.some(r => r.exitCode !== 0);
      }
      const stats: { [key: string]: FileStat } = {};
      for (const [volume, path] of options.stat ?? []) {
        const stat = statInSandbox(sandbox.pid!, join(volumes.get(volume)!.hostPath, path));
        if (stat) {
          stats[`${volume}:${path}`] = stat;
        }
      }
      return { phase: failed ? 'Failed' : 'Succeeded', containers, stats };
    } finally {
      await stopProcess(sandbox);
    }
  }

  /** Creates a volume's host directory: emptyDirs as the kubelet lays them out, Secrets and ConfigMaps with their items and modes. */
  private materialize(podDir: string, volume: any, lookup: ObjectLookup, fsGroup: number | undefined,
    memoryDirs: { path: string; sizeBytes?: number }[], options: RunOptions): Materialized {
    const kind = SUPPORTED_VOLUMES.find(k => volume[k] !== undefined);
    if (!kind) {
      throw new Error(`runner does not support volume ${volume.name}: ${JSON.stringify(volume)}`);
    }
    if (kind === 'persistentVolumeClaim') {
      // the bound volume's directory itself (like a hostPath/local PV): data written there persists and is
      // shared; `readOnly` on the volume source makes every mount read-only, as the kubelet does.
      const claimName: string = volume.persistentVolumeClaim.claimName;
      const hostDir = options.claims?.[claimName];
      if (!hostDir) {
        throw new Error(`persistentvolumeclaim "${claimName}" not found (volume ${volume.name}); pass it in RunOptions.claims`);
      }
      return { hostPath: hostDir, forceReadOnly: volume.persistentVolumeClaim.readOnly === true };
    }
    const hostPath = join(podDir, 'volumes', volume.name);
    mkdirSync(hostPath, { recursive: true });
    if (kind === 'emptyDir') {
      if (volume.emptyDir.medium === 'Memory') {
        memoryDirs.push({ path: hostPath, sizeBytes: volume.emptyDir.sizeLimit ? quantityBytes(volume.emptyDir.sizeLimit) : undefined });
      } else {
        // kubelet: emptyDir directories are 0777; with fsGroup, group-owned by it and setgid.
        chmodSync(hostPath, 0o777);
        if (fsGroup !== undefined) {
          chownSync(hostPath, 0, fsGroup);
          chmodSync(hostPath, 0o2777);
        }
      }
      return { hostPath, forceReadOnly: false };
    }
    if (kind === 'csi') {
      // a CSI driver publishes its files into the volume directory; the fixture function plays the driver.
      const publish = options.csiDrivers?.[volume.csi.driver];
      if (!publish) {
        throw new Error(`CSI driver ${volume.csi.driver} is not installed (volume ${volume.name}); pass it in RunOptions.csiDrivers`);
      }
      for (const [path, content] of Object.entries(publish(volume.csi.volumeAttributes ?? {}))) {
        mkdirSync(dirname(join(hostPath, path)), { recursive: true });
        writeFileSync(join(hostPath, path), content, { mode: 0o644 });
      }
      chmodSync(hostPath, 0o755);
      return { hostPath, forceReadOnly: volume.csi.readOnly === true };
    }
    const source = volume[kind];
    const object = kind === 'secret' ? lookup.secret(source.secretName) : lookup.configMap(source.name);
    const data = object.data;
    const defaultMode: number = source.defaultMode ?? 0o644;
    const items: { key: string; path: string; mode?: number }[] = source.items
      ?? Object.keys(data).map(key => ({ key, path: key }));
    // kubelet's atomic writer: files in a timestamped directory, `..data` pointing at it, and a symlink
    // per top-level entry; with fsGroup every file is group-owned by it and at least group-readable.
    const stamp = `..${new Date().toISOString().replace(/[-:T]/g, '_').replace('Z', '')}`;
    for (const item of items) {
      if (!(item.key in data)) {
        throw new Error(`couldn't find key ${item.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${object.name}`);
      }
      const file = join(hostPath, stamp, item.path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
      writeFileSync(file, data[item.key]);
      // eslint-disable-next-line no-bitwise
      chmodSync(file, (item.mode ?? defaultMode) | (fsGroup !== undefined ? 0o440 : 0));
      chownSync(file, 0, fsGroup ?? 0);
    }
    chmodSync(join(hostPath, stamp), fsGroup !== undefined ? 0o2755 : 0o755);
    chownSync(join(hostPath, stamp), 0, fsGroup ?? 0);
    symlinkSync(stamp, join(hostPath, '..data'));
    for (const top of new Set(items.map(i => i.path.split('/')[0]))) {
      symlinkSync(join('..data', top), join(hostPath, top));
    }
    chmodSync(hostPath, 0o1777);
    return { hostPath, forceReadOnly: true };
  }

  private async runContainer(c: Container, init: boolean, pod: PodContext): Promise<ContainerResult> {
    for (const key of ['envFrom', 'workingDir'] as const) {
      if (c[key] !== undefined) {
        throw new Error(`runner does not support ${key} (container ${c.name})`);
      }
    }
    if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
      throw new Error(`runner does not support terminationMessagePolicy ${c.terminationMessagePolicy} (container ${c.name})`);
    }
    const profileName = IMAGE_MAP[repositoryOf(c.image)];
    const profile = this.profiles[profileName];
    if (!profile) {
      throw new Error(`no local stand-in for image ${c.image} (container ${c.name}); known: ${Object.keys(IMAGE_MAP).join(', ')}`);
    }
    const dir = join(pod.podDir, 'containers', c.name);
    mkdirSync(join(dir, 'rootfs'), { recursive: true });

    // environment: the container's list in order, each value expanded against the ones before it.
    const defined = new Map<string, string>();
    for (const e of c.env ?? []) {
      defined.set(e.name, e.value !== undefined ? expand(e.value, defined) : pod.lookup.valueFrom(e.valueFrom, c.name, pod.podName));
    }
    const env: { [name: string]: string } = { ...profile.env, HOSTNAME: pod.podName, ...Object.fromEntries(defined) };
    if (!('HOME' in env)) {
      env.HOME = '/';
    }
    if (!c.command) {
      throw new Error(`container ${c.name} has no command; the runner does not know image entrypoints`);
    }
    const argv = [...c.command, ...(c.args ?? [])].map(a => expand(a, defined));

    // security context: the container's fields over the pod's, then the image's user.
    const sc = { ...pod.spec.securityContext, ...c.securityContext };
    // privileged: every capability the host grants (devices, AppArmor and seccomp are not modelled here).
    const privileged = sc.privileged === true;
    const uid: number = sc.runAsUser ?? profile.user;
    const gid: number = sc.runAsGroup ?? profile.group;
    if (sc.runAsNonRoot && uid === 0) {
      throw new Error(`container ${c.name}: container has runAsNonRoot and image will run as root`);
    }
    const capabilities = capabilitiesOf(sc.capabilities);

    const terminationLog = join(dir, 'termination-log');
    writeFileSync(terminationLog, '');
    chmodSync(terminationLog, 0o666);
    const mounts = (c.volumeMounts ?? []).map(m => {
      if (m.subPath) {
        throw new Error(`runner does not support subPath (${c.name} ${m.mountPath})`);
      }
      const volume = pod.volumes.get(m.name);
      if (!volume) {
        throw new Error(`container ${c.name} mounts unknown volume ${m.name}`);
      }
      return { source: volume.hostPath, target: m.mountPath, readOnly: volume.forceReadOnly || m.readOnly === true };
    }).sort((a, b) => a.target.length - b.target.length);

    const setup = join(dir, 'setup.sh');
    writeFileSync(setup, rootfsScript({
      root: join(dir, 'rootfs'),
      profile,
      mounts,
      terminationLog,
      terminationPath: c.terminationMessagePath ?? '/dev/termination-log',
      readOnlyRoot: sc.readOnlyRootFilesystem === true,
      exec: [
        '/dev/.setpriv', `--reuid=${uid}`, `--regid=${gid}`,
        ...(pod.supplemental.length > 0 ? [`--groups=${[...new Set(pod.supplemental)].join(',')}`] : ['--clear-groups']),
        privileged ? '--bounding-set=+all' : `--bounding-set=-all${capabilities.map(cap => `,+${cap.toLowerCase()}`).join('')}`,
        ...(sc.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
        '--',
      ],
    }));

    const trace = join(dir, 'strace.log');
    const started = Date.now();
    const child = spawn(which('strace')!, [
      '-f', '-qq', '--seccomp-bpf', '-e', 'trace=execve,execveat', '-e', 'signal=none', '-xx', '-s', '1048576', '-o', trace, '--',
      which('nsenter')!, `--target=${pod.sandboxPid}`, '--mount', '--',
      which('unshare')!, '--mount', '--propagation', 'private', '--pid', '--fork', '--ipc', '--uts', '--',
      '/bin/sh', setup, ...argv,
    ], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    // the container log: both streams in the order they were written
    const log: Buffer[] = [];
    child.stdout!.on('data', d => {
      stdout.push(d);
      log.push(d);
    });
    child.stderr!.on('data', d => {
      stderr.push(d);
      log.push(d);
      pod.options.onStderr?.(c.name, d.toString());
    });
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), pod.options.timeoutMs ?? 120000);
    const exitCode = await new Promise<number>(ok => child.once('close', (code, signal) => ok(code ?? 128 + (signal ? constants.signals[signal] : 0))));
    clearTimeout(timer);

    return {
      name: c.name,
      init,
      image: c.image,
      exitCode,
      stdout: Buffer.concat(stdout).toString(),
      stderr: Buffer.concat(stderr).toString(),
      terminationMessage: terminationMessage(readFileSync(terminationLog), c.terminationMessagePolicy, exitCode, Buffer.concat(log)),
      processes: parseTrace(readFileSync(trace, 'utf8')),
      env,
      durationMs: Date.now() - started,
    };
  }
}

interface PodContext {
  readonly podDir: string;
  readonly podName: string;
  readonly spec: any;
  readonly lookup: ObjectLookup;
  readonly volumes: Map<string, Materialized>;
  readonly supplemental: number[];
  readonly sandboxPid: number;
  readonly options: RunOptions;
}

/** Secrets and ConfigMaps of the fixture "cluster", decoded. */
class ObjectLookup {
  constructor(private readonly objects: any[], private readonly namespace: string | undefined) {}

  public secret(name: string): { name: string; data: { [key: string]: Buffer } } {
    const secret = this.find('Secret', name);
    return {
      name,
      data: {
        ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64')])),
        ...Object.fromEntries(Object.entries(secret.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v as string)])),
      },
    };
  }

  public configMap(name: string): { name: string; data: { [key: string]: Buffer } } {
    const map = this.find('ConfigMap', name);
    return {
      name,
      data: {
        ...Object.fromEntries(Object.entries(map.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string)])),
        ...Object.fromEntries(Object.entries(map.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64')])),
      },
    };
  }

  /** An env var's `valueFrom`: Secret and ConfigMap keys, and the downward-API pod fields. */
  public valueFrom(from: any, container: string, podName: string): string {
    if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = from.secretKeyRef ?? from.configMapKeyRef;
      const object = from.secretKeyRef ? this.secret(ref.name) : this.configMap(ref.name);
      if (!(ref.key in object.data)) {
        throw new Error(`container ${container}: couldn't find key ${ref.key} in ${from.secretKeyRef ? 'Secret' : 'ConfigMap'} ${ref.name}`);
      }
      return object.data[ref.key].toString();
    }
    if (from.fieldRef) {
      const fields: { [path: string]: string } = {
        'metadata.name': podName,
        'metadata.namespace': this.namespace ?? 'default',
        'spec.nodeName': 'local-runner',
        'status.podIP': '127.0.0.1',
      };
      const value = fields[from.fieldRef.fieldPath];
      if (value === undefined) {
        throw new Error(`runner does not support fieldRef ${from.fieldRef.fieldPath}`);
      }
      return value;
    }
    throw new Error(`runner does not support valueFrom ${JSON.stringify(from)} (container ${container})`);
  }

  private find(kind: string, name: string): any {
    const found = this.objects.find(o => o.kind === kind && o.metadata?.name === name);
    if (!found) {
      throw new Error(`${kind.toLowerCase()} "${name}" not found`);
    }
    return found;
  }
}

/** The shell that builds a container's root filesystem inside its new mount namespace and execs the command. */
function rootfsScript(o: {
  root: string;
  profile: ImageProfile;
  mounts: { source: string; target: string; readOnly: boolean }[];
  terminationLog: string;
  terminationPath: string;
  readOnlyRoot: boolean;
  exec: string[];
}): string {
  const r = (path: string) => q(`${o.root}${path}`);
  const bind = (source: string, target: string, readOnly: boolean, file = false) => [
    file ? `: > ${r(target)}` : `/usr/bin/mkdir -p ${r(target)}`,
    `/usr/bin/mount --bind ${q(source)} ${r(target)}`,
    ...(readOnly ? [`/usr/bin/mount -o remount,bind,ro ${r(target)}`] : []),
  ];
  const lines = [
    'set -eu',
    `/usr/bin/mount -t tmpfs -o mode=0755 rootfs ${q(o.root)}`,
    `/usr/bin/mkdir -p ${r('/usr')} ${r('/proc')} ${r('/dev')} ${r('/tmp')} ${r('/var/tmp')} ${r('/root')} ${r('/run')}`,
    `/usr/bin/chmod 1777 ${r('/tmp')} ${r('/var/tmp')}`,
    ...bind('/usr', '/usr', true),
    `/usr/bin/ln -s usr/lib ${r('/lib')}`,
    `/usr/bin/ln -s usr/lib64 ${r('/lib64')}`,
  ];
  if (o.profile.layout === RootLayout.DEBIAN_BASH) {
    lines.push(`/usr/bin/ln -s usr/bin ${r('/bin')}`, `/usr/bin/ln -s usr/sbin ${r('/sbin')}`);
    // /bin/sh is bash, as on the Fedora-based skopeo image (Debian's /usr/bin/sh points at dash).
    lines.push(...bind('/usr/bin/bash', '/usr/bin/dash', true, true).slice(1));
  } else {
    lines.push(`/usr/bin/ln -s bin ${r('/sbin')}`);
  }
  for (const [target, source] of Object.entries(o.profile.binds).sort(([a], [b]) => a.length - b.length)) {
    if (target === '/etc') {
      // a copy, not a bind: like an image layer it is writable unless readOnlyRootFilesystem, and volumes can be
      // mounted below it (/etc/buildkit), the runtime creating their mount points.
      lines.push(`/usr/bin/cp -a ${q(`${source}/.`)} ${r('/etc')}`);
      continue;
    }
    lines.push(...bind(source, target, true, statSync(source).isFile()));
  }
  lines.push(
    `/usr/bin/mount -t proc proc ${r('/proc')}`,
    // every non-privileged container gets a read-only sysfs (runc's default mounts); buildah bind-mounts it into RUN steps.
    `/usr/bin/mkdir -p ${r('/sys')}`,
    `/usr/bin/mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${r('/sys')}`,
    `/usr/bin/mount -t tmpfs -o mode=0755,nosuid dev ${r('/dev')}`,
  );
  for (const device of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    lines.push(...bind(`/dev/${device}`, `/dev/${device}`, false, true));
  }
  lines.push(
    `/usr/bin/ln -s /proc/self/fd ${r('/dev/fd')}`,
    `/usr/bin/ln -s /proc/self/fd/0 ${r('/dev/stdin')}`,
    `/usr/bin/ln -s /proc/self/fd/1 ${r('/dev/stdout')}`,
    `/usr/bin/ln -s /proc/self/fd/2 ${r('/dev/stderr')}`,
    `/usr/bin/mkdir ${r('/dev/shm')}`,
    `/usr/bin/mount -t tmpfs -o mode=1777,nosuid,nodev shm ${r('/dev/shm')}`,
    // the runner's setpriv, where no image path can shadow it.
    ...bind('/usr/bin/setpriv', '/dev/.setpriv', true, true),
    ...bind(o.terminationLog, o.terminationPath, false, true),
  );
  for (const m of o.mounts) {
    lines.push(...bind(m.source, m.target, m.readOnly));
  }
  if (o.readOnlyRoot) {
    lines.push(`/usr/bin/mount -o remount,ro ${q(o.root)}`);
  }
  lines.push(`exec /usr/sbin/chroot ${q(o.root)} ${o.exec.map(q).join(' ')} "$@"`);
  return lines.join('\n') + '\n';
}

/** `stat` of a path inside the pod sandbox's mount namespace (where memory-backed emptyDirs live). */
function statInSandbox(sandboxPid: number, path: string): FileStat | undefined {
  const result = spawnSync(which('nsenter')!, [`--target=${sandboxPid}`, '--mount', '--', '/usr/bin/stat', '-c', '%f %u %g %s', path], { encoding: 'utf8' });
  if (result.status !== 0) {
    return undefined;
  }
  const [mode, uid, gid, size] = result.stdout.trim().split(' ');
  // eslint-disable-next-line no-bitwise
  return { mode: parseInt(mode, 16) & 0o7777, uid: Number(uid), gid: Number(gid), size: Number(size) };
}

/**
 * The argv of every execve in an `strace -f -xx` log. Everything up to and including the exec of the
 * runner's setpriv is setup; what setpriv execs, and everything after, is the container's.
 */
export function parseTrace(log: string): ProcessRecord[] {
  const records: ProcessRecord[] = [];
  let inContainer = false;
  let afterSetpriv = false;
  for (const line of log.split('\n')) {
    const match = /^(\d+)\s+execve(?:at)?\(.*?\[((?:"(?:\\x[0-9a-f]{2})*"(?:, )?)*)(?:\.\.\.)?\]/.exec(line);
    if (!match) {
      continue;
    }
    const argv = [...match[2].matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map(m => Buffer.from(m[1].replace(/\\x/g, ''), 'hex').toString());
    if (afterSetpriv) {
      inContainer = true;
    }
    records.push({ pid: Number(match[1]), argv, runner: !inContainer });
    if (argv[0] === '/dev/.setpriv' && !inContainer) {
      afterSetpriv = true;
    }
  }
  return records;
}
