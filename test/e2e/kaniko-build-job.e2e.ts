/**
 * KanikoBuildJob, run for real except for the kaniko binary itself (see README.md: the stand-in pushes a
 * prebuilt image). Context download and unpack run with curl and busybox, the auth file is composed by
 * the real script, and the promotion copies the digest the build step recorded with skopeo.
 */
import { createHash } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, KANIKO_FLAGS, skopeoInspectDigest, startEnvironment,
  synthesize, usernamePasswordSecret,
} from './environment';
import { tarGz } from './oci';
import { PodResult, RunOptions } from './runner';
import { BuildContext, KanikoBuildJob, KanikoBuildJobProps, RegistryCredentials } from '../../src';

const CONTEXT = tarGz({ 'Dockerfile': 'FROM scratch\nCOPY app.txt /\n', 'app.txt': 'hello\n' });
const CONTEXT_SHA256 = createHash('sha256').update(CONTEXT).digest('hex');

let env: E2eEnvironment;
beforeAll(async () => {
  env = await startEnvironment('kaniko');
});
afterAll(async () => {
  await env?.stop();
});

/** Runs a KanikoBuildJob building `repository` on the intermediate registry from the context at `url`. */
async function build(repository: string, url: string, extra: Partial<KanikoBuildJobProps> = {}, stat: [string, string][] = [],
  options: Omit<RunOptions, 'stat'> = {}): Promise<PodResult> {
  const objects = synthesize(chart => new KanikoBuildJob(chart, 'build', {
    context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
    destinations: [`${env.intermediate.host}/${repository}:1.4.0`],
    insecureRegistries: [env.intermediate.host],
    ...extra,
  }));
  return env.runner.run([...objects, usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], { ...options, stat });
}

/** Asserts the context download failed in fetch-context with `message`, and nothing was built or pushed. */
async function expectFailedDownload(result: PodResult, repository: string, message: RegExp): Promise<void> {
  expect(result.phase).toBe('Failed');
  expect(result.containers.map(c => c.name)).toEqual(['fetch-context']);
  const fetch = containerOf(result, 'fetch-context');
  expect(fetch.exitCode).toBe(1);
  expect(fetch.stderr).toMatch(message);
  expect(fetch.terminationMessage).toMatch(message);
  expect(await env.intermediate.repositories()).not.toContain(repository);
}

