/**
 * Private certificate authorities, run for real: a registry serving a certificate issued by a private CA that no
 * image stand-in trusts (they trust only the self-signed test CA). Each pushing construct the tier runs succeeds
 * when the CA bundle is given (from a ConfigMap or a Secret, for one registry or for every registry) and fails
 * without it with the tool's `x509: certificate signed by unknown authority`, pushing nothing. TLS verification
 * stays on throughout: no insecure option is set for that registry.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeRun, E2eEnvironment, ociArchiveOf, startEnvironment, synthesize } from './environment';
import { caBundleObjects, FileServer, privateCaCertificate, Registry } from './fixtures';
import { pushImage, singleImage, tarGz } from './oci';
import { PodResult } from './runner';
import {
  BuildahBuildJob, BuildContext, BuildkitBuildJob, ImageArchive, KanikoBatchShape, KanikoBuildBatch, KanikoBuildJob, RegistryCertificateAuthority,
  SkopeoPromoteJob, TarPushJob, UnifiedImageJob, UnifiedJobMode,
} from '../../src';

const CONTEXT = tarGz({ 'Dockerfile': 'FROM scratch\nCOPY app.txt /app.txt\n', 'app.txt': 'trusted through a private CA\n' });
const CONTEXT_SHA256 = createHash('sha256').update(CONTEXT).digest('hex');
const UNKNOWN_AUTHORITY = 'x509: certificate signed by unknown authority';

let env: E2eEnvironment;
let corp: Registry;
let corpFiles: FileServer;
let pem: string;
beforeAll(async () => {
  env = await startEnvironment('registry-ca');
  mkdirSync(join(env.dir, 'private-ca'));
  const tls = privateCaCertificate(join(env.dir, 'private-ca'));
  pem = readFileSync(tls.ca, 'utf8');
  corp = await Registry.start(env.dir, 'corp', { tls });
  corpFiles = await FileServer.start(tls);
});
afterAll(async () => {
  await corpFiles?.stop();
  await corp?.stop();
  await env?.stop();
});

/** Runs the objects with the bundles in the cluster. */
function run(objects: any[]): Promise<PodResult> {
  return env.runner.run([...objects, ...caBundleObjects(pem)], { timeoutMs: 180000 });
}

/** The run failed in `container` with the unknown-authority error, and `repository` never reached the registry. */
async function expectUntrusted(result: PodResult, container: string, repository: string): Promise<void> {
  expect(result.phase, describeRun(result)).toBe('Failed');
  const c = containerOf(result, container);
  expect(c.stdout + c.stderr, describeRun(result)).toContain(UNKNOWN_AUTHORITY);
  expect(await corp.repositories()).not.toContain(repository);
}

