import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  BuildahBuildJob, BuildContext, CredentialsSource, KanikoBatchShape, KanikoBuildBatch, KanikoBuildJob, RegistryCredentials, SkopeoPromoteJob,
} from '../src';
import { container, envOf, newChart, synth, synthJob } from './util';
import { COMPOSE_AUTH_SCRIPT } from '../src/_scripts';

const CONTEXT_URL = 'https://artifacts.example.com/api.tar.gz';
const HARBOR = RegistryCredentials.fromUsernamePassword('harbor-robot', { registries: ['harbor.example.com'] });
const CACHE = RegistryCredentials.fromUsernamePassword('cache-robot', { registries: ['cache.internal:5000'], usernameKey: 'user', passwordKey: 'token' });

function kaniko(credentials: RegistryCredentials, cacheRepository?: string) {
  const chart = newChart();
  new KanikoBuildJob(chart, 'api', {
    context: BuildContext.fromUrl(CONTEXT_URL),
    destinations: ['harbor.example.com/platform/api:1.4.0'],
    credentials,
    cache: cacheRepository === undefined ? undefined : { repository: cacheRepository || undefined },
  });
  return synthJob(chart);
}

/** Runs the compose script with `env` (plus PATH, AUTH_FILE and TERMINATION_LOG in a fresh directory). */
function compose(env: { [name: string]: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'compose-'));
  const result = spawnSync('sh', ['-c', COMPOSE_AUTH_SCRIPT], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, TERMINATION_LOG: join(dir, 'termination-log'), AUTH_FILE: join(dir, 'config.json'), ...env },
  });
  return { dir, result };
}

