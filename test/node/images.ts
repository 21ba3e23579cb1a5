/**
 * The tool images the node tier's containerd pulls: the default images of `ToolImages`, rebuilt from this
 * machine's Debian packages and from the real kaniko and BuildKit binaries, laid out as the upstream images
 * are (see "Images for the node tier" in test/e2e/README.md), and pushed to a plain-http registry.
 */
import { existsSync, readFileSync, rmSync } from 'fs';
import { dirname, join } from 'path';
import { ImageConfig, pushOciImage, writeOciImage } from './oci-image';
import { Rootfs, hostProgram } from './rootfs';
import { ToolImages } from '../../src';
import { repositoryOf } from '../e2e/images';

/** The local image (`host/repo@sha256:…`) standing for each default tool image, plus two test images. */
export interface NodeImages {
  /** `ToolImages.DOWNLOAD_HELPER` (curlimages/curl). */
  readonly curl: string;
  /** `ToolImages.SKOPEO` (quay.io/skopeo/stable). */
  readonly skopeo: string;
  /** `ToolImages.BUILDAH` (quay.io/buildah/stable). */
  readonly buildah: string;
  /** `ToolImages.KANIKO` (and the archived upstream executor). */
  readonly kaniko: string;
  /** `ToolImages.KANIKO_DEBUG`. */
  readonly kanikoDebug: string;
  /** `ToolImages.BUILDKIT`. */
  readonly buildkit: string;
  /** `ToolImages.BUILDKIT_ROOTLESS`. */
  readonly buildkitRootless: string;
  /** The unified tools image of `images/unified-tools/Dockerfile`. */
  readonly unified: string;
  /** A sandbox ("pause") image for containerd: sleeps until SIGTERM. */
  readonly pause: string;
  /** busybox, a `FROM` for test Dockerfiles. */
  readonly busybox: string;
}

/** Options of `buildNodeImages`. */
export interface NodeImagesOptions {
  /** PEM certificates every image trusts besides the host's bundle (a test CA). */
  readonly extraCaCertificates?: string;
  /** Build and push only these images (the others are absent from the result). @default every image */
  readonly only?: (keyof NodeImages)[];
  /** A network namespace (`/proc/PID/ns/net` or `/run/netns/NAME`) from which the registry is reachable. */
  readonly netns?: string;
}

/** The repository of the unified tools image in the e2e and node tests (`UnifiedImageJob.toolsImage`). */
export const UNIFIED_TOOLS_REPOSITORY = 'harbor.example.com/platform/unified-tools';