describe('RegistryCertificateAuthority', () => {
  test('the registry certificate is issued by the private CA, not self-signed', () => {
    const x509 = spawnSync('openssl', ['x509', '-noout', '-issuer', '-subject', '-in', join(env.dir, 'private-ca', 'server.crt')], { encoding: 'utf8' });
    expect(x509.stdout).toContain('issuer=CN = cdk8s-image-jobs e2e private CA');
    expect(x509.stdout).toContain('subject=CN = 127.0.0.1');
  });

  describe.each([
    ['with the bundle for that registry (ConfigMap)', true],
    ['without a bundle', false],
  ])('SkopeoPromoteJob %s', (_, trusted) => {
    test(trusted ? 'promotes by digest' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const image = singleImage({ 'app.txt': `promote ${trusted}\n` });
      await pushImage(env.intermediate.host, 'build/promote-ca', String(trusted), image);
      const repository = `platform/promote-${trusted}`;
      const result = await run(synthesize(chart => new SkopeoPromoteJob(chart, 'promote', {
        source: `${env.intermediate.host}/build/promote-ca@${image.digest}`,
        sourceTlsVerify: false,
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: [corp.host] })] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        expect(containerOf(result, 'promote').terminationMessage.trim()).toBe(`${corp.host}/${repository}:1@${image.digest}`);
        expect(await corp.repositories()).toContain(repository);
      } else {
        await expectUntrusted(result, 'promote', repository);
      }
    });
  });

  describe.each([
    ['with the bundle for every registry (Secret)', true],
    ['without a bundle', false],
  ])('TarPushJob %s', (_, trusted) => {
    test(trusted ? 'pushes the archive' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const image = singleImage({ 'app.txt': `tar ${trusted}\n` });
      const archive = ociArchiveOf(env, image, `archive-${trusted}`);
      const url = env.files.serve(`/images/ca-${trusted}.tar`, archive);
      const repository = `platform/tar-${trusted}`;
      const result = await run(synthesize(chart => new TarPushJob(chart, 'push', {
        archive: ImageArchive.fromUrl(url, { sha256: createHash('sha256').update(archive).digest('hex') }),
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromSecret('corp-tls')] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        expect(containerOf(result, 'push').terminationMessage.trim()).toBe(`${corp.host}/${repository}:1@${image.digest}`);
      } else {
        await expectUntrusted(result, 'push', repository);
      }
    });
  });

  describe.each([
    ['with the bundle for every registry', true],
    ['without a bundle', false],
  ])('KanikoBuildJob (stand-in executor, --registry-certificate) %s', (_, trusted) => {
    test(trusted ? 'pushes' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const url = env.files.serve(`/contexts/kaniko-ca-${trusted}.tar.gz`, CONTEXT);
      const repository = `build/kaniko-${trusted}`;
      const result = await run(synthesize(chart => new KanikoBuildJob(chart, 'build', {
        context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca')] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        const argv = containerOf(result, 'build').processes.find(p => p.argv[0] === '/kaniko/executor')!.argv;
        expect(argv).toContain(`--registry-certificate=${corp.host}=/etc/kaniko/registry-certs/${corp.host}/ca.crt`);
        expect(await corp.repositories()).toContain(repository);
      } else {
        await expectUntrusted(result, 'build', repository);
      }
    });
  });

  describe.each([
    ['with the bundle for every registry', true],
    ['without a bundle', false],
  ])('KanikoBuildBatch (stand-in executor, a context from a directory) %s', (_, trusted) => {
    test(trusted ? 'pushes' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const contextsDirectory = join(env.dir, `batch-${trusted}`);
      mkdirSync(join(contextsDirectory, 'app'), { recursive: true });
      writeFileSync(join(contextsDirectory, 'app', 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\n');
      writeFileSync(join(contextsDirectory, 'app', 'app.txt'), `batch ${trusted}\n`);
      const result = await run(synthesize(chart => new KanikoBuildBatch(chart, 'batch', {
        contextsDirectory,
        registries: [corp.host],
        repositoryPrefix: `batch-${trusted}`,
        tags: ['1'],
        shape: KanikoBatchShape.JOBS,
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca')] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        expect(await corp.repositories()).toContain(`batch-${trusted}/app`);
      } else {
        await expectUntrusted(result, 'build', `batch-${trusted}/app`);
      }
    });
  });

  describe.each([
    ['with the bundle for that registry (Secret)', true],
    ['without a bundle', false],
  ])('BuildkitBuildJob (buildctl stand-in, ca = [...] in the buildkitd.toml its script writes) %s', (_, trusted) => {
    test(trusted ? 'pushes' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const url = env.files.serve(`/contexts/buildkit-ca-${trusted}.tar.gz`, CONTEXT);
      const repository = `build/buildkit-${trusted}`;
      const result = await run(synthesize(chart => new BuildkitBuildJob(chart, 'build', {
        context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromSecret('corp-tls', 'ca.crt', { registries: [corp.host] })] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        const push = containerOf(result, 'build').processes.find(p => p.argv[0] === 'skopeo' && p.argv.includes('copy'))!.argv;
        expect(push).toContain(`/etc/buildkit-certs/${corp.host}`);
        expect(await corp.repositories()).toContain(repository);
      } else {
        await expectUntrusted(result, 'build', repository);
      }
    });
  });

  describe.each([
    ['with the bundle for that registry', true],
    ['without a bundle', false],
  ])('BuildahBuildJob (real buildah, certs.d) %s', (_, trusted) => {
    test(trusted ? 'builds and pushes' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const url = env.files.serve(`/contexts/buildah-ca-${trusted}.tar.gz`, CONTEXT);
      const repository = `build/buildah-${trusted}`;
      const result = await run(synthesize(chart => new BuildahBuildJob(chart, 'build', {
        context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: [corp.host] })] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        expect(await corp.repositories()).toContain(repository);
      } else {
        await expectUntrusted(result, 'build', repository);
      }
    });
  });

  describe.each([
    ['with the bundle listing the download host and the registry', true],
    ['without a bundle', false],
  ])('a download from a server with a private-CA certificate (TarPushJob, curl) %s', (_, trusted) => {
    test(trusted ? 'downloads and pushes' : 'fails in fetch-archive with curl\'s certificate error, pushing nothing', async () => {
      const image = singleImage({ 'app.txt': `download ${trusted}\n` });
      const archive = ociArchiveOf(env, image, `download-${trusted}`);
      const url = corpFiles.serve(`/images/download-${trusted}.tar`, archive);
      const repository = `platform/download-${trusted}`;
      const result = await run(synthesize(chart => new TarPushJob(chart, 'push', {
        archive: ImageArchive.fromUrl(url, { sha256: createHash('sha256').update(archive).digest('hex') }),
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: [corp.host, new URL(url).host] })] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        expect(await corp.repositories()).toContain(repository);
      } else {
        expect(result.phase, describeRun(result)).toBe('Failed');
        expect(containerOf(result, 'fetch-archive').stderr).toMatch(/SSL certificate problem: unable to get local issuer certificate|curl exit code 60/);
        expect(result.containers.map(c => c.name)).not.toContain('push');
        expect(await corp.repositories()).not.toContain(repository);
      }
    });
  });

  describe.each([
    ['with the bundle for every registry', true],
    ['without a bundle', false],
  ])('UnifiedImageJob push_tar (skopeo in the unified tools image) %s', (_, trusted) => {
    test(trusted ? 'pushes the archive' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const image = singleImage({ 'app.txt': `unified ${trusted}\n` });
      const archive = ociArchiveOf(env, image, `unified-${trusted}`);
      const url = env.files.serve(`/images/unified-ca-${trusted}.tar`, archive);
      const repository = `platform/unified-${trusted}`;
      const result = await run(synthesize(chart => new UnifiedImageJob(chart, 'unified', {
        toolsImage: 'harbor.example.com/platform/unified-tools:1.0.0',
        mode: UnifiedJobMode.PUSH_TAR,
        archive: ImageArchive.fromUrl(url, { sha256: createHash('sha256').update(archive).digest('hex') }),
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca')] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        expect(await corp.repositories()).toContain(repository);
      } else {
        await expectUntrusted(result, 'main-task-executor', repository);
      }
    });
  });

  describe.each([
    ['with the bundle for every registry', true],
    ['without a bundle', false],
  ])('UnifiedImageJob build_and_push (kaniko stand-in, then skopeo, in the unified tools image) %s', (_, trusted) => {
    test(trusted ? 'builds to the intermediate registry and promotes' : `fails with "${UNKNOWN_AUTHORITY}", pushing nothing`, async () => {
      const url = env.files.serve(`/contexts/unified-build-ca-${trusted}.tar.gz`, CONTEXT);
      const intermediate = `build/unified-build-${trusted}`;
      const repository = `platform/unified-build-${trusted}`;
      const result = await run(synthesize(chart => new UnifiedImageJob(chart, 'unified', {
        toolsImage: 'harbor.example.com/platform/unified-tools:1.0.0',
        mode: UnifiedJobMode.BUILD_AND_PUSH,
        context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
        intermediateDestination: `${corp.host}/${intermediate}:1`,
        destinations: [`${corp.host}/${repository}:1`],
        certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('corp-ca')] : undefined,
      })));
      if (trusted) {
        expect(result.phase, describeRun(result)).toBe('Succeeded');
        const main = containerOf(result, 'main-task-executor');
        const executor = main.processes.find(p => p.argv[0] === '/kaniko/executor')!;
        expect(executor.argv).toContain(`--registry-certificate=${corp.host}=/etc/kaniko/registry-certs/${corp.host}/ca.crt`);
        const lines = main.terminationMessage.trim().split('\n');
        expect(lines).toHaveLength(2);
        expect(lines[1]).toBe(`${corp.host}/${repository}:1@${lines[0].split('@')[1]}`);
        expect(await corp.repositories()).toEqual(expect.arrayContaining([intermediate, repository]));
      } else {
        await expectUntrusted(result, 'main-task-executor', intermediate);
        expect(await corp.repositories()).not.toContain(repository);
      }
    });
  });
});