describe('credentials per registry', () => {
  describe('the cache on another registry (the leak this fixes)', () => {
    test.each([
      ['KanikoBuildJob', () => kaniko(RegistryCredentials.fromUsernamePassword('harbor-credentials'), 'cache.thirdparty.io/team/api-cache')],
      ['BuildahBuildJob', () => new BuildahBuildJob(newChart(), 'api', {
        context: BuildContext.fromUrl(CONTEXT_URL),
        destinations: ['harbor.example.com/platform/api:1.4.0'],
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
        cache: { repository: 'cache.thirdparty.io/team/api-cache' },
      })],
    ])('%s: implicit destination credentials and a cache elsewhere are refused, naming both registries', (_, build) => {
      expect(build).toThrow(/^cache\.repository: got "cache\.thirdparty\.io"; expected a registry the credentials \(Secret "harbor-credentials"\) were given for \("harbor\.example\.com"\)/);
    });

    test('KanikoBuildBatch refuses it too', () => {
      const chart = newChart();
      expect(() => new KanikoBuildBatch(chart, 'images', {
        contextsDirectory: join(__dirname, '..', 'examples', 'contexts'),
        skip: ['docs'],
        registries: ['harbor.example.com'],
        repositoryPrefix: 'platform',
        tags: ['1.0'],
        shape: KanikoBatchShape.INDEXED,
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
        cache: { repository: 'cache.thirdparty.io/team/cache' },
      })).toThrow(/^cache\.repository: got "cache\.thirdparty\.io"; .*"harbor\.example\.com"/);
    });

    test('the default cache (in the destination repository) keeps implicit credentials working', () => {
      const env = envOf(container(kaniko(RegistryCredentials.fromUsernamePassword('harbor-credentials'), ''), 'compose-build-auth'));
      expect(env.AUTH_REGISTRIES).toBe('harbor.example.com');
    });

    test('explicit registries: the cache is reached anonymously, config.json names only Harbor', () => {
      const env = envOf(container(kaniko(HARBOR, 'cache.thirdparty.io/team/api-cache'), 'compose-build-auth'));
      expect(env).toMatchObject({ AUTH_REGISTRIES: 'harbor.example.com', HARBOR_USERNAME: 'secret:harbor-robot/username' });
      expect(env.AUTH_MORE_CREDENTIALS).toBeUndefined();
    });

    test('combine(): each credential only under its own registries', () => {
      const env = envOf(container(kaniko(RegistryCredentials.combine([HARBOR, CACHE]), 'cache.internal:5000/team/api-cache'), 'compose-build-auth'));
      expect(env).toEqual({
        AUTH_FILE: '/auth/config.json',
        AUTH_REGISTRIES: 'harbor.example.com',
        HARBOR_USERNAME: 'secret:harbor-robot/username',
        HARBOR_PASSWORD: 'secret:harbor-robot/password',
        AUTH_REGISTRIES_1: 'cache.internal:5000',
        HARBOR_USERNAME_1: 'secret:cache-robot/user',
        HARBOR_PASSWORD_1: 'secret:cache-robot/token',
        AUTH_MORE_CREDENTIALS: '1',
      });
    });
  });

  test('SkopeoPromoteJob: source and destination files each hold only their own credential', () => {
    const chart = newChart();
    new SkopeoPromoteJob(chart, 'promote', {
      source: 'cache.internal:5000/team/api:1',
      sourceCredentials: CACHE,
      destinations: ['harbor.example.com/platform/api:1'],
      destinationCredentials: HARBOR,
    });
    const job = synthJob(chart);
    expect(envOf(container(job, 'compose-source-auth'))).toMatchObject({ AUTH_REGISTRIES: 'cache.internal:5000', HARBOR_USERNAME: 'secret:cache-robot/user' });
    expect(envOf(container(job, 'compose-destination-auth'))).toMatchObject({ AUTH_REGISTRIES: 'harbor.example.com', HARBOR_USERNAME: 'secret:harbor-robot/username' });
    synth(chart);
  });

  test('the compose script writes each credential under its own registries only', () => {
    const { dir, result } = compose({
      AUTH_REGISTRIES: 'harbor.example.com',
      HARBOR_USERNAME: 'harbor',
      HARBOR_PASSWORD: 'h "pw"',
      AUTH_REGISTRIES_1: 'cache.internal:5000 mirror.internal',
      HARBOR_USERNAME_1: 'cache',
      HARBOR_PASSWORD_1: "c 'pw' $(id)",
      AUTH_MORE_CREDENTIALS: '1',
    });
    expect(result.stderr).toContain('wrote 2 credential(s)');
    expect(result.status).toBe(0);
    const token = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({
      auths: {
        'harbor.example.com': { auth: token('harbor', 'h "pw"') },
        'cache.internal:5000': { auth: token('cache', "c 'pw' $(id)") },
        'mirror.internal': { auth: token('cache', "c 'pw' $(id)") },
      },
    });
  });

  test('the compose script names a missing variable of a further credential', () => {
    const { result } = compose({ AUTH_REGISTRIES: 'r.io', HARBOR_USERNAME: 'u', HARBOR_PASSWORD: 'p', AUTH_MORE_CREDENTIALS: '1', AUTH_REGISTRIES_1: 's.io' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing required environment variable(s): HARBOR_USERNAME_1 HARBOR_PASSWORD_1');
  });

  describe('RegistryCredentials', () => {
    test('registries are canonical and exposed; combine() keeps its parts', () => {
      expect(RegistryCredentials.fromUsernamePassword('r', { registries: ['index.docker.io', 'harbor.example.com'] }).registries).toEqual(['docker.io', 'harbor.example.com']);
      expect(RegistryCredentials.fromUsernamePassword('r').registries).toBeUndefined();
      const combined = RegistryCredentials.combine([HARBOR, CACHE]);
      expect(combined.source).toBe(CredentialsSource.PER_REGISTRY);
      expect(combined.combined).toEqual([HARBOR, CACHE]);
      expect(combined.secretName).toBeUndefined();
    });

    test.each([
      [() => RegistryCredentials.fromUsernamePassword('r', { registries: [] }), /^RegistryCredentials.fromUsernamePassword registries: got \[\]; expected a non-empty list of registry hosts/],
      [() => RegistryCredentials.fromUsernamePassword('r', { registries: ['https://harbor.example.com'] }),
        /^RegistryCredentials.fromUsernamePassword registries\[0\]: got "https:\/\/harbor.example.com"; expected a lower-case registry host .*no scheme, path/],
      [() => RegistryCredentials.fromUsernamePassword('r', { registries: ['harbor.example.com/platform'] }), /registries\[0\]: got "harbor.example.com\/platform"/],
      [() => RegistryCredentials.fromUsernamePassword('r', { registries: ['docker.io', 'registry-1.docker.io'] }), /registries\[1\]: got "registry-1.docker.io"; expected each registry once$/],
      [() => RegistryCredentials.fromUsernamePassword('r', { registries: ['a.io'], additionalRegistries: ['b.io'] }),
        /^RegistryCredentials.fromUsernamePassword additionalRegistries: got \["b.io"\]; expected no additionalRegistries next to registries/],
      [() => RegistryCredentials.combine([]), /^RegistryCredentials.combine credentials: got \[\]; expected a non-empty list/],
      [() => RegistryCredentials.combine([HARBOR, RegistryCredentials.fromDockerConfigSecret('push')]),
        /^RegistryCredentials.combine credentials\[1\]: got "push"; expected RegistryCredentials.fromUsernamePassword\(secretName, \{ registries: \[...\] \}\)/],
      [() => RegistryCredentials.combine([RegistryCredentials.fromUsernamePassword('implicit')]), /^RegistryCredentials.combine credentials\[0\]: got "implicit"/],
      [() => RegistryCredentials.combine([HARBOR, RegistryCredentials.fromUsernamePassword('other', { registries: ['b.io', 'harbor.example.com'] })]),
        /^RegistryCredentials.combine credentials\[1\].registries: got "harbor.example.com"; expected each registry in one credential only; it is also in credentials\[0\] \(Secret "harbor-robot"\)$/],
    ])('bad input %#: one-line error', (build, message) => {
      expect(build).toThrow(message);
    });
  });
});
