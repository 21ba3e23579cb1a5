/**
 * The Dockerfile builders on the real node, with the real builders: KanikoBuildJob (the kaniko executor built from
 * the pinned fork's source, promotion by skopeo, a registry layer cache) and BuildahBuildJob (Debian's buildah). The
 * base image is the tier's busybox image; every digest is checked against `skopeo inspect`.
 */
import { createHash } from 'crypto';
import { mkdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GitServer } from './git-server';
import { containerOf, describeJob, expectServed, HARBOR_USER, NodeEnvironment } from './node';
import {
  BuildahBuildJob, BuildContext, BuildkitBuildJob, BuildkitMode, KanikoBuildJob, KanikoBuildJobProps, RegistryCertificateAuthority,
  RegistryCredentials,
} from '../../src';
import { synthesize, usernamePasswordSecret } from '../e2e/environment';
import { privateCaCertificate } from '../e2e/fixtures';
import { tarGz } from '../e2e/oci';

let env: NodeEnvironment;
let base: string;
let imagesRegistry: string;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Two stages with RUN steps; the final RUN fails the build unless the COPY'd file is owned 0:0 (the context was
 * unpacked by the uid-65532 fetch step, so kaniko must not keep the context's owner).
 */
const MULTI_STAGE = [
  'ARG BASE',
  'FROM ${BASE} AS compile',
  'ARG APP_VERSION',
  'RUN mkdir -p /out && echo "compiled $APP_VERSION" > /out/version',
  'FROM ${BASE}',
  'COPY --from=compile /out/version /app/version',
  'COPY app.txt /app/app.txt',
  'RUN owner=$(stat -c %u:%g /app/app.txt) && echo "app.txt owner $owner" && [ "$owner" = 0:0 ] && cat /app/version',
  '',
].join('\n');

beforeAll(async () => {
  env = await NodeEnvironment.start('builds');
  base = env.tier.images.busybox;
  imagesRegistry = base.split('/')[0];
});
afterAll(async () => {
  await env?.stop();
});

function context(files: { [path: string]: string }): BuildContext {
  const archive = tarGz(files);
  const url = env.files.serve(`/contexts/${sha256(archive)}.tar.gz`, archive);
  return BuildContext.fromUrl(url, { sha256: sha256(archive) });
}

