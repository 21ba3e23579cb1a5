/**
 * Runs one container from a node image with Debian's runc, the way containerd's CRI plugin would for a pod:
 * the image's layer unpacked as the root, the image config's env, user, entrypoint and working directory, each
 * VOLUME a directory of its own seeded from the image, the
 * runtime's default capabilities (or all of them when privileged), masked and read-only /proc paths. The host
 * network namespace is shared, so registries on 127.0.0.1 are reachable.
 */
import { spawn } from 'child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { run } from './rootfs';

/** containerd's default capability set for containers (what a pod gets without `capabilities.add`). */
export const DEFAULT_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP',
  'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];

/** How to run the container. */
export interface ContainerOptions {
  /** Replaces the image's entrypoint and command (as a pod's `command`). */
  readonly command?: string[];
  /** Added to (or overriding) the image's environment. */
  readonly env?: { [name: string]: string };
  /** `uid:gid`; the image's user when unset. */
  readonly user?: string;
  /** Every capability, no masked paths, writable /sys (a `privileged: true` container). */
  readonly privileged?: boolean;
  /** The capabilities (`CHOWN`, …) instead of the runtime's default set, as `drop: [ALL]` + `add` gives them. */
  readonly capabilities?: string[];
  /** Host directories bind-mounted read-write at their container paths. */
  readonly binds?: { [containerPath: string]: string };
  readonly timeoutMs?: number;
}

/** What the container printed and how it ended. */
export interface ContainerResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Capability names by number (linux/capability.h). */
const CAPABILITY_NAMES = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO',
  'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND',
  'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'];

/** Every capability this process may hand on (a privileged container gets all of them). */
function boundingCapabilities(): string[] {
  const bounding = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`).toString(2);
  return CAPABILITY_NAMES.filter((_, bit) => bounding[bounding.length - 1 - bit] === '1');
}

/** uid and gid of `user[:group]` as containerd resolves them: a missing group is the user's in /etc/passwd. */
function userOf(rootfs: string, user: string): [number, number] {
  const [name, group] = user.split(':');
  let passwd: string[][] = [];
  try {
    passwd = readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8').split('\n').map(line => line.split(':'));
  } catch {
    // no /etc/passwd: numeric ids only
  }
  const entry = passwd.find(fields => fields[0] === name || fields[2] === name);
  const uid = /^\d+$/.test(name) ? Number(name) : Number(entry?.[2]);
  const gid = group !== undefined ? Number(group) : Number(entry?.[3] ?? 0);
  if (Number.isNaN(uid) || Number.isNaN(gid)) {
    throw new Error(`user ${user}: not numeric and not in the image's /etc/passwd`);
  }
  return [uid, gid];
}

let sequence = 0;

/** Runs the image of OCI layout `layoutDir` once, in a fresh bundle under `workDir`. */
export async function runContainer(workDir: string, layoutDir: string, options: ContainerOptions = {}): Promise<ContainerResult> {
  const id = `node-images-${process.pid}-${++sequence}`;
  const bundle = join(workDir, id);
  const rootfs = join(bundle, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  const blob = (digest: string) => join(layoutDir, 'blobs', 'sha256', digest.slice(7));
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')).config;
  for (const layer of manifest.layers) {
    run('tar', ['-xzf', blob(layer.digest), '--numeric-owner', '--xattrs', '--xattrs-include=security.capability', '-C', rootfs]);
  }

  // containerd gives each image VOLUME a directory of its own, seeded with the image's content at that path
  const volumeMounts = Object.keys(config.Volumes ?? {}).filter(path => !(path in (options.binds ?? {}))).map((path, i) => {
    const source = join(bundle, 'volumes', String(i));
    mkdirSync(source, { recursive: true });
    if (existsSync(join(rootfs, path))) {
      run('cp', ['-a', `${join(rootfs, path)}/.`, source]);
    }
    return { destination: path, type: 'bind', source, options: ['rbind', 'rw'] };
  });
  const env = new Map<string, string>((config.Env ?? []).map((entry: string) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  env.set('HOSTNAME', 'node-images');
  for (const [name, value] of Object.entries(options.env ?? {})) {
    env.set(name, value);
  }
  const [uid, gid] = userOf(rootfs, options.user ?? config.User ?? '0');
  const capabilities = (options.privileged ? boundingCapabilities() : options.capabilities ?? DEFAULT_CAPABILITIES).map(name => `CAP_${name}`);
  const spec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid, gid },
      args: options.command ?? [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])],
      env: [...env].map(([name, value]) => `${name}=${value}`),
      cwd: config.WorkingDir || '/',
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'node-images',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', options.privileged ? 'rw' : 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', options.privileged ? 'rw' : 'ro'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro'] },
      ...volumeMounts,
      ...Object.entries(options.binds ?? {}).map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'rw'] })),
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      ...(options.privileged ? {} : {
        maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
          '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
        readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      }),
    },
  };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));

  const state = join(workDir, 'runc-state');
  mkdirSync(state, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['--root', state, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', data => { stdout += data; });
    child.stderr.on('data', data => { stderr += data; });
    const timer = setTimeout(() => {
      stderr += `\n[timed out after ${options.timeoutMs ?? 180_000} ms]`;
      run('runc', ['--root', state, 'kill', id, 'KILL']);
    }, options.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', status => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
