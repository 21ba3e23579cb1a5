import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { Construct } from 'constructs';
import { describe, expect, test } from 'vitest';
import { JobName, KanikoBatchShape, KanikoBuildBatch, KanikoBuildBatchProps, PodSecurityLevel, RegistryCredentials, ToolImages } from '../src';
import { container, containerNames, envOf, KANIKO_DEFAULT_ARGS, newChart, synth, volumeAt } from './util';
import { FETCH_CONTEXT_SCRIPT, KANIKO_INDEXED_BUILD_SCRIPT } from '../src/_scripts';

/** A contexts directory: each name gets a Dockerfile and a file of its own, unless listed in `without`. */
function contextsDirectory(names: string[], without: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'contexts-'));
  for (const name of [...names, ...without]) {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, 'app.txt'), `${name}\n`);
    if (!without.includes(name)) {
      writeFileSync(join(root, name, 'Dockerfile'), `FROM docker.io/library/alpine:3.22\nCOPY app.txt /${name}.txt\n`);
    }
  }
  return root;
}

function batch(props: Partial<KanikoBuildBatchProps> = {}, dir = contextsDirectory(['api', 'worker'])) {
  const chart = newChart();
  const construct = new KanikoBuildBatch(chart, 'images', {
    contextsDirectory: dir,
    registries: ['harbor.example.com'],
    repositoryPrefix: 'vcity/grim',
    tags: ['2.0'],
    ...props,
  });
  const objects = synth(chart);
  return { chart, construct, objects, jobs: objects.filter(o => o.kind === 'Job'), configMaps: objects.filter(o => o.kind === 'ConfigMap') };
}

