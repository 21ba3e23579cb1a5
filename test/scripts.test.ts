import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { synthExample, EXAMPLES } from '../examples/synth';
import * as scripts from '../src/_scripts';

const SCRIPTS: { [name: string]: string } = Object.fromEntries(Object.entries(scripts).filter(([name]) => name.endsWith('_SCRIPT')));
/** Every file under container-scripts/, relative to it. */
const SCRIPT_FILES = readdirSync(scripts.CONTAINER_SCRIPTS_DIR, { recursive: true, encoding: 'utf8' }).filter(f => f.endsWith('.sh')).sort();
const {
  BUILDAH_BUILD_SCRIPT, BUILDKIT_BUILD_SCRIPT, BUILDKIT_DIRECT_BUILD_SCRIPT, COMPOSE_AUTH_SCRIPT, FETCH_ARCHIVE_SCRIPT, FETCH_CONTEXT_SCRIPT,
  PROMOTE_SCRIPT, WAIT_FOR_PLATFORM_BUILDS_SCRIPT,
} = scripts;

describe('container scripts', () => {
  test.each(Object.keys(SCRIPTS))('%s passes shellcheck as POSIX sh', (name) => {
    // shellcheck is a test dependency (.ci/run installs it): a missing binary fails the test instead of skipping it.
    const result = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '-'], { input: SCRIPTS[name], encoding: 'utf8' });
    expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test.each(SCRIPT_FILES)('container-scripts/%s passes shellcheck as a file (with the directory\'s .shellcheckrc)', (file) => {
    const result = spawnSync('shellcheck', ['--severity=style', file], { cwd: scripts.CONTAINER_SCRIPTS_DIR, encoding: 'utf8' });
    expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('every file under container-scripts/ is part of a composed script; the composition is the files, byte for byte', () => {
    expect(Object.keys(SCRIPTS)).toHaveLength(14);
    const composed = Object.values(SCRIPTS).join('');
    for (const file of SCRIPT_FILES) {
      const text = readFileSync(join(scripts.CONTAINER_SCRIPTS_DIR, file), 'utf8');
      expect(text.length, file).toBeGreaterThan(0);
      expect(composed.includes(text), `${file} is used`).toBe(true);
    }
    expect(SCRIPTS.PROMOTE_SCRIPT).toBe(['lib/prelude.sh', 'lib/skopeo.sh', 'lib/promote.sh', 'promote.sh']
      .map(f => readFileSync(join(scripts.CONTAINER_SCRIPTS_DIR, f), 'utf8')).join(''));
    // both BuildKit builders run the same buildctl step between their own beginnings and ends; the direct one also
    // reports the platforms of an index (the connector's termination message is unchanged)
    for (const [script, own, libs] of [['BUILDKIT_BUILD_SCRIPT', 'oci-connector-build', []], ['BUILDKIT_DIRECT_BUILD_SCRIPT', 'buildkit-build', ['lib/platform-digests.sh']]] as const) {
      expect(SCRIPTS[script]).toBe(['lib/prelude.sh', ...libs, `${own}-begin.sh`, 'lib/buildkit-build.sh', `${own}.sh`]
        .map(f => readFileSync(join(scripts.CONTAINER_SCRIPTS_DIR, f), 'utf8')).join(''));
    }
    expect(SCRIPTS.BUILDAH_BUILD_SCRIPT).toBe(['lib/prelude.sh', 'lib/buildah.sh', 'lib/platform-digests.sh', 'buildah-build.sh']
      .map(f => readFileSync(join(scripts.CONTAINER_SCRIPTS_DIR, f), 'utf8')).join(''));
  });

  test('every script in every example is one of the constant scripts: values never reach shell text', () => {
    const known = new Set(Object.values(SCRIPTS));
    let seen = 0;
    for (const name of Object.keys(EXAMPLES)) {
      for (const doc of parseAllDocuments(synthExample(name))) {
        const object = doc.toJS();
        const spec = object.spec?.template?.spec;
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
          if (c.command?.[0] === '/bin/sh' || c.command?.[0] === '/busybox/sh') {
            expect(c.command).toHaveLength(3);
            expect(known.has(c.command[2]), `${name}/${c.name}`).toBe(true);
            seen++;
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  test('the compose script writes a 0640 config.json and never prints the password', () => {
    // GIVEN
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const password = 'pa$$ w0rd "quoted" \\ back';
    // WHEN
    const result = spawnSync('sh', ['-c', COMPOSE_AUTH_SCRIPT], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AUTH_FILE: join(dir, 'config.json'),
        AUTH_REGISTRIES: 'harbor.example.com registry.internal:5000',
        HARBOR_USERNAME: 'robot$ci',
        HARBOR_PASSWORD: password,
        TERMINATION_LOG: join(dir, 'termination-log'),
      },
    });
    // THEN
    expect(result.status).toBe(0);
    const file = join(dir, 'config.json');
    expect(statSync(file).mode.toString(8)).toMatch(/640$/);
    const config = JSON.parse(readFileSync(file, 'utf8'));
    const token = Buffer.from(`robot$ci:${password}`).toString('base64');
    expect(config).toEqual({ auths: { 'harbor.example.com': { auth: token }, 'registry.internal:5000': { auth: token } } });
    expect(result.stdout + result.stderr).not.toContain(password);
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  test('the compose script names the missing variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const result = spawnSync('sh', ['-c', COMPOSE_AUTH_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, AUTH_FILE: join(dir, 'c.json'), AUTH_REGISTRIES: 'r.io', TERMINATION_LOG: join(dir, 'termination-log') },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing required environment variable(s): HARBOR_USERNAME HARBOR_PASSWORD');
    expect(readFileSync(join(dir, 'termination-log'), 'utf8')).toContain('HARBOR_USERNAME HARBOR_PASSWORD');
  });

  test('the promote script refuses a malformed flag before calling skopeo', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promote-'));
    const result = spawnSync('sh', ['-c', PROMOTE_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TMPDIR: dir, TERMINATION_LOG: join(dir, 'termination-log'), SOURCE_IMAGE: 'r.io/a:1', PRESERVE_DIGESTS: 'yes' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("PRESERVE_DIGESTS must be true or false, got 'yes'");
  });

  describe('the fetch-archive script detects the format from the tar entries (ArchiveFormat.AUTO)', () => {
    /** Runs FETCH_ARCHIVE_SCRIPT with ARCHIVE_FORMAT=auto on a tar of `entries` made by the host's tar. */
    function detect(entries: string[]): { status: number | null; format: string; stderr: string } {
      const dir = mkdtempSync(join(tmpdir(), 'archive-'));
      for (const entry of entries) {
        writeFileSync(join(dir, entry), entry === 'oci-layout' ? '{"imageLayoutVersion":"1.0.0"}' : '[]');
      }
      expect(spawnSync('tar', ['-cf', join(dir, 'image.tar'), '-C', dir, ...entries]).status).toBe(0);
      const result = spawnSync('sh', ['-c', FETCH_ARCHIVE_SCRIPT], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          TERMINATION_LOG: join(dir, 'termination-log'),
          ARCHIVE_PATH: join(dir, 'image.tar'),
          ARCHIVE_FORMAT: 'auto',
          ARCHIVE_FORMAT_FILE: join(dir, 'format'),
        },
      });
      return { status: result.status, format: result.status === 0 ? readFileSync(join(dir, 'format'), 'utf8').trim() : '', stderr: result.stderr };
    }

    test.each([
      [['oci-layout', 'index.json'], 'oci-archive'],
      [['manifest.json'], 'docker-archive'],
      // Docker 25+ docker save: both; manifest.json lists only the blobs the tar holds
      [['oci-layout', 'index.json', 'manifest.json'], 'docker-archive'],
      [['index.json', 'manifest.json', 'oci-layout'], 'docker-archive'],
    ])('%j is %s', (entries, format) => {
      expect(detect(entries)).toMatchObject({ status: 0, format });
    });

    test('fails when the tar has neither entry', () => {
      const result = detect(['index.json']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('is neither an OCI archive (no oci-layout entry) nor a docker save archive (no manifest.json entry)');
    });
  });

  test('the fetch script refuses plain http unless allowed, before any download', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-'));
    const result = spawnSync('sh', ['-c', FETCH_CONTEXT_SCRIPT], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        TERMINATION_LOG: join(dir, 'termination-log'),
        BUILD_CONTEXT_URL: 'http://127.0.0.1:9/ctx.tar.gz?token=hidden',
        CONTEXT_DIR: join(dir, 'context'),
        DOCKERFILE_PATH: 'Dockerfile',
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('refusing plain-http download of http://127.0.0.1:9/ctx.tar.gz; set ALLOW_INSECURE_HTTP=true');
    expect(result.stderr).not.toContain('token=hidden');
  });

  describe('the BuildKit build script', () => {
    const DIGEST = `sha256:${'c'.repeat(64)}`;
    /** Metadata as buildctl writes it: indented JSON with several digests, only one of them the image's. */
    const METADATA = JSON.stringify({
      'containerimage.config.digest': `sha256:${'a'.repeat(64)}`,
      'containerimage.descriptor': { mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 856 },
      'containerimage.digest': DIGEST,
      'image.name': 'c-harbor.ci.svc.cluster.local/test/abc:v1',
    }, null, 2);

    /** Runs the script with a fake buildctl-daemonless.sh that records its arguments and behaves as told. */
    function runBuild(fake: string, env: { [name: string]: string } = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'buildkit-'));
      const tool = join(dir, 'buildctl-daemonless.sh');
      writeFileSync(tool, `#!/bin/sh\nprintf '%s\\n' "$@" >"${dir}/args"\n${fake}\n`);
      chmodSync(tool, 0o755);
      writeFileSync(join(dir, 'metadata.template'), METADATA);
      const result = spawnSync('sh', ['-c', BUILDKIT_BUILD_SCRIPT, 'buildctl-build', '--frontend=dockerfile.v0', '--opt=build-arg:A=two words $HOME'], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          TERMINATION_LOG: join(dir, 'termination-log'),
          METADATA_FILE: join(dir, 'metadata.json'),
          DESTINATIONS: 'harbor.example.cn/test/abc:v1 harbor.example.cn/test/abc:latest',
          PROXY_DESTINATIONS: 'c-harbor.ci.svc.cluster.local/test/abc:v1 c-harbor.ci.svc.cluster.local/test/abc:latest',
          TEMPLATE: join(dir, 'metadata.template'),
          ...env,
        },
      });
      const read = (name: string) => { try { return readFileSync(join(dir, name), 'utf8'); } catch { return ''; } };
      return { result, args: read('args'), terminationLog: read('termination-log') };
    }

    // the fake writes the metadata file named by --metadata-file, as buildctl does
    const WRITES_METADATA = 'while [ $# -gt 0 ]; do [ "$1" = --metadata-file ] && cp "$TEMPLATE" "$2"; shift; done';

    test('passes its arguments through unchanged and reports every canonical, then every proxy reference at the image digest', () => {
      const { result, args, terminationLog } = runBuild(WRITES_METADATA);
      expect(result.stderr).toContain(`pushed ${DIGEST}`);
      expect(result.status).toBe(0);
      expect(args.split('\n')).toEqual(['build', '--frontend=dockerfile.v0', '--opt=build-arg:A=two words $HOME', '--metadata-file', expect.stringMatching(/metadata\.json$/), '']);
      expect(terminationLog).toBe([
        `harbor.example.cn/test/abc:v1@${DIGEST}`,
        `harbor.example.cn/test/abc:latest@${DIGEST}`,
        `c-harbor.ci.svc.cluster.local/test/abc:v1@${DIGEST}`,
        `c-harbor.ci.svc.cluster.local/test/abc:latest@${DIGEST}`,
        '',
      ].join('\n'));
    });

    test('fails with buildctl\'s exit code when the build fails', () => {
      const { result, terminationLog } = runBuild('echo "failed to solve: dockerfile parse error" >&2; exit 3');
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('failed to solve: dockerfile parse error');
      expect(terminationLog).toBe('error: buildctl build failed with exit code 3 (BuildKit\'s message above)\n');
    });

    test('fails when the metadata holds no image digest', () => {
      const { result, terminationLog } = runBuild(`${WRITES_METADATA}; sed -i 's/"containerimage.digest"/"other"/' "$METADATA_FILE"`);
      expect(result.status).toBe(1);
      expect(terminationLog).toMatch(/^error: no containerimage.digest in .*metadata.json: was the image pushed\?\n$/);
    });

    test('names the missing variables before running anything', () => {
      const { result, args } = runBuild(WRITES_METADATA, { PROXY_DESTINATIONS: '' });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('missing required environment variable(s): PROXY_DESTINATIONS');
      expect(args).toBe('');
    });
  });
  describe('record_platform_digests reads the platforms of an image index', () => {
    const PRELUDE = readFileSync(join(scripts.CONTAINER_SCRIPTS_DIR, 'lib', 'prelude.sh'), 'utf8');
    const LIB = readFileSync(join(scripts.CONTAINER_SCRIPTS_DIR, 'lib', 'platform-digests.sh'), 'utf8');
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const entry = (c: string, platform?: object, extra: object = {}) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(c), size: 475, ...(platform ? { platform } : {}), ...extra,
    });
    /** BuildKit's index shape (Go's two-space indentation), as the node tier's real BuildKit pushed it. */
    const BUILDKIT_INDEX = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [entry('a', { architecture: 'amd64', os: 'linux' }), entry('b', { architecture: 'arm64', os: 'linux' })],
    }, null, 2);
    const EXPECTED = `linux/amd64 registry.internal:5000/build/app@${digest('a')}\nlinux/arm64 registry.internal:5000/build/app@${digest('b')}\n`;
    const dir = mkdtempSync(join(tmpdir(), 'platform-digests-'));
    // busybox's awk is the one of the BuildKit image; the host's (mawk here) stands for the buildah image's
    const busyboxAwk = join(dir, 'busybox-bin');
    mkdirSync(busyboxAwk);
    spawnSync('ln', ['-s', spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim(), join(busyboxAwk, 'awk')]);

    function record(document: string, awk: 'host' | 'busybox' = 'host') {
      const index = join(dir, 'index.json');
      writeFileSync(index, document);
      const log = join(dir, `termination-log-${Math.random().toString(36).slice(2)}`);
      const result = spawnSync('sh', ['-c', `${PRELUDE}${LIB}record_platform_digests "$1" "$2"`, 'test', index, 'registry.internal:5000/build/app'], {
        encoding: 'utf8',
        env: { PATH: awk === 'busybox' ? `${busyboxAwk}:${process.env.PATH}` : process.env.PATH, TERMINATION_LOG: log },
      });
      let terminationLog = '';
      try { terminationLog = readFileSync(log, 'utf8'); } catch { /* none written */ }
      return { result, terminationLog };
    }

    test.each(['host', 'busybox'] as const)('BuildKit\'s indented index, %s awk: one line per platform, in the index\'s order', (awk) => {
      const { result, terminationLog } = record(BUILDKIT_INDEX, awk);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(terminationLog).toBe(EXPECTED);
      // the consumers' pattern for destination lines matches none of them
      expect(terminationLog.split('\n').filter(line => /^[^ ]+@sha256:[0-9a-f]{64}$/.test(line))).toEqual([]);
    });

    test.each(['host', 'busybox'] as const)('compact JSON, a variant, attestations and strings holding JSON syntax, %s awk', (awk) => {
      const document = JSON.stringify({
        schemaVersion: 2,
        manifests: [
          entry('a', { architecture: 'amd64', os: 'linux' }, { annotations: { x: 'a "quoted", {braced} [listed] \\ value', manifests: '[]' } }),
          entry('c', { os: 'linux', architecture: 'arm', variant: 'v7' }),
          entry('d', { architecture: 'unknown', os: 'unknown' }, { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }),
          entry('e'),
        ],
        annotations: { digest: digest('f'), platform: '{"os":"linux"}' },
      });
      const { result, terminationLog } = record(document, awk);
      expect(result.status).toBe(0);
      expect(terminationLog).toBe(`linux/amd64 registry.internal:5000/build/app@${digest('a')}\nlinux/arm/v7 registry.internal:5000/build/app@${digest('c')}\n`);
    });

    test('buildah\'s manifest inspect output (a Docker manifest list, four-space indentation, size before digest)', () => {
      const list = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [
          { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 424, digest: digest('a'), platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 424, digest: digest('b'), platform: { architecture: 'arm64', os: 'linux' } },
        ],
      }, null, 4);
      const { result, terminationLog } = record(list);
      expect(result.status).toBe(0);
      expect(terminationLog).toBe(EXPECTED);
    });

    test.each([
      ['an index without platforms', JSON.stringify({ schemaVersion: 2, manifests: [] }), /^error: the image index in .*index\.json lists no platform\n$/],
      ['a malformed digest', JSON.stringify({ manifests: [{ digest: 'sha256:abc', platform: { os: 'linux', architecture: 'amd64' } }] }),
        /^error: cannot read the platforms of the image index in .*index\.json \(message above\)\n$/],
      ['a malformed platform', JSON.stringify({ manifests: [{ digest: digest('a'), platform: { os: 'linux', architecture: 'amd 64' } }] }),
        /^error: cannot read the platforms of the image index in .*index\.json \(message above\)\n$/],
      ['a cut-off document', BUILDKIT_INDEX.slice(0, -3), /^error: cannot read the platforms of the image index in .*index\.json \(message above\)\n$/],
    ])('fails on %s, writing no platform line', (_, document, message) => {
      const { result, terminationLog } = record(document);
      expect(result.status).toBe(1);
      expect(terminationLog).toMatch(message);
    });
  });

  describe('the BuildkitBuildJob script with PLATFORMS reads the pushed index from BuildKit\'s content store', () => {
    const INDEX = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 475, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 475, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    }, null, 2));
    const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }, null, 2));
    const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

    /** Runs the script with a fake buildctl-daemonless.sh that reports `digest` and a content store holding `blob` (as the file of `blobDigest`). */
    function runBuild(digest: string, blob?: Buffer, blobDigest = digest) {
      const dir = mkdtempSync(join(tmpdir(), 'buildkit-direct-'));
      const tool = join(dir, 'buildctl-daemonless.sh');
      const metadata = JSON.stringify({ 'containerimage.digest': digest }, null, 2);
      writeFileSync(tool, `#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --metadata-file ] && printf '%s' '${metadata}' >"$2"; shift; done\n`);
      chmodSync(tool, 0o755);
      if (blob) {
        const blobs = join(dir, 'state', 'runc-overlayfs', 'content', 'blobs', 'sha256');
        mkdirSync(blobs, { recursive: true });
        writeFileSync(join(blobs, blobDigest.replace('sha256:', '')), blob);
      }
      const result = spawnSync('sh', ['-c', BUILDKIT_DIRECT_BUILD_SCRIPT, 'buildctl-build'], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          TERMINATION_LOG: join(dir, 'termination-log'),
          METADATA_FILE: join(dir, 'metadata.json'),
          DESTINATIONS: 'registry.internal:5000/build/app:1.0.0 registry.internal:5000/build/app:latest',
          DIGEST_FILE: join(dir, 'digest'),
          BUILDKITD_CONFIG: join(dir, 'buildkitd.toml'),
          PLATFORMS: 'linux/amd64,linux/arm64',
          BUILDKIT_STATE_DIR: join(dir, 'state'),
        },
      });
      const read = (name: string) => { try { return readFileSync(join(dir, name), 'utf8'); } catch { return ''; } };
      return { result, terminationLog: read('termination-log'), digest: read('digest') };
    }

    test('the destination lines, then one line per platform of the index, under the first destination\'s repository', () => {
      const { result, terminationLog, digest } = runBuild(sha(INDEX), INDEX);
      expect(result.status, result.stderr).toBe(0);
      expect(terminationLog).toBe([
        `registry.internal:5000/build/app:1.0.0@${sha(INDEX)}`,
        `registry.internal:5000/build/app:latest@${sha(INDEX)}`,
        `linux/amd64 registry.internal:5000/build/app@sha256:${'a'.repeat(64)}`,
        `linux/arm64 registry.internal:5000/build/app@sha256:${'b'.repeat(64)}`,
        '',
      ].join('\n'));
      expect(digest).toBe(`${sha(INDEX)}\n`);
    });

    test('one platform gives a single image: only the destination lines', () => {
      const { result, terminationLog } = runBuild(sha(MANIFEST), MANIFEST);
      expect(result.status, result.stderr).toBe(0);
      expect(terminationLog).toBe(`registry.internal:5000/build/app:1.0.0@${sha(MANIFEST)}\nregistry.internal:5000/build/app:latest@${sha(MANIFEST)}\n`);
    });

    test('fails when the content store lacks the index, or its file is not the pushed digest; no digest recorded', () => {
      const missing = runBuild(sha(INDEX));
      expect(missing.result.status).toBe(1);
      expect(missing.terminationLog).toMatch(new RegExp(`error: the pushed image index ${sha(INDEX)} is not in BuildKit's content store under .*state\n$`));
      expect(missing.digest).toBe('');
      const other = runBuild(sha(INDEX), MANIFEST, sha(INDEX));
      expect(other.result.status).toBe(1);
      expect(other.terminationLog).toContain(`is not the pushed image index ${sha(INDEX)} (its sha256 is ${sha(MANIFEST).slice(7)})\n`);
      expect(other.digest).toBe('');
    });
  });

  describe('the buildah build script', () => {
    const DIGEST_A = `sha256:${'a'.repeat(64)}`;
    const DIGEST_B = `sha256:${'b'.repeat(64)}`;
    /** The first destination with a promotion (the intermediate registry) and without (a final one). */
    const INTERMEDIATE = { INTERMEDIATE_REGISTRY_URL: 'registry.internal:5000', BUILD_IMAGE_NAME: 'build/app', BUILD_IMAGE_TAG: '1.0.0' };
    const FINAL = { DESTINATION_REGISTRY: 'harbor.example.com', DESTINATION_IMAGE_NAME: 'platform/app', DESTINATION_IMAGE_TAG: '1.0.0' };

    /** Runs the script with `dir` first on PATH (where the test put a fake `buildah`), the settings it needs, and `env`. */
    function runScript(dir: string, env: { [name: string]: string }) {
      mkdirSync(join(dir, 'context'));
      writeFileSync(join(dir, 'context', 'Dockerfile'), 'FROM scratch\n');
      return spawnSync('sh', ['-c', BUILDAH_BUILD_SCRIPT, 'buildah-build', '--format=oci'], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          TERMINATION_LOG: join(dir, 'termination-log'),
          CONTEXT_DIR: join(dir, 'context'),
          DOCKERFILE_PATH: 'Dockerfile',
          DIGEST_FILE: join(dir, 'digest'),
          STORAGE_DRIVER: 'vfs',
          STORAGE_ROOT: join(dir, 'storage'),
          CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
          CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
          CONTAINERS_CONF: join(dir, 'containers.conf'),
          RUN_CAPABILITIES: 'CHOWN SETUID',
          ...env,
        },
      });
    }

    /**
     * Runs the script with a fake `buildah` on PATH: `bud` writes an image id to --iidfile, the n-th `push` writes
     * the n-th of `digests` to --digestfile.
     */
    function runBuild(digests: string[], first: { [name: string]: string } = INTERMEDIATE) {
      const dir = mkdtempSync(join(tmpdir(), 'buildah-'));
      writeFileSync(join(dir, 'digests'), digests.join('\n') + '\n');
      const tool = join(dir, 'buildah');
      writeFileSync(tool, [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >>"${dir}/calls"`,
        'command=$1',
        'while [ $# -gt 0 ]; do',
        '  case "$1" in',
        `    --iidfile) printf 'sha256:%s' "${'1'.repeat(64)}" >"$2" ;;`,
        `    --digestfile) n=$(grep -c '^push ' "${dir}/calls"); sed -n "\${n}p" "${dir}/digests" | tr -d '\\n' >"$2" ;;`,
        '  esac',
        '  shift',
        'done',
        '[ "$command" = bud ] || [ "$command" = push ]',
        '',
      ].join('\n'));
      chmodSync(tool, 0o755);
      const result = runScript(dir, { ...first, ADDITIONAL_DESTINATIONS: 'registry.internal:5000/build/app:latest' });
      const read = (name: string) => { try { return readFileSync(join(dir, name), 'utf8'); } catch { return ''; } };
      return { result, calls: read('calls'), terminationLog: read('termination-log'), digest: read('digest') };
    }

    test('control: equal digests from every push are reported and written to DIGEST_FILE', () => {
      const { result, calls, terminationLog, digest } = runBuild([DIGEST_A, DIGEST_A]);
      expect(result.stderr).toContain(`pushed ${DIGEST_A}`);
      expect(result.status).toBe(0);
      expect(calls.split('\n').map(line => line.split(' ')[0])).toEqual(['bud', 'push', 'push', '']);
      expect(terminationLog).toBe(`registry.internal:5000/build/app:1.0.0@${DIGEST_A}\nregistry.internal:5000/build/app:latest@${DIGEST_A}\n`);
      expect(digest).toBe(`${DIGEST_A}\n`);
    });

    test('without a promotion the first destination comes from DESTINATION_*', () => {
      const { result, calls, terminationLog } = runBuild([DIGEST_A, DIGEST_A], FINAL);
      expect(result.status).toBe(0);
      expect(calls).toContain('docker://harbor.example.com/platform/app:1.0.0');
      expect(terminationLog).toBe(`harbor.example.com/platform/app:1.0.0@${DIGEST_A}\nregistry.internal:5000/build/app:latest@${DIGEST_A}\n`);
    });

    test('names the missing first-destination variables of either set', () => {
      const { result: final } = runBuild([DIGEST_A], { DESTINATION_REGISTRY: 'harbor.example.com' });
      expect(final.status).toBe(1);
      expect(final.stderr).toContain('missing required environment variable(s): DESTINATION_IMAGE_NAME DESTINATION_IMAGE_TAG');
      const { result: none, calls } = runBuild([DIGEST_A], {});
      expect(none.status).toBe(1);
      expect(none.stderr).toContain('missing required environment variable(s): INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG');
      expect(calls).toBe('');
    });

    test('fails when two destinations receive different digests', () => {
      const { result, terminationLog, digest } = runBuild([DIGEST_A, DIGEST_B]);
      expect(result.status).toBe(1);
      // die appends: the first destination's line, written before the second push, stays in front of the error.
      expect(terminationLog).toBe(`registry.internal:5000/build/app:1.0.0@${DIGEST_A}\n`
        + `error: registry.internal:5000/build/app:latest received digest ${DIGEST_B} but registry.internal:5000/build/app:1.0.0 received ${DIGEST_A}\n`);
      expect(digest).toBe('');
    });

    test.each([
      ['a short digest', 'sha256:abc'],
      ['another algorithm', `sha512:${'a'.repeat(64)}`],
      ['an empty digest file', ''],
    ])('fails on %s from a push', (_, malformed) => {
      const { result, terminationLog, digest } = runBuild([malformed, DIGEST_A]);
      expect(result.status).toBe(1);
      expect(terminationLog).toBe(`error: malformed digest '${malformed}' from the push to registry.internal:5000/build/app:1.0.0 (buildah's message above)\n`);
      expect(digest).toBe('');
    });

    test('PLATFORMS: the index is pushed with manifest push --all, read back from the first destination by digest, one line per platform', () => {
      const dir = mkdtempSync(join(tmpdir(), 'buildah-platforms-'));
      // the list as `buildah manifest inspect` prints the one `manifest add --all` read from the registry
      writeFileSync(join(dir, 'list.json'), JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 499, digest: `sha256:${'e'.repeat(64)}`, platform: { architecture: 'arm64', os: 'linux' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 499, digest: `sha256:${'f'.repeat(64)}`, platform: { architecture: 'amd64', os: 'linux' } },
        ],
      }, null, 4));
      const tool = join(dir, 'buildah');
      writeFileSync(tool, [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >>"${dir}/calls"`,
        `[ "$1 $2" != "manifest inspect" ] || exec cat "${dir}/list.json"`,
        'while [ $# -gt 0 ]; do',
        `  [ "$1" != --digestfile ] || printf '%s' "${DIGEST_A}" >"$2"`,
        '  shift',
        'done',
        '',
      ].join('\n'));
      chmodSync(tool, 0o755);
      const result = runScript(dir, {
        ...INTERMEDIATE,
        ADDITIONAL_DESTINATIONS: 'harbor.example.com/platform/app:1.0.0',
        PLATFORMS: 'linux/amd64,linux/arm64',
        INSECURE_REGISTRIES: 'registry.internal:5000',
        REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
      });
      expect(result.status, result.stderr).toBe(0);
      const calls = readFileSync(join(dir, 'calls'), 'utf8').split('\n');
      // the first destination is insecure, the second is not; the read-back goes to the first, by digest
      // manifest commands name the storage buildah_configure wrote (STORAGE_ROOT, STORAGE_DRIVER) on their command line
      const storage = /^--root \S+\/storage --runroot \S+\/run --storage-driver vfs /;
      expect(calls.filter(call => call.includes('manifest push') || call.includes('manifest add')).every(call => storage.test(call))).toBe(true);
      expect(calls.map(call => call.replace(storage, '')).filter(call => call.startsWith('manifest'))).toEqual([
        expect.stringMatching(/^manifest push --tls-verify=false --authfile \S+ --all --digestfile \S+ localhost\/cdk8s-image-jobs\/index:build docker:\/\/registry.internal:5000\/build\/app:1.0.0$/),
        expect.stringMatching(/^manifest push --tls-verify=true --authfile \S+ --all --digestfile \S+ localhost\/cdk8s-image-jobs\/index:build docker:\/\/harbor.example.com\/platform\/app:1.0.0$/),
        'manifest create localhost/cdk8s-image-jobs/index:pushed',
        expect.stringMatching(new RegExp(`^manifest add --tls-verify=false --authfile \\S+ --all localhost/cdk8s-image-jobs/index:pushed docker://registry.internal:5000/build/app@${DIGEST_A}$`)),
        'manifest inspect localhost/cdk8s-image-jobs/index:pushed',
      ]);
      expect(readFileSync(join(dir, 'termination-log'), 'utf8')).toBe([
        `registry.internal:5000/build/app:1.0.0@${DIGEST_A}`,
        `harbor.example.com/platform/app:1.0.0@${DIGEST_A}`,
        `linux/arm64 registry.internal:5000/build/app@sha256:${'e'.repeat(64)}`,
        `linux/amd64 registry.internal:5000/build/app@sha256:${'f'.repeat(64)}`,
        '',
      ].join('\n'));
    });
  });

  describe('the wait-for-platforms script of a kaniko fan-out', () => {
    const REF = 'registry.internal:5000/build/app:1.0.0-arm64';
    const REPO = 'registry.internal:5000/build/app';
    const DIGEST = 'c'.repeat(64);

    /**
     * Runs the script with a fake `curl` on PATH: a GET of Job <name> answers the next line of `jobs/<name>` (a
     * status, a space, a body file), a GET of pods answers 200 with `pods.json`. Records each call's header file.
     */
    function runWait(jobs: { [name: string]: [number, string][] }, podsJson: string, builds: string) {
      const dir = mkdtempSync(join(tmpdir(), 'wait-'));
      mkdirSync(join(dir, 'jobs'));
      for (const [name, answers] of Object.entries(jobs)) {
        answers.forEach(([, body], i) => writeFileSync(join(dir, 'jobs', `${name}.${i}`), body));
        writeFileSync(join(dir, 'jobs', name), answers.map(([status], i) => `${status} ${join(dir, 'jobs', `${name}.${i}`)}`).join('\n') + '\n');
      }
      writeFileSync(join(dir, 'pods.json'), podsJson);
      writeFileSync(join(dir, 'token'), 'the-token');
      const tool = join(dir, 'curl');
      writeFileSync(tool, [
        '#!/bin/sh',
        'while [ $# -gt 1 ]; do',
        '  case "$1" in',
        '    -o) out=$2; shift ;;',
        `    -H) cat "\${2#@}" >>"${dir}/headers" ;;`,
        '  esac',
        '  shift',
        'done',
        `printf '%s\\n' "$1" >>"${dir}/calls"`,
        'case "$1" in',
        `  */pods?*) cp "${dir}/pods.json" "$out"; printf 200 ;;`,
        '  */jobs/*)',
        `    list="${dir}/jobs/\${1##*/}"`,
        `    n=$(grep -c "\${1##*/}\\$" "${dir}/calls")`,
        '    line=$(sed -n "${n}p" "$list")',
        '    [ -n "$line" ] || line=$(tail -n 1 "$list")',
        '    cp "${line#* }" "$out"; printf %s "${line%% *}" ;;',
        'esac',
        '',
      ].join('\n'));
      chmodSync(tool, 0o755);
      const result = spawnSync('sh', ['-c', WAIT_FOR_PLATFORM_BUILDS_SCRIPT], {
        encoding: 'utf8',
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          TMPDIR: dir,
          TERMINATION_LOG: join(dir, 'termination-log'),
          PLATFORM_BUILDS: builds,
          POD_NAMESPACE: 'builds',
          API_TOKEN_FILE: join(dir, 'token'),
          API_CA_FILE: join(dir, 'ca.crt'),
          PLATFORM_DIGESTS_FILE: join(dir, 'digests'),
          KUBERNETES_SERVICE_HOST: '10.96.0.1',
          KUBERNETES_SERVICE_PORT: '443',
          POLL_SECONDS: '0',
        },
      });
      const read = (name: string) => { try { return readFileSync(join(dir, name), 'utf8'); } catch { return ''; } };
      return { result, calls: read('calls'), headers: read('headers'), terminationLog: read('termination-log'), digests: read('digests') };
    }

    const complete = '{"status":{"conditions":[{"type":"Complete","status":"True","lastProbeTime":"x"}],"succeeded":1}}';
    const running = '{"status":{"active":1}}';
    const failed = '{"status":{"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}],"failed":1}}';
    const pods = (message: string) => JSON.stringify({ items: [{ metadata: { name: 'p' }, status: { containerStatuses: [{ state: { terminated: { message } } }] } }] });

    test('control: waits until the Job is Complete, then takes the exact digest of the reference from its pod', () => {
      // another reference that ends like this one, and a longer tag that starts like it, are not this one
      const message = `evil.registry.internal:5000/build/app:1.0.0-arm64@sha256:${'e'.repeat(64)}\n${REF}@sha256:${DIGEST}\n${REF}x@sha256:${'f'.repeat(64)}\n`;
      const { result, calls, headers, digests } = runWait({ 'job-arm64': [[404, '{}'], [200, running], [200, complete]] }, pods(message),
        `linux/arm64 job-arm64 ${REF} ${REPO}`);
      expect(result.stderr).toContain('every platform is built');
      expect(result.status).toBe(0);
      expect(digests).toBe(`linux/arm64 registry.internal:5000/build/app@sha256:${DIGEST}\n`);
      expect(calls.trim().split('\n')).toEqual([
        ...Array(3).fill('https://10.96.0.1:443/apis/batch/v1/namespaces/builds/jobs/job-arm64'),
        'https://10.96.0.1:443/api/v1/namespaces/builds/pods?labelSelector=job-name%3Djob-arm64&fieldSelector=status.phase%3DSucceeded',
      ]);
      // the token goes in a header file, never in curl's arguments
      expect(headers).toBe('Authorization: Bearer the-token\n'.repeat(4));
      expect(calls).not.toContain('the-token');
    });

    test('a failed Job ends the wait with one line naming the platform and the Job', () => {
      const { result, terminationLog, digests } = runWait({ 'job-amd64': [[200, complete]], 'job-arm64': [[200, failed]] },
        pods(`registry.internal:5000/build/app:1.0.0-amd64@sha256:${DIGEST}\n`),
        `linux/amd64 job-amd64 registry.internal:5000/build/app:1.0.0-amd64 ${REPO}\nlinux/arm64 job-arm64 ${REF} ${REPO}`);
      expect(result.status).toBe(1);
      expect(terminationLog).toBe('error: the linux/arm64 build failed: Job job-arm64 ended Failed (kubectl logs job/job-arm64); nothing was pushed to the destinations\n');
      expect(digests).toBe(`linux/amd64 registry.internal:5000/build/app@sha256:${DIGEST}\n`);
    });

    test('a refused request names the Role; a message without the reference fails', () => {
      expect(runWait({ 'job-arm64': [[403, '{}']] }, '{}', `linux/arm64 job-arm64 ${REF} ${REPO}`).terminationLog)
        .toBe('error: the Kubernetes API refused to read Job job-arm64 (linux/arm64): HTTP 403; the pod\'s service account needs the Role this construct synthesizes\n');
      expect(runWait({ 'job-arm64': [[200, complete]] }, pods(`${REF}-other@sha256:${DIGEST}\n`), `linux/arm64 job-arm64 ${REF} ${REPO}`).terminationLog)
        .toBe(`error: the succeeded pod of Job job-arm64 (linux/arm64) reported no ${REF}@sha256:<digest> in its termination message\n`);
    });
  });
});