const ALPINE_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const FEDORA_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const POLICY_JSON = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { 'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] } } }, null, 2) + '\n';
/** Packages that give the Fedora-based images a shell and the usual utilities (`/bin/sh` is bash, as on Fedora). */
const DEBIAN_BASE = ['bash', 'coreutils', 'grep', 'sed', 'findutils', 'tar', 'gzip', 'mawk'];

/** The path of a binary named by an environment variable; fails naming the variable. */
export function binaryFromEnv(name: string): string {
  const path = process.env[name];
  if (!path) {
    throw new Error(`${name} is not set: it must name the file of that program (see test/e2e/README.md, "Images for the node tier")`);
  }
  if (!existsSync(path)) {
    throw new Error(`${name}=${path}: no such file`);
  }
  return path;
}

/**
 * Builds every tool image, pushes it to `registryHost` (plain http) under `node-images/<name>` and returns
 * the references by digest. `workDir` keeps the root filesystems and layouts; a second build in the same
 * directory reuses compressed layers whose content did not change.
 */
export async function buildNodeImages(registryHost: string, workDir: string, options: NodeImagesOptions = {}): Promise<NodeImages> {
  const kanikoExecutor = binaryFromEnv('KANIKO_EXECUTOR');
  const buildkitd = binaryFromEnv('BUILDKITD');
  const buildctl = binaryFromEnv('BUILDCTL');
  const daemonless = join(dirname(buildctl), 'buildctl-daemonless.sh');
  if (!existsSync(daemonless)) {
    throw new Error(`BUILDCTL=${buildctl}: buildctl-daemonless.sh must be next to it (${daemonless} is missing)`);
  }
  const busybox = hostProgram('busybox', 'busybox');
  for (const [program, pkg] of [['curl', 'curl'], ['skopeo', 'skopeo'], ['buildah', 'buildah'], ['runc', 'runc'], ['rootlesskit', 'rootlesskit'], ['newuidmap', 'uidmap'], ['patchelf', 'patchelf'], ['setcap', 'libcap2-bin']]) {
    hostProgram(program, pkg);
  }
  const caBundle = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') + (options.extraCaCertificates ?? '');

  const images: { [name: string]: { fill: (root: Rootfs) => void; config: ImageConfig } } = {};

  // busybox as Alpine lays it out: /bin/busybox with a link per applet; the dynamic loader and libc next to it.
  const busyboxRoot = (root: Rootfs, passwd: string, group: string) => {
    root.copyWithLibraries({ '/bin/busybox': busybox });
    root.installBusyboxApplets('/bin/busybox', '/bin');
    for (const dir of ['/usr/bin', '/usr/sbin', '/sbin', '/usr/local/bin', '/root', '/var', '/run']) {
      root.mkdir(dir);
    }
    root.mkdir('/tmp', 0o1777);
    root.write('/etc/passwd', passwd);
    root.write('/etc/group', group);
    root.write('/etc/hosts', '127.0.0.1 localhost\n');
    root.write('/etc/ssl/certs/ca-certificates.crt', caBundle);
  };
  const alpineUsers = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n';
  const alpineGroups = 'root:x:0:\nnogroup:x:65534:\n';

  images.busybox = {
    fill: root => busyboxRoot(root, alpineUsers, alpineGroups),
    config: { env: [ALPINE_PATH], cmd: ['sh'] },
  };
  // PID 1 ignores SIGTERM unless it handles it: the trap ends the sandbox at once.
  images.pause = {
    fill: images.busybox.fill,
    config: { env: [ALPINE_PATH], entrypoint: ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'] },
  };
  // curlimages/curl: Alpine, curl in /usr/bin, user curl_user (100:101), CURL_CA_BUNDLE=/cacert.pem.
  images.curl = {
    fill: root => {
      busyboxRoot(root, `${alpineUsers}curl_user:x:100:101:curl:/home/curl_user:/sbin/nologin\n`, `${alpineGroups}curl_group:x:101:\n`);
      root.copyWithLibraries({ '/usr/bin/curl': hostProgram('curl', 'curl') });
      root.write('/cacert.pem', caBundle);
      root.mkdir('/home/curl_user');
      root.chown('/home/curl_user', 100, 101);
      root.write('/entrypoint.sh', '#!/bin/sh\nset -e\nif [ "${1#-}" != "$1" ]; then set -- curl "$@"; fi\nexec "$@"\n', 0o755);
    },
    config: { env: [ALPINE_PATH, 'CURL_CA_BUNDLE=/cacert.pem'], user: '100', entrypoint: ['/entrypoint.sh'], cmd: ['curl'], workingDir: '/home/curl_user' },
  };

  // quay.io/skopeo/stable and quay.io/buildah/stable: Fedora with the distribution's tool; here Debian's.
  const fedoraLike = (root: Rootfs, packages: string[], users: string, groups: string) => {
    root.usrMerge();
    const files = root.copyDebianPackages([...DEBIAN_BASE, ...packages]);
    root.copyLibraries(files.filter(file => /\/(s?bin|libexec)\//.test(file)));
    root.symlink('bash', '/usr/bin/sh');
    for (const dir of ['/root', '/var/tmp', '/run', '/etc/containers']) {
      root.mkdir(dir);
    }
    root.mkdir('/tmp', 0o1777);
    root.write('/etc/passwd', `root:x:0:0:root:/root:/bin/bash\n${users}`);
    root.write('/etc/group', `root:x:0:\n${groups}`);
    root.write('/etc/hosts', '127.0.0.1 localhost\n');
    root.write('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
    root.write('/etc/ssl/certs/ca-certificates.crt', caBundle);
    root.write('/etc/containers/policy.json', POLICY_JSON);
  };
  images.skopeo = {
    fill: root => {
      fedoraLike(root, ['skopeo', 'golang-github-containers-image'], 'skopeo:x:1000:1000::/home/skopeo:/bin/bash\n', 'skopeo:x:1000:\n');
      root.write('/etc/subuid', 'skopeo:100000:65536\n');
      root.write('/etc/subgid', 'skopeo:100000:65536\n');
    },
    config: { env: [FEDORA_PATH, 'container=oci', '_CONTAINERS_USERNS_CONFIGURED='], entrypoint: ['/usr/bin/skopeo'], volumes: ['/var/lib/containers'] },
  };
  images.buildah = {
    fill: root => {
      fedoraLike(root, ['buildah', 'golang-github-containers-image', 'golang-github-containers-common'], 'build:x:1000:1000::/home/build:/bin/bash\n', 'build:x:1000:\n');
      root.write('/etc/subuid', 'build:1:999\nbuild:1001:64535\n');
      root.write('/etc/subgid', 'build:1:999\nbuild:1001:64535\n');
      root.mkdir('/var/lib/containers');
    },
    config: { env: [FEDORA_PATH, 'container=oci', 'BUILDAH_ISOLATION=chroot', '_BUILDAH_STARTED_IN_USERNS='], cmd: ['/bin/bash'], volumes: ['/var/lib/containers'] },
  };

  // ghcr.io/osscontainertools/kaniko (deploy/Dockerfile): FROM scratch, /kaniko world-writable with the
  // executor, CA bundle and .docker; /etc/nsswitch.conf; no credential helpers here.
  const kanikoEnv = ['HOME=/root', 'USER=root', 'PATH=/usr/local/bin:/kaniko', 'SSL_CERT_DIR=/kaniko/ssl/certs',
    'DOCKER_CONFIG=/kaniko/.docker/', 'DOCKER_CREDENTIAL_GCR_CONFIG=/kaniko/.config/gcloud/docker_credential_gcr_config.json'];
  const kanikoRoot = (root: Rootfs) => {
    root.mkdir('/kaniko', 0o777);
    root.copyFile(kanikoExecutor, '/kaniko/executor');
    root.write('/kaniko/ssl/certs/ca-certificates.crt', caBundle);
    root.mkdir('/kaniko/.docker');
    root.write('/etc/nsswitch.conf', 'hosts: files dns\n');
    root.mkdir('/workspace');
  };
  images.kaniko = {
    fill: kanikoRoot,
    config: { env: kanikoEnv, entrypoint: ['/kaniko/executor'], workingDir: '/workspace' },
  };
  // the -debug variant: busybox in /busybox (a VOLUME, so kaniko leaves it alone), /bin/sh -> /busybox/sh.
  // Upstream copies busybox:musl (static); here Debian's busybox is made self-contained with patchelf.
  const kanikoDebugRoot = (root: Rootfs) => {
    kanikoRoot(root);
    root.copySelfContained('/busybox', [busybox]);
    root.installBusyboxApplets('/busybox/busybox', '/busybox');
    root.symlink('/busybox/sh', '/bin/sh');
  };
  const kanikoDebugEnv = kanikoEnv.map(entry => entry.startsWith('PATH=') ? 'PATH=/usr/local/bin:/kaniko:/busybox' : entry);
  images.kanikoDebug = {
    fill: kanikoDebugRoot,
    config: { env: kanikoDebugEnv, entrypoint: ['/kaniko/executor'], workingDir: '/workspace', volumes: ['/busybox'] },
  };
  // images/unified-tools/Dockerfile: the debug image plus busybox applets, skopeo and curl in /kaniko/tools/bin
  // (static upstream; self-contained here) and skopeo's policy.
  images.unified = {
    fill: root => {
      kanikoDebugRoot(root);
      root.copySelfContained('/kaniko/tools/bin', [busybox, hostProgram('skopeo', 'skopeo'), hostProgram('curl', 'curl')]);
      root.installBusyboxApplets('/kaniko/tools/bin/busybox', '/kaniko/tools/bin');
      root.write('/kaniko/tools/policy.json', readFileSync(join(__dirname, '..', '..', 'images', 'unified-tools', 'policy.json')));
    },
    config: {
      env: [...kanikoDebugEnv.filter(entry => !entry.startsWith('PATH=') && !entry.startsWith('SSL_CERT_DIR=')),
        'PATH=/kaniko/tools/bin:/kaniko:/busybox', 'SKOPEO_POLICY=/kaniko/tools/policy.json', 'SSL_CERT_DIR=/kaniko/ssl/certs',
        'CURL_CA_BUNDLE=/kaniko/ssl/certs/ca-certificates.crt'],
      entrypoint: ['/kaniko/tools/bin/sh'],
      workingDir: '/workspace',
      volumes: ['/busybox'],
    },
  };

  // moby/buildkit: Alpine, buildkitd, buildctl, buildctl-daemonless.sh and buildkit-runc (runc) in /usr/bin.
  const buildkitRoot = (root: Rootfs, passwd: string, group: string) => {
    busyboxRoot(root, passwd, group);
    root.copyFile(buildkitd, '/usr/bin/buildkitd');
    root.copyFile(buildctl, '/usr/bin/buildctl');
    root.copyFile(daemonless, '/usr/bin/buildctl-daemonless.sh');
    root.copyWithLibraries({ '/usr/bin/buildkit-runc': hostProgram('runc', 'runc') });
    // moby/buildkit also ships BuildKit's own QEMU helpers (tonistiigi/binfmt's buildkit build) as
    // /usr/bin/buildkit-qemu-<arch>, which run a foreign platform's RUN steps when binfmt_misc does not cover it;
    // here Debian's static qemu-aarch64 stands for the aarch64 one
    root.copyFile(hostProgram('qemu-aarch64-static', 'qemu-user-static'), '/usr/bin/buildkit-qemu-aarch64');
    root.mkdir('/var/lib/buildkit');
  };
  images.buildkit = {
    fill: root => buildkitRoot(root, alpineUsers, alpineGroups),
    config: { env: [ALPINE_PATH, 'BUILDKIT_SETUP_CGROUPV2_ROOT=1'], entrypoint: ['buildkitd'], volumes: ['/var/lib/buildkit'] },
  };
  // moby/buildkit:*-rootless: user 1000 with subordinate ids, rootlesskit and newuidmap/newgidmap.
  images.buildkitRootless = {
    fill: root => {
      buildkitRoot(root, `${alpineUsers}user:x:1000:1000:Linux User,,,:/home/user:/bin/sh\n`, `${alpineGroups}user:x:1000:\n`);
      root.copyWithLibraries({
        '/usr/bin/rootlesskit': hostProgram('rootlesskit', 'rootlesskit'),
        '/usr/bin/newuidmap': hostProgram('newuidmap', 'uidmap'),
        '/usr/bin/newgidmap': hostProgram('newgidmap', 'uidmap'),
      });
      // file capabilities, as Fedora ships them, instead of Debian's setuid root: Debian's newuidmap (shadow
      // 4.13) opens uid_map while still euid 0, so the kernel then wants CAP_SYS_ADMIN, which a pod lacks.
      root.setFileCapability('/usr/bin/newuidmap', 'cap_setuid=ep');
      root.setFileCapability('/usr/bin/newgidmap', 'cap_setgid=ep');
      root.write('/etc/subuid', 'user:100000:65536\n');
      root.write('/etc/subgid', 'user:100000:65536\n');
      for (const dir of ['/run/user/1000', '/home/user/.local/tmp', '/home/user/.local/share/buildkit']) {
        root.mkdir(dir);
      }
      root.chmod('/run/user/1000', 0o700);
      for (const dir of ['/run/user/1000', '/home/user', '/home/user/.local', '/home/user/.local/tmp', '/home/user/.local/share', '/home/user/.local/share/buildkit']) {
        root.chown(dir, 1000, 0);
      }
    },
    config: {
      env: [ALPINE_PATH, 'HOME=/home/user', 'USER=user', 'XDG_RUNTIME_DIR=/run/user/1000', 'TMPDIR=/home/user/.local/tmp',
        'BUILDKIT_HOST=unix:///run/user/1000/buildkit/buildkitd.sock'],
      user: '1000:1000',
      entrypoint: ['rootlesskit', 'buildkitd'],
      volumes: ['/home/user/.local/share/buildkit'],
    },
  };

  // Root filesystems are filled one after another; packing (tar, gzip) and pushing run two at a time.
  const result: { [name: string]: string } = {};
  const packing: Promise<void>[] = [];
  const selected = Object.entries(images).filter(([name]) => !options.only || options.only.includes(name as keyof NodeImages));
  for (const [name, image] of selected) {
    const dir = join(workDir, name);
    rmSync(join(dir, 'rootfs'), { recursive: true, force: true });
    const root = new Rootfs(join(dir, 'rootfs'));
    image.fill(root);
    const previous = packing.length >= 2 ? packing[packing.length - 2].catch(() => undefined) : Promise.resolve();
    packing.push(previous.then(async () => {
      const layout = await writeOciImage(root.dir, join(dir, 'oci'), image.config);
      const repository = `${registryHost}/node-images/${name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`;
      result[name] = `${repository}@${await pushOciImage(layout, `${repository}:latest`, options.netns)}`;
    }));
  }
  await Promise.all(packing);
  // the result lists the images in a fixed order whatever order the pushes finished in
  return Object.fromEntries(selected.map(([name]) => [name, result[name]])) as unknown as NodeImages;
}

/** The node image standing for an image reference of the synthesized objects; throws naming an unknown one. */
export function nodeImageFor(image: string, images: NodeImages): string {
  const repository = repositoryOf(image);
  const tag = /:([^/@]+)(@|$)/.exec(image.slice(image.lastIndexOf('/')))?.[1] ?? '';
  const defaults: { [repository: string]: string } = {
    [repositoryOf(ToolImages.DOWNLOAD_HELPER)]: images.curl,
    [repositoryOf(ToolImages.SKOPEO)]: images.skopeo,
    [repositoryOf(ToolImages.BUILDAH)]: images.buildah,
    [repositoryOf(ToolImages.KANIKO)]: tag.endsWith('-debug') ? images.kanikoDebug : images.kaniko,
    [repositoryOf(ToolImages.KANIKO_UPSTREAM_ARCHIVED)]: tag.endsWith('-debug') ? images.kanikoDebug : images.kaniko,
    [repositoryOf(ToolImages.BUILDKIT)]: tag.endsWith('-rootless') ? images.buildkitRootless : images.buildkit,
    [UNIFIED_TOOLS_REPOSITORY]: images.unified,
  };
  const local = defaults[repository];
  if (!local) {
    throw new Error(`rewriteImages: no node image for ${image} (known repositories: ${Object.keys(defaults).join(', ')})`);
  }
  return local;
}

/**
 * Copies the synthesized objects with every container `image` (containers, init and ephemeral containers, at
 * any depth: Job, CronJob, Pod templates) replaced by its node image. Nothing else changes.
 */
export function rewriteImages(objects: any[], images: NodeImages): any[] {
  const rewrite = (value: any): any => {
    if (Array.isArray(value)) {
      return value.map(rewrite);
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const copy: any = {};
    for (const [key, child] of Object.entries(value)) {
      if (['containers', 'initContainers', 'ephemeralContainers'].includes(key) && Array.isArray(child)) {
        copy[key] = child.map((container: any) => ({
          ...rewrite(container),
          ...(typeof container.image === 'string' ? { image: nodeImageFor(container.image, images) } : {}),
        }));
      } else {
        copy[key] = rewrite(child);
      }
    }
    return copy;
  };
  return objects.map(rewrite);
}
