/**
 * The node tier's tool images, proven apart from the cluster: each image the global setup built and pushed is
 * unpacked and run with Debian's runc as containerd would run it (image env, user, entrypoint, the default
 * capabilities, or all of them where the pod is privileged). Real kaniko and real BuildKit (privileged and
 * rootless) build a multi-stage Dockerfile with RUN steps and push; the digests they report equal
 * `skopeo inspect`, and COPY'd files are owned 0:0.
 */
import { spawnSync } from 'child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildNodeImages, NodeImages, nodeImageFor, rewriteImages } from './images';
import { NodeTier } from './node';
import { ContainerOptions, ContainerResult, runContainer } from './run-container';
import { BuildContext, KanikoBuildJob, ToolImages } from '../../src';
import { BUILDAH_CAPABILITIES } from '../../src/_pod';
import { synthesize } from '../e2e/environment';
import { removeScratch, scratchDir } from '../e2e/fixtures';

let dir: string;
let tier: NodeTier;
let images: NodeImages;
/** The tier's image registry, where the proofs also push what they build. */
let registryHost: string;

beforeAll(() => {
  tier = inject('node');
  images = tier.images;
  registryHost = images.busybox.split('/')[0];
  dir = scratchDir('node-images');
});

afterAll(() => {
  if (dir) {
    removeScratch(dir);
  }
});

/** The OCI layout `buildNodeImages` wrote for an image. */
function layoutOf(name: keyof NodeImages): string {
  return join(tier.dir, 'images', name, 'oci');
}

async function runImage(name: keyof NodeImages, options: ContainerOptions): Promise<ContainerResult> {
  return runContainer(join(dir, 'bundles'), layoutOf(name), options);
}

function hostSkopeo(args: string[]): string {
  const result = spawnSync('skopeo', args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`skopeo ${args.join(' ')}: ${result.stderr}`);
  }
  return result.stdout;
}

/** The registry's digest for a reference (`skopeo inspect`). */
function inspectDigest(reference: string): string {
  return JSON.parse(hostSkopeo(['inspect', '--tls-verify=false', `docker://${reference}`])).Digest;
}

