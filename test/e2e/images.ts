/**
 * The tool images the constructs reference, mapped to the Debian tools of the same programs (no image
 * is pulled). Each profile lays out a root filesystem from the host's read-only `/usr` plus a few
 * prepared directories, and carries the image's environment and default user. See README.md.
 */
import { spawnSync } from 'child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { which } from './fixtures';
import { TestImage, writeOciLayout } from './oci';
import { ParsedFlag } from '../../src/_tool-flags';

/** How a profile's root filesystem is assembled (see `rootfsScript` in runner.ts). */
export enum RootLayout {
  /** Debian's `/usr` with `/bin/sh` = bash (as on Fedora-based images). */
  DEBIAN_BASH = 'debian-bash',
  /** Alpine-like: `/bin` = busybox applets, `/usr/bin` = curl only, libraries from Debian's `/usr/lib`. */
  BUSYBOX_CURL = 'busybox-curl',
}

/** A stand-in for one tool image. */
export interface ImageProfile {
  readonly name: string;
  readonly layout: RootLayout;
  /** The image config's environment. */
  readonly env: { [name: string]: string };
  /** The image config's user and group when the pod does not set them. */
  readonly user: number;
  readonly group: number;
  /** Extra read-only directories or files bind-mounted into the root, keyed by their path in the container. */
  readonly binds: { [containerPath: string]: string };
}

/** Image repositories (without tag or digest) and the profile standing in for each. */
export const IMAGE_MAP: { [repository: string]: string } = {
  'docker.io/curlimages/curl': 'curl',
  'quay.io/skopeo/stable': 'skopeo',
  'ghcr.io/osscontainertools/kaniko': 'kaniko',
  'gcr.io/kaniko-project/executor': 'kaniko',
  'quay.io/buildah/stable': 'buildah',
  // the combined image of UnifiedImageJob's main container, as the e2e tests name it (images/unified-tools).
  'harbor.example.com/platform/unified-tools': 'unified',
  'docker.io/moby/buildkit': 'buildkit',
};

/** `registry/repo` of an image reference, without tag or digest. */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the profiles need from the test: the CA every image trusts, and the image the kaniko stand-in pushes. */
export interface ImageInputs {
  readonly caCert: string;
  readonly kanikoFlags: ParsedFlag[];
  readonly prebuiltImage: TestImage;
  readonly buildctlFlags: ParsedFlag[];
}

/**
 * Prepares the profiles' files under `dir` once: a shared `/etc` (users, hosts, the test CA as the
 * system trust store, containers policy), busybox applet links for the curl image, and the kaniko
 * image's `/kaniko` with the stand-in executor.
 */