async function kaniko(props: KanikoBuildJobProps) {
  let level = '';
  const objects = synthesize(chart => {
    level = new KanikoBuildJob(chart, 'build', props).podSecurityLevel;
  });
  return env.runJob(objects, level, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
}

describe('KanikoBuildJob on a real node, with the real kaniko executor', () => {
  const files = { 'Dockerfile': MULTI_STAGE, 'app.txt': 'hello from kaniko\n' };
  const props = (repository: string): KanikoBuildJobProps => ({
    context: context(files),
    destinations: [`${env.intermediate.host}/${repository}:1.4.0`],
    insecureRegistries: [env.intermediate.host, imagesRegistry],
    buildArgs: { BASE: base, APP_VERSION: '1.4.0' },
    cache: {},
    promotion: {
      destinations: [`${env.harbor.host}/platform/${repository}:1.4.0`],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    },
  });

  test('builds a multi-stage Dockerfile with RUN steps, COPY\'d files owned 0:0, and promotes the digest', async () => {
    const run = await kaniko(props('api'));
    expect(run.phase, describeJob(run)).toBe('Complete');
    const build = containerOf(run, 'build');
    expect(build.log).toContain('app.txt owner 0:0');
    expect(build.log).toContain('compiled 1.4.0');
    const promoted = expectServed(env, containerOf(run, 'promote').terminationMessage);
    const digest = env.inspectDigest(`${env.intermediate.host}/api:1.4.0`);
    expect(promoted).toEqual([`${env.harbor.host}/platform/api:1.4.0@${digest}`]);
    expect(await env.intermediate.repositories()).toContain('api/cache');
  });

  test('a second Job with the same context hits the registry layer cache', async () => {
    const run = await kaniko(props('api'));
    expect(run.phase, describeJob(run)).toBe('Complete');
    expect(containerOf(run, 'build').log).toMatch(/Using caching version of cmd: RUN/);
    expect(containerOf(run, 'build').log).not.toContain('compiled 1.4.0');
    expectServed(env, containerOf(run, 'promote').terminationMessage);
  });

  // the executor runs without a wrapper script: FallbackToLogsOnError makes the kubelet report the tail of its log
  test('a RUN step that exits 1 ends the Job Failed with kaniko\'s error in the termination message, nothing built or promoted', async () => {
    const run = await kaniko({
      context: context({ Dockerfile: 'ARG BASE\nFROM ${BASE}\nRUN echo "step about to fail" && exit 1\n' }),
      destinations: [`${env.intermediate.host}/broken:1.0.0`],
      insecureRegistries: [env.intermediate.host, imagesRegistry],
      buildArgs: { BASE: base },
      promotion: { destinations: [`${env.harbor.host}/platform/broken:1.0.0`], credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials') },
    });
    expect(run.phase, describeJob(run)).toBe('Failed');
    const build = containerOf(run, 'build');
    expect(build.log).toContain('step about to fail');
    expect(build.exitCode).toBe(1);
    const error = 'error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1';
    expect(build.log).toContain(error);
    expect(build.terminationMessage).toContain(error);
    expect(build.terminationMessage).toContain('step about to fail');
    expect(await env.intermediate.repositories()).not.toContain('broken');
    expect(await env.harbor.repositories()).not.toContain('platform/broken');
  });
});

describe('KanikoBuildJob with a git context on a real node', () => {
  test('the real kaniko clones the repository over https from a git server (branch and sub-directory) and builds it', async () => {
    const git = await GitServer.start(join(env.dir, 'git'), env.tier.tls);
    try {
      const url = git.repository('monorepo', {
        'README.md': 'not in the context\n',
        'services/api/Dockerfile': 'ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\nRUN echo "built from git: $(cat /app.txt)"\n',
        'services/api/app.txt': 'api sources\n',
      });
      const run = await kaniko({
        context: BuildContext.fromGit(url, { ref: 'main', subPath: 'services/api' }),
        destinations: [`${env.intermediate.host}/git-api:1.0.0`],
        insecureRegistries: [env.intermediate.host, imagesRegistry],
        buildArgs: { BASE: base },
      });
      expect(run.phase, describeJob(run)).toBe('Complete');
      const build = containerOf(run, 'build');
      expect(build.log).toContain('built from git: api sources');
      expect(expectServed(env, build.terminationMessage)).toHaveLength(1);
      expect(git.requests).toContain('POST /monorepo.git/git-upload-pack');
    } finally {
      await git.stop();
    }
  });
});

describe('KanikoBuildJob with a git context behind a private CA on a real node', () => {
  const UNKNOWN_AUTHORITY = 'x509: certificate signed by unknown authority';

  test('the real kaniko clones with the CA bundle listing the git host, and fails with x509 without it, pushing nothing', async () => {
    const dir = join(env.dir, 'git-private-ca');
    mkdirSync(dir, { recursive: true });
    // a certificate no image trusts: the tier's images trust only the tier's own test CA
    const tls = privateCaCertificate(dir);
    const git = await GitServer.start(join(dir, 'repositories'), tls);
    try {
      const url = git.repository('private-ca', {
        'Dockerfile': 'ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\nRUN echo "cloned through the private CA: $(cat /app.txt)"\n',
        'app.txt': 'api sources\n',
      });
      const gitHost = new URL(url).host;
      const bundle = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'git-ca' }, data: { 'ca.crt': readFileSync(tls.ca, 'utf8') } };
      const build = async (repository: string, trusted: boolean) => {
        let level = '';
        const objects = synthesize(chart => {
          level = new KanikoBuildJob(chart, 'build', {
            context: BuildContext.fromGit(url, { ref: 'main' }),
            destinations: [`${env.intermediate.host}/${repository}:1.0.0`],
            insecureRegistries: [env.intermediate.host, imagesRegistry],
            buildArgs: { BASE: base },
            certificateAuthorities: trusted ? [RegistryCertificateAuthority.fromConfigMap('git-ca', 'ca.crt', { registries: [gitHost] })] : undefined,
          }).podSecurityLevel;
        });
        return env.runJob(objects, level, [bundle], 400_000);
      };

      const untrusted = await build('git-untrusted', false);
      expect(untrusted.phase, describeJob(untrusted)).toBe('Failed');
      // kaniko fails while resolving its context, before the build: it prints the error, then its usage text,
      // so the error is in the log, and the termination message (the log's last 2048 bytes) is that usage text
      const refused = containerOf(untrusted, 'build');
      expect(refused.log).toMatch(new RegExp(`error resolving source context: .*${new URL(url).host}.*${UNKNOWN_AUTHORITY}`));
      expect(refused.exitCode).toBe(1);
      expect(git.requests).toEqual([]);
      expect(await env.intermediate.repositories()).not.toContain('git-untrusted');

      const trusted = await build('git-trusted', true);
      expect(trusted.phase, describeJob(trusted)).toBe('Complete');
      expect(containerOf(trusted, 'build').log).toContain('cloned through the private CA: api sources');
      expect(git.requests).toContain('POST /private-ca.git/git-upload-pack');
      expect(expectServed(env, containerOf(trusted, 'build').terminationMessage)).toHaveLength(1);
    } finally {
      await git.stop();
    }
  });
});