/** `tar -tv` of every layer of a pushed image, top layer last: `mode owner/group size date time path` lines. */
function layerListings(reference: string): string[] {
  const layout = join(dir, `listing-${Math.random().toString(36).slice(2)}`);
  hostSkopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${layout}:x`]);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const blob = (digest: string) => join(layout, 'blobs', 'sha256', digest.slice(7));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
  return manifest.layers.map((layer: any) => spawnSync('tar', ['-tvzf', blob(layer.digest), '--numeric-owner'], { encoding: 'utf8' }).stdout);
}

function expectSuccess(result: ContainerResult): void {
  expect(result.status, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
}

/**
 * A build context with a multi-stage Dockerfile on the busybox image (RUN steps, `COPY --from`, a COPY of a file
 * owned by 65532), a results directory, and a buildkitd.toml that allows the plain-http registry.
 */
function multiStageContext(name: string): { context: string; results: string; config: string } {
  const context = join(dir, `${name}-context`);
  const results = join(dir, `${name}-results`);
  const config = join(dir, `${name}-config`);
  for (const d of [context, results, config]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, 1000, 1000);
  }
  writeFileSync(join(context, 'Dockerfile'), [
    `FROM ${images.busybox} AS build`,
    'RUN mkdir /out && echo built-by-run > /out/built',
    `FROM ${images.busybox}`,
    'COPY --from=build /out/ /from-build/',
    'COPY owned.txt /owned.txt',
    'RUN cat /from-build/built /owned.txt > /combined',
    '',
  ].join('\n'));
  writeFileSync(join(context, 'owned.txt'), 'context file owned by 65532\n');
  chownSync(join(context, 'owned.txt'), 65532, 65532);
  writeFileSync(join(config, 'buildkitd.toml'), `[worker.containerd]\n  enabled = false\n[registry."${registryHost}"]\n  http = true\n  insecure = true\n`);
  return { context, results, config };
}

function buildctlBuild(destination: string): string[] {
  return ['buildctl-daemonless.sh', 'build', '--frontend=dockerfile.v0', '--local=context=/workspace/context', '--local=dockerfile=/workspace/context',
    `--output=type=image,name=${destination},push=true`, '--metadata-file=/results/metadata.json'];
}

describe('images', () => {
  test('every image is pushed by digest and the registry reports that digest', () => {
    for (const [name, reference] of Object.entries(images)) {
      expect(reference, name).toMatch(new RegExp(`^${registryHost}/node-images/[a-z-]+@sha256:[0-9a-f]{64}$`));
      expect(inspectDigest(reference), name).toBe(reference.split('@')[1]);
    }
  });

  test('a second build gives the same digests (deterministic layers and configs)', async () => {
    const some: (keyof NodeImages)[] = ['busybox', 'skopeo', 'unified', 'buildkitRootless'];
    const again = await buildNodeImages(registryHost, join(dir, 'again'), { only: some, extraCaCertificates: readFileSync(tier.tls.cert, 'utf8') });
    expect(again).toEqual(Object.fromEntries(some.map(name => [name, images[name]])));
  });

  test('curl: busybox /bin, curl in /usr/bin, runs as 100:101 with CURL_CA_BUNDLE', async () => {
    const result = await runImage('curl', {
      command: ['sh', '-c', 'id -u; id -g; readlink /bin/sh; command -v curl; echo "$CURL_CA_BUNDLE"; for t in tar gzip sha256sum base64; do command -v $t; done; '
        + `curl -fsS http://${registryHost}/v2/ -o /dev/null -w '%{http_code}\\n'`],
    });
    expectSuccess(result);
    expect(result.stdout.split('\n')).toEqual(['100', '101', '/bin/busybox', '/usr/bin/curl', '/cacert.pem',
      '/bin/tar', '/bin/gzip', '/bin/sha256sum', '/bin/base64', '200', '']);
  });

  test('skopeo: bash as /bin/sh, skopeo inspects the registry with the image policy', async () => {
    const result = await runImage('skopeo', {
      command: ['sh', '-c', `echo "$BASH_VERSION" | cut -d. -f1; id -u; skopeo inspect --tls-verify=false docker://${images.busybox} | grep -c '"Digest"'; test -s /etc/containers/policy.json && echo policy`],
    });
    expectSuccess(result);
    expect(result.stdout.split('\n')).toEqual(['5', '0', '1', 'policy', '']);
  });

  test('kaniko: /kaniko/executor with the upstream image env, no shell', async () => {
    const result = await runImage('kaniko', { command: ['/kaniko/executor', 'version'] });
    expectSuccess(result);
    expect(result.stdout).toContain('v1.28.3');
    const config = JSON.parse(hostSkopeo(['inspect', '--config', '--tls-verify=false', `docker://${images.kaniko}`])).config;
    expect(config.Env).toEqual(expect.arrayContaining(['HOME=/root', 'USER=root', 'PATH=/usr/local/bin:/kaniko', 'SSL_CERT_DIR=/kaniko/ssl/certs', 'DOCKER_CONFIG=/kaniko/.docker/']));
    expect(config.Entrypoint).toEqual(['/kaniko/executor']);
    const listing = layerListings(images.kaniko).join('');
    expect(listing).not.toMatch(/ \.\/bin\//);
    expect(listing).toMatch(/ \.\/kaniko\/ssl\/certs\/ca-certificates\.crt\n/);
  });

  test('real kaniko builds a multi-stage Dockerfile with RUN steps, pushes it, and COPY gives 0:0', async () => {
    const { context, results } = multiStageContext('kaniko');
    const destination = `${registryHost}/built/kaniko:1`;
    const result = await runImage('kaniko', {
      command: ['/kaniko/executor', '--context=dir:///workspace/context', '--dockerfile=/workspace/context/Dockerfile',
        `--destination=${destination}`, '--digest-file=/results/digest', `--insecure-registry=${registryHost}`, '--snapshot-mode=redo'],
      binds: { '/workspace/context': context, '/results': results },
    });
    expectSuccess(result);
    const digest = readFileSync(join(results, 'digest'), 'utf8').trim();
    expect(digest).toBe(inspectDigest(destination));
    const listings = layerListings(destination);
    const all = listings.join('');
    expect(all).toMatch(/^-\S+ 0\/0 +\d+ .* \.?\/?owned\.txt$/m);
    expect(all).toMatch(/ \.?\/?from-build\/built$/m);
    expect(all).toMatch(/ \.?\/?combined$/m);
  });

  test('kaniko -debug and unified tools: after a real kaniko build in the same container, busybox, skopeo and curl still run', async () => {
    for (const image of ['kanikoDebug', 'unified'] as const) {
      const { context, results } = multiStageContext(`${image}-build`);
      const destination = `${registryHost}/built/${image.toLowerCase()}:1`;
      // the unified tools image's build_and_push order: kaniko builds (replacing the root), then skopeo and curl run
      const after = image === 'unified'
        ? `skopeo --policy "$SKOPEO_POLICY" inspect --tls-verify=false --format '{{.Digest}}' "docker://$1" && curl -fsS -o /dev/null -w '%{http_code}\\n' "http://${registryHost}/v2/"`
        : 'cat /results/digest && echo';
      const result = await runImage(image, {
        command: ['/busybox/sh', '-c', '/kaniko/executor --context=dir:///workspace/context --dockerfile=/workspace/context/Dockerfile --destination="$1" '
          + `--digest-file=/results/digest --insecure-registry=${registryHost} && test ! -e /etc/nsswitch.conf && ${after}`, 'sh', destination],
        binds: { '/workspace/context': context, '/results': results },
      });
      expectSuccess(result);
      const digest = readFileSync(join(results, 'digest'), 'utf8').trim();
      expect(digest, image).toBe(inspectDigest(destination));
      expect(result.stdout, image).toBe(image === 'unified' ? `${digest}\n200\n` : `${digest}\n`);
    }
  });

  test('kaniko -debug: busybox in /busybox keeps working with the rest of the root gone', async () => {
    const result = await runImage('kanikoDebug', {
      command: ['/busybox/sh', '-c', 'rm -rf /lib /lib64 /usr /etc; echo $PATH; readlink /bin/sh; sed -n 1p /proc/self/status; /kaniko/executor version'],
    });
    expectSuccess(result);
    expect(result.stdout).toMatch(/^\/usr\/local\/bin:\/kaniko:\/busybox\n\/busybox\/sh\nName:\s+sed\nKaniko version : +v1\.28\.3/);
  });

  test('unified tools: busybox, curl and skopeo under /kaniko/tools work with the rest of the root gone', async () => {
    const result = await runImage('unified', {
      command: ['/kaniko/tools/bin/sh', '-c', 'rm -rf /lib /lib64 /usr /etc /bin; for t in skopeo curl sha256sum; do command -v $t; done; skopeo --version | cut -d\' \' -f1-2; '
        + `skopeo --policy "$SKOPEO_POLICY" inspect --tls-verify=false docker://${images.busybox} | grep -c '"Digest"'; curl -fsS -o /dev/null -w '%{http_code}\\n' http://${registryHost}/v2/`],
    });
    expectSuccess(result);
    expect(result.stdout.split('\n')).toEqual(['/kaniko/tools/bin/skopeo', '/kaniko/tools/bin/curl', '/kaniko/tools/bin/sha256sum',
      'skopeo version', '1', '200', '']);
  });
});