export function prepareImages(dir: string, inputs: ImageInputs): { [name: string]: ImageProfile } {
  const ca = readFileSync(inputs.caCert, 'utf8');
  const etc = join(dir, 'etc');
  mkdirSync(join(etc, 'ssl', 'certs'), { recursive: true });
  mkdirSync(join(etc, 'containers'), { recursive: true });
  writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\ncurl_user:x:100:101:curl:/home/curl_user:/sbin/nologin\n'
    + 'user:x:1000:1000:user:/home/user:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(etc, 'group'), 'root:x:0:\ncurl_group:x:101:\nuser:x:1000:\nnonroot:x:65532:\n');
  writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(etc, 'nsswitch.conf'), 'hosts: files\n');
  writeFileSync(join(etc, 'ssl', 'certs', 'ca-certificates.crt'), ca);
  writeFileSync(join(etc, 'containers', 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  writeFileSync(join(etc, 'containers', 'registries.conf'), 'unqualified-search-registries = []\n');
  // Debian's awk is /usr/bin/awk -> /etc/alternatives/awk -> mawk: the shared /etc keeps that link (the Fedora-based
  // images have awk too; the build scripts read an image index with it)
  mkdirSync(join(etc, 'alternatives'));
  symlinkSync(realpathSync(which('awk')!), join(etc, 'alternatives', 'awk'));
  const cacert = join(dir, 'cacert.pem');
  writeFileSync(cacert, ca);

  // the curl image: busybox for every applet, curl itself from Debian.
  const busyboxBin = join(dir, 'busybox-bin');
  mkdirSync(busyboxBin, { recursive: true });
  copyFileSync(which('busybox')!, join(busyboxBin, 'busybox'));
  chmodSync(join(busyboxBin, 'busybox'), 0o755);
  const applets = spawnSync(join(busyboxBin, 'busybox'), ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(a => a && a !== 'busybox');
  for (const applet of applets) {
    symlinkSync('/bin/busybox', join(busyboxBin, applet));
  }
  const curlBin = join(dir, 'curl-usr-bin');
  mkdirSync(curlBin, { recursive: true });
  copyFileSync(which('curl')!, join(curlBin, 'curl'));
  chmodSync(join(curlBin, 'curl'), 0o755);
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true });

  // the kaniko image: /kaniko with the stand-in executor, the flag list it accepts, and its prebuilt image.
  const kaniko = join(dir, 'kaniko');
  mkdirSync(join(kaniko, '.docker'), { recursive: true });
  mkdirSync(join(kaniko, 'ssl', 'certs'), { recursive: true });
  mkdirSync(join(kaniko, 'e2e'), { recursive: true });
  copyFileSync(join(__dirname, 'kaniko-stand-in.sh'), join(kaniko, 'executor'));
  chmodSync(join(kaniko, 'executor'), 0o755);
  writeFileSync(join(kaniko, 'ssl', 'certs', 'ca-certificates.crt'), ca);
  writeFileSync(join(kaniko, 'e2e', 'executor-flags'), inputs.kanikoFlags
    .flatMap(f => [`--${f.name} ${f.kind}`, ...(f.shorthand ? [`-${f.shorthand} ${f.kind}`] : [])]).join('\n') + '\n');
  writeOciLayout(join(kaniko, 'e2e', 'prebuilt'), inputs.prebuiltImage, 'latest');

  // the unified tools image (images/unified-tools/Dockerfile): the kaniko debug image's layout, with busybox,
  // curl and skopeo under /kaniko/tools/bin and /bin/sh from busybox. /usr/bin holds only skopeo, for the
  // kaniko stand-in's own push (the real executor needs no skopeo).
  const unified = join(dir, 'unified-kaniko');
  mkdirSync(join(unified, 'tools', 'bin'), { recursive: true });
  mkdirSync(join(unified, '.docker'), { recursive: true });
  mkdirSync(join(unified, 'ssl', 'certs'), { recursive: true });
  copyFileSync(join(__dirname, 'kaniko-stand-in.sh'), join(unified, 'executor'));
  chmodSync(join(unified, 'executor'), 0o755);
  writeFileSync(join(unified, 'ssl', 'certs', 'ca-certificates.crt'), ca);
  writeFileSync(join(unified, 'tools', 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  mkdirSync(join(unified, 'e2e'), { recursive: true });
  copyFileSync(join(kaniko, 'e2e', 'executor-flags'), join(unified, 'e2e', 'executor-flags'));
  writeOciLayout(join(unified, 'e2e', 'prebuilt'), inputs.prebuiltImage, 'latest');
  for (const tool of ['busybox', 'curl', 'skopeo']) {
    copyFileSync(which(tool)!, join(unified, 'tools', 'bin', tool));
    chmodSync(join(unified, 'tools', 'bin', tool), 0o755);
  }
  for (const applet of applets) {
    symlinkSync('/kaniko/tools/bin/busybox', join(unified, 'tools', 'bin', applet));
  }
  const skopeoOnly = join(dir, 'skopeo-usr-bin');
  mkdirSync(skopeoOnly, { recursive: true });
  copyFileSync(which('skopeo')!, join(skopeoOnly, 'skopeo'));
  chmodSync(join(skopeoOnly, 'skopeo'), 0o755);

  // the BuildKit images (Alpine: busybox): /usr/bin/buildctl-daemonless.sh is the stand-in, next to skopeo,
  // which the stand-in pushes with; the `buildctl build` flag list lives in /e2e/buildctl.
  const buildkitBin = join(dir, 'buildkit-usr-bin');
  mkdirSync(buildkitBin, { recursive: true });
  copyFileSync(join(skopeoOnly, 'skopeo'), join(buildkitBin, 'skopeo'));
  copyFileSync(join(__dirname, 'buildctl-stand-in.sh'), join(buildkitBin, 'buildctl-daemonless.sh'));
  chmodSync(join(buildkitBin, 'buildctl-daemonless.sh'), 0o755);
  const buildkitShare = join(dir, 'buildctl-stand-in');
  mkdirSync(buildkitShare, { recursive: true });
  writeFileSync(join(buildkitShare, 'build-flags'), inputs.buildctlFlags
    .flatMap(f => [`--${f.name} ${f.kind}`, ...(f.shorthand ? [`-${f.shorthand} ${f.kind}`] : [])]).join('\n') + '\n');

  const common = { '/etc': etc };
  return {
    curl: {
      name: 'curl',
      layout: RootLayout.BUSYBOX_CURL,
      env: { PATH: DEFAULT_PATH, CURL_CA_BUNDLE: '/cacert.pem' },
      user: 100,
      group: 101,
      binds: { ...common, '/bin': busyboxBin, '/usr/bin': curlBin, '/usr/sbin': empty, '/usr/local': empty, '/cacert.pem': cacert },
    },
    skopeo: {
      name: 'skopeo',
      layout: RootLayout.DEBIAN_BASH,
      env: { PATH: DEFAULT_PATH },
      user: 0,
      group: 0,
      binds: { ...common, '/usr/local': empty },
    },
    // the upstream buildah image: Fedora's buildah, root, chroot isolation by default (its Containerfile's ENV).
    buildah: {
      name: 'buildah',
      layout: RootLayout.DEBIAN_BASH,
      env: { PATH: DEFAULT_PATH, BUILDAH_ISOLATION: 'chroot', _BUILDAH_STARTED_IN_USERNS: '' },
      user: 0,
      group: 0,
      binds: { ...common, '/usr/local': empty },
    },
    kaniko: {
      name: 'kaniko',
      layout: RootLayout.DEBIAN_BASH,
      env: { PATH: '/usr/local/bin:/kaniko', DOCKER_CONFIG: '/kaniko/.docker/', SSL_CERT_DIR: '/kaniko/ssl/certs', HOME: '/root', USER: 'root' },
      user: 0,
      group: 0,
      binds: { ...common, '/usr/local': empty, '/kaniko': kaniko },
    },
    unified: {
      name: 'unified',
      layout: RootLayout.BUSYBOX_CURL,
      env: {
        PATH: '/kaniko/tools/bin:/kaniko:/busybox',
        SKOPEO_POLICY: '/kaniko/tools/policy.json',
        SSL_CERT_DIR: '/kaniko/ssl/certs',
        CURL_CA_BUNDLE: '/kaniko/ssl/certs/ca-certificates.crt',
        DOCKER_CONFIG: '/kaniko/.docker/',
        HOME: '/root',
      },
      user: 0,
      group: 0,
      binds: { ...common, '/bin': busyboxBin, '/usr/bin': skopeoOnly, '/usr/sbin': empty, '/usr/local': empty, '/kaniko': unified },
    },
    buildkit: {
      name: 'buildkit',
      layout: RootLayout.BUSYBOX_CURL,
      env: { PATH: DEFAULT_PATH },
      user: 0,
      group: 0,
      binds: { ...common, '/bin': busyboxBin, '/usr/bin': buildkitBin, '/usr/sbin': empty, '/usr/local': empty, '/e2e/buildctl': buildkitShare },
    },
  };
}