describe('BuildahBuildJob on a real node, with Debian\'s buildah', () => {
  test('builds a multi-stage Dockerfile with RUN steps and promotes the digest', async () => {
    let level = '';
    const objects = synthesize(chart => {
      level = new BuildahBuildJob(chart, 'build', {
        context: context({ 'Dockerfile': MULTI_STAGE, 'app.txt': 'hello from buildah\n' }),
        destinations: [`${env.intermediate.host}/buildah/app:1.4.0`],
        insecureRegistries: [env.intermediate.host, imagesRegistry],
        buildArgs: { BASE: base, APP_VERSION: '1.4.0' },
        promotion: {
          destinations: [`${env.harbor.host}/platform/buildah-app:1.4.0`],
          credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
        },
      }).podSecurityLevel;
    });
    const run = await env.runJob(objects, level, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
    expect(run.phase, describeJob(run)).toBe('Complete');
    expect(containerOf(run, 'build').log).toContain('app.txt owner 0:0');
    const digest = env.inspectDigest(`${env.intermediate.host}/buildah/app:1.4.0`);
    expect(expectServed(env, containerOf(run, 'promote').terminationMessage)).toEqual([`${env.harbor.host}/platform/buildah-app:1.4.0@${digest}`]);
  });
});

describe('BuildkitBuildJob on a real node, with the real BuildKit images', () => {
  for (const mode of [BuildkitMode.ROOTLESS, BuildkitMode.PRIVILEGED]) {
    test(`${mode}: builds a multi-stage Dockerfile with RUN steps, records the digest and promotes it`, async () => {
      let level = '';
      const objects = synthesize(chart => {
        level = new BuildkitBuildJob(chart, 'build', {
          mode,
          context: context({ 'Dockerfile': MULTI_STAGE, 'app.txt': `hello from ${mode} BuildKit\n` }),
          destinations: [`${env.intermediate.host}/buildkit-${mode}/app:1.4.0`],
          insecureRegistries: [env.intermediate.host, imagesRegistry],
          buildArgs: { BASE: base, APP_VERSION: '1.4.0' },
          promotion: {
            destinations: [`${env.harbor.host}/platform/buildkit-${mode}-app:1.4.0`],
            credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
          },
        }).podSecurityLevel;
      });
      const run = await env.runJob(objects, level, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
      expect(run.phase, describeJob(run)).toBe('Complete');
      expect(containerOf(run, 'build').log).toContain('app.txt owner 0:0');
      const digest = env.inspectDigest(`${env.intermediate.host}/buildkit-${mode}/app:1.4.0`);
      expect(containerOf(run, 'build').terminationMessage).toBe(`${env.intermediate.host}/buildkit-${mode}/app:1.4.0@${digest}\n`);
      expect(expectServed(env, containerOf(run, 'promote').terminationMessage)).toEqual([`${env.harbor.host}/platform/buildkit-${mode}-app:1.4.0@${digest}`]);
    });
  }
});

describe('BuildkitBuildJob rootless with username/password credentials on a real node', () => {
  test('rootless BuildKit (uid 1000) reads the composed config.json and pushes to the TLS + htpasswd registry', async () => {
    let level = '';
    const objects = synthesize(chart => {
      level = new BuildkitBuildJob(chart, 'build', {
        context: context({ 'Dockerfile': 'ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\n', 'app.txt': 'pushed with composed credentials\n' }),
        destinations: [`${env.harbor.host}/platform/buildkit-credentials:1.0.0`],
        insecureRegistries: [imagesRegistry],
        buildArgs: { BASE: base },
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      }).podSecurityLevel;
    });
    const run = await env.runJob(objects, level, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
    expect(run.phase, describeJob(run)).toBe('Complete');
    expect(expectServed(env, containerOf(run, 'build').terminationMessage)).toHaveLength(1);
    expect(await env.harbor.repositories()).toContain('platform/buildkit-credentials');
  });
});