describe('BuildKit', () => {
  /**
   * Runs `buildctl-daemonless.sh build` of the multi-stage context in a BuildKit image, with its state directory as
   * the image's volume, and checks the pushed image: the metadata digest equals `skopeo inspect`, COPY gives 0:0.
   */
  async function buildAndCheck(image: 'buildkit' | 'buildkitRootless', options: { privileged: boolean; flags: string; stateDir: string; stateOwner: number }) {
    const name = image === 'buildkit' ? 'buildkit' : 'buildkit-rootless';
    const { context, results, config } = multiStageContext(name);
    const state = join(dir, `${name}-state`);
    mkdirSync(state, { recursive: true });
    chownSync(state, options.stateOwner, options.stateOwner);
    const destination = `${registryHost}/built/${name}:1`;
    const result = await runImage(image, {
      privileged: options.privileged,
      command: buildctlBuild(destination),
      env: { BUILDKITD_FLAGS: `${options.flags} --config /etc/buildkit/buildkitd.toml` },
      binds: { '/workspace/context': context, '/results': results, '/etc/buildkit': config, [options.stateDir]: state },
    });
    expectSuccess(result);
    const digest = JSON.parse(readFileSync(join(results, 'metadata.json'), 'utf8'))['containerimage.digest'];
    expect(digest).toBe(inspectDigest(destination));
    const all = layerListings(destination).join('');
    expect(all).toMatch(/^-\S+ 0\/0 +\d+ .* owned\.txt$/m);
    expect(all).toMatch(/ combined$/m);
  }

  test('privileged: real buildkitd and buildctl build a multi-stage Dockerfile with RUN steps and push it', async () => {
    await buildAndCheck('buildkit', { privileged: true, flags: '', stateDir: '/var/lib/buildkit', stateOwner: 0 });
  });

  test('rootless: real rootlesskit + buildkitd as uid 1000 with --oci-worker-no-process-sandbox build and push', async () => {
    await buildAndCheck('buildkitRootless', { privileged: false, flags: '--oci-worker-no-process-sandbox', stateDir: '/home/user/.local/share/buildkit', stateOwner: 1000 });
  });
});