describe('KanikoBuildBatch', () => {
  test.each([KanikoBatchShape.JOBS, KanikoBatchShape.INDEXED])('%s: every build carries the revision and source annotations', shape => {
    const sha = 'a'.repeat(40);
    const { jobs } = batch({ shape, commitSha: sha, sourceUrl: 'https://github.com/example/monorepo' });
    for (const job of jobs) {
      const args: string[] = [...job.spec.template.spec.containers, ...job.spec.template.spec.initContainers ?? []].flatMap((c: any) => c.args ?? []);
      expect(args).toContain('--annotation=org.opencontainers.image.source=https://github.com/example/monorepo');
      expect(args).toContain(`--annotation=org.opencontainers.image.revision=${sha}`);
    }
  });

  test('defaults: one KanikoBuildJob per discovered context, each with its own ConfigMap and image name', () => {
    // GIVEN: "docs" has no Dockerfile and is skipped on purpose
    const dir = contextsDirectory(['api', 'Worker_Service'], ['docs']);

    // WHEN
    const { construct, jobs, configMaps } = batch({ skip: ['docs'] }, dir);

    // THEN
    expect(construct.shape).toBe(KanikoBatchShape.JOBS);
    expect(construct.podSecurityLevel).toBe(PodSecurityLevel.BASELINE);
    expect(construct.contextNames).toEqual(['Worker_Service', 'api']);
    expect(construct.imageNames).toEqual(['worker_service', 'api']);
    expect(construct.plannedImages).toEqual(['harbor.example.com/vcity/grim/worker_service:2.0', 'harbor.example.com/vcity/grim/api:2.0']);
    expect(construct.jobs).toHaveLength(2);
    expect(jobs).toHaveLength(2);
    expect(configMaps).toHaveLength(2);
    const first = jobs[0];
    expect(containerNames(first)).toEqual({ init: ['fetch-context'], main: ['build'] });
    // no promotion: the build pushes to the final registry, and the variables say so
    expect(container(first, 'build').args).toContain('--destination=$(DESTINATION_REGISTRY)/$(DESTINATION_IMAGE_NAME):$(DESTINATION_IMAGE_TAG)');
    expect(envOf(container(first, 'build'))).toMatchObject({ DESTINATION_REGISTRY: 'harbor.example.com', DESTINATION_IMAGE_NAME: 'vcity/grim/worker_service', DESTINATION_IMAGE_TAG: '2.0' });
    expect(envOf(container(first, 'build')).INTERMEDIATE_REGISTRY_URL).toBeUndefined();
    expect(volumeAt(first, container(first, 'fetch-context'), '/context-archive').volume.configMap.name).toBe(configMaps[0].metadata.name);
    expect(first.spec.parallelism).toBeUndefined();
    expect(first.spec.completionMode).toBeUndefined();
  });

  test('INDEXED: one Job, one completion per context, two at a time by default', () => {
    // WHEN
    const { construct, jobs, configMaps } = batch({
      shape: KanikoBatchShape.INDEXED,
      registries: ['harbor.example.com', 'mirror.example.com:5000'],
      tags: ['2.0', 'latest-build'],
      credentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
      cache: {},
    }, contextsDirectory(['a', 'b', 'c']));
    const job = jobs[0];
    const build = container(job, 'build');
    const fetch = container(job, 'fetch-context');

    // THEN
    expect(construct.jobs).toHaveLength(1);
    expect(jobs).toHaveLength(1);
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 2, backoffLimit: 1 });
    expect(construct.plannedImages).toHaveLength(12);
    expect(configMaps.map(c => Object.keys(c.binaryData))).toEqual([['context.tar.gz'], ['context.tar.gz'], ['context.tar.gz']]);
    expect(fetch.command[2]).toBe(FETCH_CONTEXT_SCRIPT);
    expect(envOf(fetch).BUILD_CONTEXT_ARCHIVES).toBe('/context-archives/0/context.tar.gz\n/context-archives/1/context.tar.gz\n/context-archives/2/context.tar.gz');
    expect(volumeAt(job, fetch, '/context-archives/2')).toEqual({
      mount: { mountPath: '/context-archives/2', name: 'context-2', readOnly: true },
      volume: { name: 'context-2', configMap: { name: configMaps[2].metadata.name } },
    });
    expect(build.image).toBe(ToolImages.KANIKO_DEBUG);
    expect(build.command.slice(0, 2)).toEqual(['/busybox/sh', '-c']);
    expect(build.command[2]).toBe(KANIKO_INDEXED_BUILD_SCRIPT);
    expect(build.args).toEqual([
      'build',
      '--context=dir:///workspace/context',
      '--dockerfile=/workspace/context/$(DOCKERFILE_PATH)',
      '--digest-file=/results/digest',
      '--image-name-with-digest-file=/dev/termination-log',
      ...KANIKO_DEFAULT_ARGS,
    ]);
    const env = envOf(build);
    expect(env.CONTEXT_NAMES).toBe('a\nb\nc');
    expect(env.INDEXED_DESTINATIONS.split('\n')[1]).toBe(
      'harbor.example.com/vcity/grim/b:2.0 harbor.example.com/vcity/grim/b:latest-build mirror.example.com:5000/vcity/grim/b:2.0 mirror.example.com:5000/vcity/grim/b:latest-build');
    expect(env.INDEXED_CACHE_REPOS).toBe('harbor.example.com/vcity/grim/a/cache\nharbor.example.com/vcity/grim/b/cache\nharbor.example.com/vcity/grim/c/cache');
    expect(volumeAt(job, build, '/kaniko/.docker').volume.secret.secretName).toBe('harbor-push');
    expect(job.spec.template.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('build');
  });

  test('INDEXED: parallelism never exceeds the number of contexts', () => {
    const { jobs } = batch({ shape: KanikoBatchShape.INDEXED, parallelism: 5 });
    expect(jobs[0].spec).toMatchObject({ completions: 2, parallelism: 2 });
  });

  test('an explicit list, an image name template and tag templates', () => {
    // GIVEN
    const dir = contextsDirectory(['api', 'worker', 'unused']);

    // WHEN
    const { construct, jobs } = batch({
      contexts: ['worker', 'api'],
      imageNameFor: 'svc-{{name}}',
      tags: ['v{{date}}-{{shortSha}}'],
      tagValues: { commitSha: 'a'.repeat(40), timestamp: new Date('2026-03-04T05:06:07Z') },
    }, dir);

    // THEN: the list's order, and the commit the tag used becomes BUILD_COMMIT_SHA
    expect(construct.plannedImages).toEqual(['harbor.example.com/vcity/grim/svc-worker:v20260304-aaaaaaa', 'harbor.example.com/vcity/grim/svc-api:v20260304-aaaaaaa']);
    expect(container(jobs[0], 'build').args).toContain(`--build-arg=BUILD_COMMIT_SHA=${'a'.repeat(40)}`);
  });

  test('tags that do not use the commit add no BUILD_COMMIT_SHA, even when the commit is known', () => {
    // WHEN
    const { jobs } = batch({ tags: ['2.0'], tagValues: { commitSha: 'a'.repeat(40) } });

    // THEN
    expect(container(jobs[0], 'build').args.filter((a: string) => a.startsWith('--build-arg=BUILD_COMMIT_SHA'))).toEqual([]);
  });

  test('same directory, byte-identical YAML in both shapes', () => {
    const dir = contextsDirectory(['a', 'b']);
    for (const shape of [KanikoBatchShape.JOBS, KanikoBatchShape.INDEXED]) {
      expect(JSON.stringify(batch({ shape }, dir).objects)).toBe(JSON.stringify(batch({ shape }, dir).objects));
    }
  });

  describe('the Indexed build script, run with sh', () => {
    /** Runs the script with a fake executor that prints its arguments, one per line. */
    function runBuild(env: { [name: string]: string }) {
      const dir = mkdtempSync(join(tmpdir(), 'indexed-'));
      const executor = join(dir, 'executor');
      writeFileSync(executor, '#!/bin/sh\nprintf \'%s\\n\' "$@" >"$ARGS_FILE"\n');
      chmodSync(executor, 0o755);
      const result = spawnSync('sh', ['-c', KANIKO_INDEXED_BUILD_SCRIPT, 'build', '--context=dir:///workspace/context', '--verbosity=info'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, KANIKO_EXECUTOR: executor, ARGS_FILE: join(dir, 'args'), TERMINATION_LOG: join(dir, 'termination-log'), ...env },
      });
      const args = result.status === 0 ? readFileSync(join(dir, 'args'), 'utf8').trim().split('\n') : [];
      return { result, args, terminationLog: () => readFileSync(join(dir, 'termination-log'), 'utf8') };
    }

    const LISTS = {
      CONTEXT_NAMES: 'a\nb\nc',
      INDEXED_DESTINATIONS: 'r.example.com/p/a:1\nr.example.com/p/b:1 m.example.com/p/b:1\nr.example.com/p/c:1',
      INDEXED_CACHE_REPOS: 'r.example.com/p/a/cache\nr.example.com/p/b/cache\nr.example.com/p/c/cache',
    };

    test('index 1 builds context b: the shared flags, then its destinations and its cache', () => {
      const { result, args } = runBuild({ ...LISTS, JOB_COMPLETION_INDEX: '1' });
      expect(result.status).toBe(0);
      expect(result.stderr).toContain('building context b for r.example.com/p/b:1 m.example.com/p/b:1');
      expect(args).toEqual([
        '--context=dir:///workspace/context',
        '--verbosity=info',
        '--destination=r.example.com/p/b:1',
        '--destination=m.example.com/p/b:1',
        '--cache=true',
        '--cache-repo=r.example.com/p/b/cache',
      ]);
    });

    test('without a cache list no cache flag is added', () => {
      const { args } = runBuild({ CONTEXT_NAMES: LISTS.CONTEXT_NAMES, INDEXED_DESTINATIONS: LISTS.INDEXED_DESTINATIONS, JOB_COMPLETION_INDEX: '2' });
      expect(args).toEqual(['--context=dir:///workspace/context', '--verbosity=info', '--destination=r.example.com/p/c:1']);
    });

    test('an index past the lists fails, in the termination message too', () => {
      const { result, terminationLog } = runBuild({ ...LISTS, JOB_COMPLETION_INDEX: '3' });
      expect(result.status).toBe(1);
      expect(terminationLog()).toContain('error: CONTEXT_NAMES has no entry for JOB_COMPLETION_INDEX 3');
    });

    test('outside an Indexed Job it says so', () => {
      const { result } = runBuild({ ...LISTS });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("JOB_COMPLETION_INDEX must be a whole number, got '' (is this an Indexed Job?)");
    });
  });

  test('the fetch script, run with sh, unpacks the archive at JOB_COMPLETION_INDEX', () => {
    // GIVEN: the batch's own ConfigMaps written where the pod mounts them
    const { configMaps } = batch({ shape: KanikoBatchShape.INDEXED }, contextsDirectory(['a', 'b']));
    const pod = mkdtempSync(join(tmpdir(), 'pod-'));
    const archives = configMaps.map((c, i) => {
      const file = join(pod, 'context-archives', String(i), 'context.tar.gz');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, Buffer.from(c.binaryData['context.tar.gz'], 'base64'));
      return file;
    });

    // WHEN
    const result = spawnSync('sh', ['-c', FETCH_CONTEXT_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TERMINATION_LOG: join(pod, 't'), BUILD_CONTEXT_ARCHIVES: archives.join('\n'), JOB_COMPLETION_INDEX: '1', CONTEXT_DIR: join(pod, 'ctx'), DOCKERFILE_PATH: 'Dockerfile' },
    });

    // THEN
    expect(result.status).toBe(0);
    expect(readFileSync(join(pod, 'ctx', 'app.txt'), 'utf8')).toBe('b\n');
  });

  test('INDEXED builds contexts whose image names differ only in "." and "-" (no construct id per image)', () => {
    // WHEN
    const { construct, jobs } = batch({ shape: KanikoBatchShape.INDEXED }, contextsDirectory(['a.b', 'a-b']));

    // THEN
    expect(construct.imageNames).toEqual(['a-b', 'a.b']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].spec.completions).toBe(2);
  });


  describe('discovery', () => {
    /** A contexts directory whose sub-directories hold the given files (name → content). */
    function tree(layout: { [dir: string]: { [file: string]: string } }): string {
      const root = mkdtempSync(join(tmpdir(), 'contexts-'));
      for (const [dir, files] of Object.entries(layout)) {
        mkdirSync(join(root, dir), { recursive: true });
        for (const [file, content] of Object.entries(files)) {
          mkdirSync(dirname(join(root, dir, file)), { recursive: true });
          writeFileSync(join(root, dir, file), content);
        }
      }
      return root;
    }
    const FROM = 'FROM docker.io/library/alpine:3.22\n';

    test('finds Dockerfile, dockerfile (kaniko --dockerfile=dockerfile) and Containerfile, each context its own', () => {
      // GIVEN: a monorepo whose contexts spell the file three ways, and a plain file next to them
      const dir = tree({ upper: { Dockerfile: FROM }, lower: { dockerfile: FROM }, podman: { Containerfile: FROM } });
      writeFileSync(join(dir, 'README.md'), 'not a context\n');

      // WHEN
      const { construct, jobs } = batch({}, dir);

      // THEN
      expect(construct.contextNames).toEqual(['lower', 'podman', 'upper']);
      expect(jobs.map(j => envOf(container(j, 'build')).DOCKERFILE_PATH)).toEqual(['dockerfile', 'Containerfile', 'Dockerfile']);
      expect(jobs.map(j => envOf(container(j, 'fetch-context')).DOCKERFILE_PATH)).toEqual(['dockerfile', 'Containerfile', 'Dockerfile']);
    });

    test('two recognised files that are one file (a symlink) count once; the first name in the order is used', () => {
      const dir = tree({ app: { Dockerfile: FROM } });
      symlinkSync('Dockerfile', join(dir, 'app', 'Containerfile'));
      const { jobs } = batch({}, dir);
      expect(envOf(container(jobs[0], 'build')).DOCKERFILE_PATH).toBe('Dockerfile');
    });

    test('every directory that is not a context is listed in one error, with why', () => {
      const dir = tree({ api: { Dockerfile: FROM }, docs: { 'index.md': '#\n' }, both: { Dockerfile: FROM, Containerfile: `${FROM}RUN true\n` } });
      expect(() => batch({}, dir)).toThrow(new RegExp(
        '^contextsDirectory: got ".*"; expected every sub-directory to be a build context or listed in skip; not contexts: ' +
        '"both" \\(both Dockerfile and Containerfile; name one in contextOverrides.both.dockerfile\\), "docs" \\(none of Dockerfile, dockerfile, Containerfile\\)$'));
    });

    test('skip leaves directories out; an override picks one of two files', () => {
      const dir = tree({ api: { Dockerfile: FROM }, docs: { 'index.md': '#\n' }, both: { Dockerfile: FROM, Containerfile: `${FROM}RUN true\n` } });
      const { construct, jobs } = batch({ skip: ['docs'], contextOverrides: { both: { dockerfile: 'Containerfile' } } }, dir);
      expect(construct.contextNames).toEqual(['api', 'both']);
      expect(envOf(container(jobs[1], 'build')).DOCKERFILE_PATH).toBe('Containerfile');
    });

    test('the batch dockerfile is looked for in every context', () => {
      const dir = tree({ a: { 'build/Dockerfile.ci': FROM, 'Dockerfile': FROM }, b: { 'build/Dockerfile.ci': FROM } });
      const { jobs } = batch({ dockerfile: 'build/Dockerfile.ci' }, dir);
      expect(jobs.map(j => envOf(container(j, 'build')).DOCKERFILE_PATH)).toEqual(['build/Dockerfile.ci', 'build/Dockerfile.ci']);
      expect(() => batch({ dockerfile: 'build/Dockerfile.ci' }, tree({ a: { Dockerfile: FROM } })))
        .toThrow(/not contexts: "a" \(no build\/Dockerfile.ci\)$/);
    });

    test('per-context overrides: dockerfile, build args, tags and image name', () => {
      // GIVEN
      const dir = tree({ api: { Dockerfile: FROM }, legacy: { 'docker/Dockerfile.old': FROM } });

      // WHEN
      const { construct, jobs } = batch({
        buildArgs: { BASE: 'alpine', MODE: 'prod' },
        contextOverrides: { legacy: { dockerfile: 'docker/Dockerfile.old', buildArgs: { MODE: 'compat' }, tags: ['1.9', 'legacy'], imageName: 'old/api' } },
      }, dir);

      // THEN
      expect(construct.imageNames).toEqual(['api', 'old/api']);
      expect(construct.plannedImages).toEqual([
        'harbor.example.com/vcity/grim/api:2.0', 'harbor.example.com/vcity/grim/old/api:1.9', 'harbor.example.com/vcity/grim/old/api:legacy',
      ]);
      const [api, legacy] = jobs.map(j => container(j, 'build'));
      expect(envOf(legacy).DOCKERFILE_PATH).toBe('docker/Dockerfile.old');
      expect(legacy.args).toEqual(expect.arrayContaining(['--build-arg=BASE=alpine', '--build-arg=MODE=compat']));
      expect(api.args).toEqual(expect.arrayContaining(['--build-arg=BASE=alpine', '--build-arg=MODE=prod']));
    });

    test('INDEXED: per-context tags and image names; one Dockerfile path for all', () => {
      const dir = tree({ a: { dockerfile: FROM }, b: { dockerfile: FROM } });
      const { construct, jobs } = batch({ shape: KanikoBatchShape.INDEXED, contextOverrides: { b: { tags: ['3.0'], imageName: 'bee' } } }, dir);
      expect(construct.plannedImages).toEqual(['harbor.example.com/vcity/grim/a:2.0', 'harbor.example.com/vcity/grim/bee:3.0']);
      expect(envOf(container(jobs[0], 'build')).DOCKERFILE_PATH).toBe('dockerfile');
      expect(() => batch({ shape: KanikoBatchShape.INDEXED }, tree({ a: { dockerfile: FROM }, b: { Dockerfile: FROM } })))
        .toThrow(/^shape: got "indexed"; expected contexts with one Dockerfile path for KanikoBatchShape.INDEXED; "a" uses "dockerfile" and "b" uses "Dockerfile"/);
      expect(() => batch({ shape: KanikoBatchShape.INDEXED, contextOverrides: { a: { buildArgs: { X: '1' } } } }, dir))
        .toThrow(/^contextOverrides.a.buildArgs: got \{"X":"1"\}; expected no per-context build args with KanikoBatchShape.INDEXED/);
    });
  });

  describe('fails when', () => {
    test.each<[string, () => unknown, RegExp]>([
      ['the contexts directory is missing', () => batch({ contextsDirectory: 'no/such/contexts' }),
        /^contextsDirectory: got "no\/such\/contexts"; expected an existing directory$/],
      ['no sub-directory holds a Dockerfile', () => batch({}, contextsDirectory([], ['docs'])),
        /^contextsDirectory: got ".*"; expected every sub-directory to be a build context or listed in skip; not contexts: "docs" \(none of Dockerfile, dockerfile, Containerfile\)$/],
      ['every sub-directory is skipped', () => batch({ skip: ['docs'] }, contextsDirectory([], ['docs'])),
        /^contextsDirectory: got ".*"; expected at least one sub-directory that is a build context; found none$/],
      ['skip names no sub-directory', () => batch({ skip: ['doc'] }), /^skip\[0\]: got "doc"; expected a sub-directory of ".*"; found \["api","worker"\]$/],
      ['skip is given with contexts', () => batch({ contexts: ['api'], skip: ['worker'] }), /^skip: got \["worker"\]; expected skip only when contexts are discovered/],
      ['an override names no context', () => batch({ contextOverrides: { apj: { tags: ['1'] } } }),
        /^contextOverrides.apj: got \{"tags":\["1"\]\}; names no context; expected one of \["api","worker"\]$/],
      ['an override image name is invalid', () => batch({ contextOverrides: { api: { imageName: 'API' } } }), /^contextOverrides.api.imageName: got "API"; expected a repository name/],
      ['an override has no tags', () => batch({ contextOverrides: { api: { tags: [] } } }), /^contextOverrides.api.tags: got \[\]; expected at least one tag/],
      ['the repository prefix is invalid', () => batch({ repositoryPrefix: 'VCity/grim' }), /^repositoryPrefix: got "VCity\/grim"; expected repository path components/],
      ['a tag makes an invalid reference', () => batch({ registries: ['harbor.example.com'], tags: ['2.0'], contextOverrides: { api: { imageName: 'a'.repeat(300) } } }),
        /^destinations of context "api"\[0\]: got "harbor.example.com\/vcity\/grim\/a+:2.0"/],
      ['neither a directory nor a list is given', () => batch({ contextsDirectory: undefined }),
        /^contextsDirectory: got undefined; expected a directory of build contexts, or a list of contexts$/],
      ['a listed context is missing', () => batch({ contexts: ['api', 'gone'] }), /^contexts\[1\]: got "gone"; expected an existing directory$/],
      ['a listed context has no Dockerfile', () => batch({ contexts: ['docs'] }, contextsDirectory(['api'], ['docs'])),
        /^contexts\[0\]: got "docs"; expected a build context directory; it holds none of Dockerfile, dockerfile, Containerfile$/],
      ['two contexts map to one image name', () => batch({}, contextsDirectory(['API', 'api'])),
        /^imageNameFor: got "\{\{name\}\}"; contexts "API" and "api" both map to the image name "api"; rename a directory or use a template that tells them apart$/],
      ['two image names give one Job name part (JOBS)', () => batch({}, contextsDirectory(['a.b', 'a-b'])),
        /^imageNameFor: got "\{\{name\}\}"; contexts "a-b" and "a.b" map to the image names "a-b" and "a.b", which both give the Job name part "a-b" with KanikoBatchShape.JOBS \(only "-" is kept\); rename a directory, use a template that tells them apart, or use KanikoBatchShape.INDEXED$/],
      ['a context is over maxArchiveBytes', () => batch({ maxArchiveBytes: 10 }),
        /^BuildContext.fromLocalDirectory path: got ".*"; the packed context is \d+ KiB \(\d+ bytes\), over the maxArchiveBytes limit of 10 bytes;/],
      ['a template field has no value', () => batch({ imageNameFor: '{{env:CDK8S_IMAGE_JOBS_UNSET}}-{{name}}' }),
        /^imageNameFor: got "\{\{env:CDK8S_IMAGE_JOBS_UNSET\}\}-\{\{name\}\}"; needs \{\{env:CDK8S_IMAGE_JOBS_UNSET\}\}, which has no value/],
      ['a template field is unknown', () => batch({ imageNameFor: '{{team}}-{{name}}' }), /^imageNameFor: got "\{\{team\}\}-\{\{name\}\}"; has unknown field \{\{team\}\}/],
      ['a rendered image name is invalid', () => batch({ imageNameFor: '{{directory}}' }, contextsDirectory(['Api'])),
        /^imageNameFor: got "\{\{directory\}\}"; rendered "Api" for context "Api", which is not a repository name/],
      ['a rendered tag is invalid', () => batch({ tags: ['{{env:CDK8S_IMAGE_JOBS_TAG}}'], tagValues: { env: { CDK8S_IMAGE_JOBS_TAG: '-bad' } } }),
        /^ImageTag.fromTemplate template: got "\{\{env:CDK8S_IMAGE_JOBS_TAG\}\}"; rendered "-bad", which is not a tag/],
      ['no tag is given', () => batch({ tags: [] }), /^tags: got \[\]; expected at least one tag or ImageTag template$/],
      ['parallelism is set for separate Jobs', () => batch({ parallelism: 3 }), /^parallelism: got 3; expected no parallelism with KanikoBatchShape.JOBS/],
      ['parallelism is zero', () => batch({ shape: KanikoBatchShape.INDEXED, parallelism: 0 }), /^parallelism: got 0; expected a whole number from 1 to 1000$/],
      ['the shape is unknown', () => batch({ shape: 'pods' as KanikoBatchShape }), /^shape: got "pods"; expected KanikoBatchShape.JOBS or KanikoBatchShape.INDEXED$/],
      ['a registry has a path', () => batch({ registries: ['harbor.example.com/vcity'] }), /^registries\[0\]: got "harbor.example.com\/vcity"/],
      ['no registry is given', () => batch({ registries: [] }), /^registries: got \[\]; expected at least one registry host$/],
      ['a registry is not a host', () => batch({ registries: ['harbor'] }), /^registries\[0\]: got "harbor"; expected a registry host/],
      ['the Indexed cache repository has a tag', () => batch({ shape: KanikoBatchShape.INDEXED, cache: { repository: 'harbor.example.com/cache:x' } }),
        /^cache.repository: got "harbor.example.com\/cache:x"; expected a repository without tag or digest/],
    ])('%s', (_, make, message) => {
      expect(make).toThrow(message);
    });
  });

  describe('Job names', () => {
    const eleven = () => contextsDirectory(Array.from({ length: 11 }, (_, i) => `app${i}`));

    test('JOBS: a base name gets each image name, then the hash', () => {
      const { jobs } = batch({ name: JobName.contentHashed('grim') });
      expect(jobs.map(j => j.metadata.name)).toEqual([expect.stringMatching(/^grim-api-[a-f0-9]{8}$/), expect.stringMatching(/^grim-worker-[a-f0-9]{8}$/)]);
    });

    test('INDEXED: every pod hostname "<job name>-<index>" is a DNS label', () => {
      const chart = newChart();
      new KanikoBuildBatch(new Construct(chart, 'platform.team-with-a-rather-long-construct-id'), 'nightly-images', {
        contextsDirectory: eleven(), registries: ['harbor.example.com'], tags: ['2.0'], shape: KanikoBatchShape.INDEXED,
      });
      const job = synth(chart).find(o => o.kind === 'Job');
      expect(job.spec.completions).toBe(11);
      expect(`${job.metadata.name}-10`).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    });

    test.each<[string, JobName, RegExp]>([
      ['a base with a dot', JobName.contentHashed('grim.images'),
        /^name: got "JobName.contentHashed\(\\"grim.images\\"\)"; expected at most 51 characters \(60 with the "-<hash>" suffix\) and no "." for an Indexed Job of 11 pods \(hostnames "<name>-10" must be DNS labels\)$/],
      ['a base too long for the hostnames', JobName.contentHashed('a'.repeat(52)), /^name: got .*; expected at most 51 characters/],
      ['an exact name too long for the hostnames', JobName.exact('a'.repeat(61)), /^name: got .*; expected at most 60 characters and no "."/],
    ])('INDEXED fails with %s', (_, name, message) => {
      expect(() => batch({ name, shape: KanikoBatchShape.INDEXED }, eleven())).toThrow(message);
    });
  });
});