describe('KanikoBuildJob', () => {
  test('a local directory travels in its ConfigMap: unpacked from the read-only mount by busybox tar, then built', async () => {
    // GIVEN: a context with a .dockerignore'd file and an executable
    const dir = mkdtempSync(join(tmpdir(), 'local-context-'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /\n');
    writeFileSync(join(dir, 'app.txt'), 'hello\n');
    writeFileSync(join(dir, '.dockerignore'), 'notes.md\n');
    writeFileSync(join(dir, 'notes.md'), 'not sent\n');
    const objects = synthesize(chart => new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromLocalDirectory(dir),
      destinations: [`${env.intermediate.host}/build/local:1.0.0`],
      insecureRegistries: [env.intermediate.host],
    }));
    // WHEN
    const result = await env.runner.run(objects, { stat: [['workspace', 'context/app.txt'], ['workspace', 'context/notes.md']] });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['fetch-context', 'build']);
    expect(containerOf(result, 'fetch-context').stderr).toContain('build context ready in /workspace/context');
    expect(result.stats['workspace:context/app.txt']).toMatchObject({ uid: 65532 });
    expect(result.stats['workspace:context/notes.md']).toBeUndefined();
    expect(containerOf(result, 'build').stderr).toContain('Dockerfile /workspace/context/Dockerfile (FROM scratch)');
    expect(await env.intermediate.repositories()).toContain('build/local');
  });

  test('downloads and unpacks the context, builds (stand-in), and promotes the recorded digest with composed credentials', async () => {
    // GIVEN
    const url = env.files.serve('/contexts/api.tar.gz', CONTEXT);
    // WHEN
    const result = await build('build/api', url, {
      buildArgs: { APP_VERSION: '1.4.0', LITERAL: 'a$(HOME)b$$c' },
      labels: { 'org.opencontainers.image.version': '1.4.0' },
      promotion: {
        destinations: [`${env.harbor.host}/platform/api:1.4.0`],
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      },
    }, [['promotion-auth', 'config.json'], ['workspace', 'context/Dockerfile'], ['workspace', 'context.tar.gz']]);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['compose-promotion-auth', 'fetch-context', 'build', 'promote']);
    const digest = env.prebuilt.digest;

    // the context was verified and unpacked by busybox tar, and the archive removed.
    expect(containerOf(result, 'fetch-context').stderr).toContain(`sha256 ${CONTEXT_SHA256} verified`);
    expect(containerOf(result, 'fetch-context').processes.map(p => p.argv[0])).toEqual(expect.arrayContaining(['curl', 'sha256sum', 'tar']));
    expect(result.stats['workspace:context/Dockerfile']).toMatchObject({ uid: 65532, gid: 65532 });
    expect(result.stats['workspace:context.tar.gz']).toBeUndefined();

    // the auth file: 0640, owned by the non-root helper user and the pod's group.
    expect(result.stats['promotion-auth:config.json']).toMatchObject({ uid: 65532, gid: 65532 });
    expect(result.stats['promotion-auth:config.json'].mode.toString(8)).toBe('640');

    // the builder got the kubelet-expanded destination and the user's `$` literally.
    const build_ = containerOf(result, 'build');
    expect(build_.stderr).toContain('Dockerfile /workspace/context/Dockerfile (FROM scratch)');
    const executor = build_.processes.find(p => p.argv[0] === '/kaniko/executor')!;
    expect(executor.argv).toContain(`--destination=${env.intermediate.host}/build/api:1.4.0`);
    expect(executor.argv).toContain('--build-arg=LITERAL=a$(HOME)b$$c');
    expect(build_.terminationMessage).toBe(`${env.intermediate.host}/build/api@${digest}\n`);

    // the promoter copied exactly the digest the build step recorded.
    const promote = containerOf(result, 'promote');
    expect(promote.processes.filter(p => p.argv[1] === 'copy')[0].argv).toContain(`docker://${env.intermediate.host}/build/api@${digest}`);
    expect(promote.terminationMessage).toBe(`${env.harbor.host}/platform/api:1.4.0@${digest}\n`);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/platform/api:1.4.0`)).toBe(digest);
    expect(skopeoInspectDigest(env, `${env.intermediate.host}/build/api:1.4.0`)).toBe(digest);
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a sha256 mismatch stops before the build', async () => {
    const url = env.files.serve('/contexts/tampered.tar.gz', tarGz({ 'Dockerfile': 'FROM scratch\n', 'evil.txt': 'x' }));
    const result = await build('build/tampered', url);
    await expectFailedDownload(result, 'build/tampered', new RegExp(`sha256 mismatch for ${url}: expected ${CONTEXT_SHA256}, got [0-9a-f]{64}`));
  });

  test('a 404 fails at once, without retries', async () => {
    const url = `${env.files.url}/contexts/missing.tar.gz`;
    const result = await build('build/missing', url);
    await expectFailedDownload(result, 'build/missing', /download of .*missing\.tar\.gz failed \(curl exit code 22\)/);
    expect(containerOf(result, 'fetch-context').stderr).toMatch(/returned error: 404/);
    expect(env.files.count('/contexts/missing.tar.gz')).toBe(1);
  });

  test('a truncated download fails', async () => {
    const url = env.files.route('/contexts/truncated.tar.gz', { kind: 'truncate', body: CONTEXT });
    const result = await build('build/truncated', url);
    await expectFailedDownload(result, 'build/truncated', /download of .*truncated\.tar\.gz failed \(curl exit code 18\)/);
  });

  test('a server that refuses connections at first is retried until it is up', async () => {
    // GIVEN: the port starts listening only once fetch-context has logged a refused connection
    const late = await env.files.serveLater('/contexts/late.tar.gz', CONTEXT);
    const onStderr = (container: string, chunk: string) => {
      if (container === 'fetch-context' && /Failed to connect|Couldn't connect/.test(chunk)) late.listen();
    };
    // WHEN
    const result = await build('build/late', late.url, {}, [], { onStderr });
    // THEN: refused at least once (or the server would never have listened), then one request served
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(containerOf(result, 'fetch-context').stderr).toMatch(/Failed to connect|Couldn't connect/);
    expect(env.files.count('/contexts/late.tar.gz')).toBe(1);
    expect(containerOf(result, 'build').terminationMessage).toBe(`${env.intermediate.host}/build/late@${env.prebuilt.digest}\n`);
  });

  test('two 503 answers are retried, then the download succeeds', async () => {
    const url = env.files.route('/contexts/busy.tar.gz', { kind: 'status-then-serve', status: 503, times: 2, body: CONTEXT });
    const result = await build('build/busy', url);
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(env.files.count('/contexts/busy.tar.gz')).toBe(3);
    expect(containerOf(result, 'build').terminationMessage).toBe(`${env.intermediate.host}/build/busy@${env.prebuilt.digest}\n`);
  });
});

describe('the kaniko stand-in checks the argv against the executor\'s flag set', () => {
  /** Runs a build whose executor args were edited after synthesis, as a hand-patched Job would be. */
  async function buildWithArgs(repository: string, edit: (args: string[]) => string[]): Promise<PodResult> {
    const url = env.files.serve(`/contexts/${repository}.tar.gz`, CONTEXT);
    const objects = synthesize(chart => new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
      destinations: [`${env.intermediate.host}/${repository}:1.0.0`],
      insecureRegistries: [env.intermediate.host],
    }));
    const job = objects.find(o => o.kind === 'Job');
    const container = [...job.spec.template.spec.initContainers, ...job.spec.template.spec.containers].find((c: any) => c.name === 'build');
    container.args = edit(container.args);
    return env.runner.run(objects);
  }

  test('an unknown flag fails the build before anything is pushed', async () => {
    const result = await buildWithArgs('flags/unknown', args => [...args, '--no-such-flag=1']);
    expect(result.phase).toBe('Failed');
    expect(containerOf(result, 'build').stderr).toContain('Error: unknown flag: --no-such-flag');
    expect(await env.intermediate.repositories()).not.toContain('flags/unknown');
  });

  test('a managed single-value flag given twice fails instead of silently keeping the last', async () => {
    const result = await buildWithArgs('flags/twice', args => [...args, '--dockerfile=Other.Dockerfile']);
    expect(result.phase).toBe('Failed');
    expect(containerOf(result, 'build').stderr).toContain('Error: flag given twice: --dockerfile');
    expect(await env.intermediate.repositories()).not.toContain('flags/twice');
  });
});

describe('kaniko arguments against the executor\'s flag set', () => {
  const known = new Map<string, string>();
  for (const flag of KANIKO_FLAGS.flags) {
    known.set(`--${flag.name}`, flag.kind);
    if (flag.shorthand) {
      known.set(`-${flag.shorthand}`, flag.kind);
    }
  }

  /** The args of the build container, split into flag names; fails on anything the executor does not define. */
  function flagsOf(props: Partial<KanikoBuildJobProps>): string[] {
    const objects = synthesize(chart => new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromUrl('https://artifacts.example.com/ctx.tar.gz'),
      destinations: ['registry.internal:5000/build/api:1.0.0'],
      ...props,
    }));
    const job = objects.find(o => o.kind === 'Job');
    const spec = job.spec.template.spec;
    const container = [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === 'build');
    const names: string[] = [];
    const args: string[] = container.args;
    for (let i = 0; i < args.length; i++) {
      expect(args[i], `argument ${i} is a flag`).toMatch(/^-/);
      const name = args[i].split('=')[0];
      expect(known.has(name), `${name} is an executor flag (${KANIKO_FLAGS.source})`).toBe(true);
      if (!args[i].includes('=') && known.get(name) !== 'bool') {
        i++; // the value follows as its own argument
      }
      names.push(name);
    }
    for (const name of new Set(names)) {
      if (known.get(name) !== 'repeatable') {
        expect(names.filter(n => n === name), `${name} given once`).toHaveLength(1);
      }
    }
    return names;
  }

  test('the flag list was taken from the fork\'s root command', () => {
    expect(KANIKO_FLAGS.source).toMatch(/^https:\/\/github\.com\/osscontainertools\/kaniko\/blob\/[0-9a-f]{40}\/cmd\/executor\/cmd\/root\.go$/);
    expect(known.size).toBeGreaterThan(50);
  });

  test('defaults use only known flags, each non-repeatable flag once', () => {
    const names = flagsOf({});
    expect(names).toEqual(expect.arrayContaining(['--context', '--dockerfile', '--destination', '--digest-file', '--image-name-with-digest-file']));
  });

  test('every option together uses only known flags, each non-repeatable flag once', () => {
    const names = flagsOf({
      destinations: ['registry.internal:5000/build/api:1.0.0', 'registry.internal:5000/build/api:latest-build'],
      buildArgs: { A: '1', B: '2' },
      target: 'runtime',
      labels: { 'a.b/c': 'd', 'e': 'f' },
      cache: { repository: 'registry.internal:5000/build/api-cache', ttl: undefined },
      insecureRegistries: ['registry.internal:5000', 'mirror.internal:5000'],
      extraArgs: ['--snapshot-mode=full', '--push-retry=5', '--compressed-caching=false', '--ignore-path=/var/cache', '--skip-tls-verify-pull'],
      promotion: { destinations: ['harbor.example.com/platform/api:1.0.0'] },
    });
    expect(names.filter(n => n === '--destination')).toHaveLength(2);
    expect(names.filter(n => n === '--ignore-path')).toHaveLength(2);
  });

  test('a git context uses only known flags', () => {
    const names = flagsOf({ context: BuildContext.fromGit('https://github.com/acme/api.git', { ref: 'main', subPath: 'services/api' }) });
    expect(names).toEqual(expect.arrayContaining(['--context', '--context-sub-path', '--dockerfile']));
  });

  test('no deprecated alias is ever emitted', () => {
    const deprecated = new Set(KANIKO_FLAGS.deprecated.map(f => `--${f.name}`));
    const names = flagsOf({ extraArgs: ['--snapshot-mode=time'] });
    expect(names.filter(n => deprecated.has(n))).toEqual([]);
  });
});