describe('buildah', () => {
  test('real buildah (chroot isolation, the construct\'s capabilities) builds a multi-stage Dockerfile and pushes it', async () => {
    const { context, results } = multiStageContext('buildah');
    const storage = join(dir, 'buildah-storage');
    mkdirSync(storage, { recursive: true });
    const destination = `${registryHost}/built/buildah:1`;
    const result = await runImage('buildah', {
      capabilities: BUILDAH_CAPABILITIES,
      command: ['sh', '-c', 'buildah --storage-driver vfs bud --quiet --tls-verify=false -f /workspace/context/Dockerfile -t "$1" /workspace/context '
        + '&& buildah --storage-driver vfs push --quiet --tls-verify=false --digestfile /results/digest "$1" "docker://$1"', 'sh', destination],
      binds: { '/workspace/context': context, '/results': results, '/var/lib/containers': storage },
    });
    expectSuccess(result);
    expect(readFileSync(join(results, 'digest'), 'utf8').trim()).toBe(inspectDigest(destination));
    const all = layerListings(destination).join('');
    expect(all).toMatch(/ combined$/m);
  });
});

describe('rewriteImages', () => {
  const fake: NodeImages = {
    curl: 'r/curl@sha256:1',
    skopeo: 'r/skopeo@sha256:2',
    buildah: 'r/buildah@sha256:3',
    kaniko: 'r/kaniko@sha256:4',
    kanikoDebug: 'r/kaniko-debug@sha256:5',
    buildkit: 'r/buildkit@sha256:6',
    buildkitRootless: 'r/buildkit-rootless@sha256:7',
    unified: 'r/unified@sha256:8',
    pause: 'r/pause@sha256:9',
    busybox: 'r/busybox@sha256:10',
  };

  test('each default tool image maps to its node image', () => {
    expect([ToolImages.DOWNLOAD_HELPER, ToolImages.SKOPEO, ToolImages.BUILDAH, ToolImages.KANIKO, ToolImages.KANIKO_DEBUG,
      ToolImages.KANIKO_UPSTREAM_ARCHIVED, ToolImages.BUILDKIT, ToolImages.BUILDKIT_ROOTLESS].map(image => nodeImageFor(image, fake)))
      .toEqual([fake.curl, fake.skopeo, fake.buildah, fake.kaniko, fake.kanikoDebug, fake.kaniko, fake.buildkit, fake.buildkitRootless]);
  });

  test('only container images change in a synthesized Job', () => {
    const objects = synthesize(chart => new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromUrl('https://files.example.com/ctx.tar.gz', { sha256: 'a'.repeat(64) }),
      destinations: ['registry.example.com/app:1'],
    }));
    const rewritten = rewriteImages(objects, fake);
    const seen: string[] = [];
    const strip = (value: any): any => JSON.parse(JSON.stringify(value, (key, v) => {
      if (key === 'image') {
        seen.push(v);
        return '<image>';
      }
      return v;
    }));
    expect(strip(rewritten)).toEqual(strip(objects));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.slice(0, seen.length / 2).every(image => image.startsWith('r/'))).toBe(true);
  });

  test('an unknown image fails naming it', () => {
    const objects = [{ kind: 'Pod', spec: { containers: [{ name: 'x', image: 'docker.io/library/nginx:1.27' }] } }];
    expect(() => rewriteImages(objects, fake)).toThrow(/docker\.io\/library\/nginx:1\.27/);
  });
});
