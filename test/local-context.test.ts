import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { BuildContext, BuildContextSource, KanikoBuildJob, OciConnector, OciConnectorBuildJob, UnifiedImageJob, UnifiedJobMode } from '../src';
import { container, containerNames, envOf, newChart, synth, volumeAt } from './util';
import { IgnoreMatcher } from '../src/_dockerignore';
import { FETCH_CONTEXT_SCRIPT } from '../src/_scripts';

/** Writes files (content, or `{ link }` for a symlink, `{ mode }` for an executable) under a fresh directory. */
function tree(files: { [path: string]: string | { link: string } | { content: string; mode: number } }): string {
  const root = mkdtempSync(join(tmpdir(), 'ctx-'));
  for (const [path, spec] of Object.entries(files)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof spec === 'string') {
      writeFileSync(abs, spec);
    } else if ('link' in spec) {
      symlinkSync(spec.link, abs);
    } else {
      writeFileSync(abs, spec.content);
      chmodSync(abs, spec.mode);
    }
  }
  return root;
}

const SAMPLE = {
  'Dockerfile': 'FROM alpine:3.22\nCOPY . /app\n',
  '.dockerignore': '# build output\nnode_modules\n**/*.log\n!keep.log\n/secret.env\n',
  'app/main.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o750 },
  'app/config/settings.json': '{"a":1}\n',
  'app/current': { link: 'config/settings.json' },
  'keep.log': 'kept\n',
  'debug.log': 'dropped\n',
  'app/trace.log': 'dropped\n',
  'node_modules/left/index.js': 'dropped\n',
  'secret.env': 'dropped\n',
  'docs/secret.env': 'kept: only the root one is ignored\n',
  [`${'long-directory-name/'.repeat(6)}file-with-a-long-name.txt`]: 'needs a PAX header\n',
};

function kanikoChart(dir: string, options: { exclude?: string[]; id?: string } = {}) {
  const chart = newChart();
  new KanikoBuildJob(chart, options.id ?? 'api', {
    context: BuildContext.fromLocalDirectory(dir, { exclude: options.exclude }),
    destinations: ['registry.internal:5000/build/api:1.4.0'],
  });
  return chart;
}

function archiveOf(objects: any[]): Buffer {
  const configMap = objects.find(o => o.kind === 'ConfigMap');
  return Buffer.from(configMap.binaryData['context.tar.gz'], 'base64');
}

function run(cmd: string, args: string[], cwd?: string): string {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  expect(result.stderr, `${cmd} ${args.join(' ')}`).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('BuildContext.fromLocalDirectory', () => {
  test('packs the directory into an immutable ConfigMap that an init container unpacks into the workspace', () => {
    // GIVEN
    const dir = tree(SAMPLE);

    // WHEN
    const objects = synth(kanikoChart(dir));
    const job = objects.find(o => o.kind === 'Job');
    const configMap = objects.find(o => o.kind === 'ConfigMap');

    // THEN
    expect(Object.keys(configMap.binaryData)).toEqual(['context.tar.gz']);
    expect(configMap.immutable).toBe(true);
    expect(configMap.metadata.name).toMatch(/^test-api-context-archive-c[0-9a-f]{7}-[0-9a-f]{12}$/);
    expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['build'] });
    const fetch = container(job, 'fetch-context');
    expect(fetch.command[2]).toBe(FETCH_CONTEXT_SCRIPT);
    expect(envOf(fetch)).toEqual({ BUILD_CONTEXT_ARCHIVE: '/context-archive/context.tar.gz', DOCKERFILE_PATH: 'Dockerfile', CONTEXT_DIR: '/workspace/context' });
    expect(volumeAt(job, fetch, '/context-archive')).toEqual({
      mount: { mountPath: '/context-archive', name: 'context-archive', readOnly: true },
      volume: { name: 'context-archive', configMap: { name: configMap.metadata.name } },
    });
    const build = container(job, 'build');
    expect(build.args.slice(0, 2)).toEqual(['--context=dir:///workspace/context', '--dockerfile=/workspace/context/$(DOCKERFILE_PATH)']);
    expect(volumeAt(job, build, '/workspace').volume.emptyDir).toBeDefined();
  });

  test('the archive, unpacked by real tar, holds the directory minus what .dockerignore excludes', () => {
    // GIVEN
    const dir = tree(SAMPLE);
    const out = mkdtempSync(join(tmpdir(), 'unpacked-'));
    const archive = join(out, 'context.tar.gz');
    writeFileSync(archive, archiveOf(synth(kanikoChart(dir))));

    // WHEN
    const listing = run('tar', ['-tvzf', archive]);
    run('tar', ['-xzf', archive, '-C', out]);

    // THEN: every entry is root-owned with a fixed mtime; executables keep 0755 only
    for (const line of listing.trim().split('\n')) {
      expect(line).toMatch(/^(-rw-r--r--|-rwxr-xr-x|drwxr-xr-x|lrwxrwxrwx) 0\/0 +\d+ 1970-01-01 00:00 /);
    }
    expect(listing).toContain('-rwxr-xr-x 0/0');
    expect(listing).toContain('app/current -> config/settings.json');
    const diff = spawnSync('diff', ['-r', '--no-dereference', '-x', 'context.tar.gz', dir, out], { encoding: 'utf8' });
    expect(diff.stdout.trim().split('\n').sort()).toEqual([
      `Only in ${dir}/app: trace.log`,
      `Only in ${dir}: debug.log`,
      `Only in ${dir}: node_modules`,
      `Only in ${dir}: secret.env`,
    ].sort());
  });

  test('the shared fetch script unpacks the mounted archive without touching it (read-only, as a ConfigMap is)', () => {
    // GIVEN: the archive in a read-only directory, like a ConfigMap mount
    const dir = tree(SAMPLE);
    const work = mkdtempSync(join(tmpdir(), 'pod-'));
    const mount = join(work, 'context-archive');
    mkdirSync(mount);
    writeFileSync(join(mount, 'context.tar.gz'), archiveOf(synth(kanikoChart(dir))));
    chmodSync(join(mount, 'context.tar.gz'), 0o444);
    chmodSync(mount, 0o555);

    // WHEN
    const result = spawnSync('sh', ['-c', FETCH_CONTEXT_SCRIPT], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        TERMINATION_LOG: join(work, 'termination-log'),
        BUILD_CONTEXT_ARCHIVE: join(mount, 'context.tar.gz'),
        CONTEXT_DIR: join(work, 'workspace', 'context'),
        DOCKERFILE_PATH: 'Dockerfile',
      },
    });

    // THEN
    expect(result.stderr).toContain('build context ready in');
    expect(result.status).toBe(0);
    expect(readFileSync(join(work, 'workspace', 'context', 'app', 'config', 'settings.json'), 'utf8')).toBe('{"a":1}\n');
    expect(readFileSync(join(mount, 'context.tar.gz')).length).toBeGreaterThan(0);
  });

  test('the fetch script fails when the unpacked context has no Dockerfile', () => {
    const work = mkdtempSync(join(tmpdir(), 'pod-'));
    const src = tree({ 'other.txt': 'x' });
    run('tar', ['-czf', join(work, 'c.tar.gz'), '-C', src, '.']);
    const result = spawnSync('sh', ['-c', FETCH_CONTEXT_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TERMINATION_LOG: join(work, 't'), BUILD_CONTEXT_ARCHIVE: join(work, 'c.tar.gz'), CONTEXT_DIR: join(work, 'ctx'), DOCKERFILE_PATH: 'Dockerfile' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the build context has no Dockerfile');
  });

  test('same directory, byte-identical YAML; new mtimes change nothing; new content renames the ConfigMap', () => {
    // GIVEN
    const dir = tree(SAMPLE);
    const first = Testing.synth(kanikoChart(dir));
    // WHEN: touched
    utimesSync(join(dir, 'Dockerfile'), new Date('2031-02-03'), new Date('2031-02-03'));
    utimesSync(join(dir, 'app/main.sh'), new Date(), new Date());
    const touched = Testing.synth(kanikoChart(dir));
    // THEN
    expect(JSON.stringify(touched)).toBe(JSON.stringify(first));

    // WHEN: changed
    writeFileSync(join(dir, 'app/config/settings.json'), '{"a":2}\n');
    const changed = Testing.synth(kanikoChart(dir));
    // THEN: a new ConfigMap name, mounted by the Job
    const name = (objects: any[]) => objects.find(o => o.kind === 'ConfigMap').metadata.name;
    expect(name(changed)).not.toBe(name(first));
    expect(name(changed).slice(0, -12)).toBe(name(first).slice(0, -12));
    expect(JSON.stringify(changed.find(o => o.kind === 'Job'))).toContain(name(changed));
  });

  test('exclude patterns apply after .dockerignore; Dockerfile and .dockerignore are always packed', () => {
    const dir = tree(SAMPLE);
    const out = mkdtempSync(join(tmpdir(), 'unpacked-'));
    writeFileSync(join(out, 'c.tar.gz'), archiveOf(synth(kanikoChart(dir, { exclude: ['app', '!app/main.sh', 'Dockerfile', '.dockerignore', 'keep.log'] }))));
    const entries = run('tar', ['-tzf', join(out, 'c.tar.gz')]).trim().split('\n');
    expect(entries.filter(e => !e.startsWith('long-directory-name/'))).toEqual(['.dockerignore', 'Dockerfile', 'app/', 'app/main.sh', 'docs/', 'docs/secret.env']);
  });

  test('UnifiedImageJob unpacks the archive in its main container; OciConnectorBuildJob reads the unpacked workspace', () => {
    // GIVEN
    const dir = tree(SAMPLE);
    const chart = newChart();
    new UnifiedImageJob(chart, 'unified', {
      mode: UnifiedJobMode.BUILD_AND_PUSH,
      toolsImage: 'registry.example.com/tools/unified:1.0.0',
      context: BuildContext.fromLocalDirectory(dir),
      intermediateDestination: 'registry.internal:5000/build/api:1',
      destinations: ['harbor.example.com/platform/api:1'],
    });
    new OciConnectorBuildJob(chart, 'buildkit', {
      connector: OciConnector.fromName('harbor', { registry: 'harbor.example.com', namespace: 'builds' }),
      context: BuildContext.fromLocalDirectory(dir),
      destinations: ['harbor.example.com/platform/api:1'],
    });

    // WHEN
    const objects = synth(chart);
    const [unified, buildkit] = objects.filter(o => o.kind === 'Job');

    // THEN: two ConfigMaps with the same archive, one per construct
    const configMaps = objects.filter(o => o.kind === 'ConfigMap');
    expect(configMaps).toHaveLength(2);
    expect(configMaps[0].binaryData).toEqual(configMaps[1].binaryData);
    expect(containerNames(unified).init).toEqual(['init-determine-action']);
    expect(envOf(container(unified, 'main-task-executor'))).toMatchObject({ BUILD_CONTEXT_ARCHIVE: '/context-archive/context.tar.gz', CONTEXT_DIR: '/workspace/context' });
    expect(containerNames(buildkit).init).toEqual(['fetch-context']);
    expect(container(buildkit, 'buildkit').args).toContain('--local=context=/workspace/context');
  });

  test('the source and location', () => {
    const dir = tree({ Dockerfile: 'FROM scratch\n' });
    const context = BuildContext.fromLocalDirectory(dir);
    expect(context.source).toBe(BuildContextSource.LOCAL_DIRECTORY);
    expect(context.location).toBe(dir);
  });

  test('an archive at the default limit fits the last-applied-configuration annotation of client-side kubectl apply', () => {
    // GIVEN: random bytes do not compress, so the archive is close to LOCAL_DIRECTORY_MAX_BYTES
    const dir = tree({ Dockerfile: 'FROM scratch\n' });
    writeFileSync(join(dir, 'noise.bin'), randomBytes(188_000));
    const chart = newChart();

    // WHEN
    const context = BuildContext.fromLocalDirectory(dir);
    new KanikoBuildJob(chart, 'build', { context, destinations: ['registry.example.com/app:1'] });

    // THEN: kubectl stores the object's JSON under the annotation; all annotations together get 262144 bytes
    expect(context._packed('Dockerfile')!.archive.length).toBeGreaterThan(188_000);
    expect(context._packed('Dockerfile')!.archive.length).toBeLessThanOrEqual(BuildContext.LOCAL_DIRECTORY_MAX_BYTES);
    const configMap = synth(chart).find(o => o.kind === 'ConfigMap');
    expect('kubectl.kubernetes.io/last-applied-configuration'.length + JSON.stringify(configMap).length).toBeLessThan(262144);
    expect(BuildContext.LOCAL_DIRECTORY_MAX_BYTES).toBe(184 * 1024);
    expect(Math.ceil(BuildContext.LOCAL_DIRECTORY_MAX_BYTES / 3) * 4).toBe(251224);
  });

  describe('fails when', () => {
    test('the directory does not exist', () => {
      expect(() => BuildContext.fromLocalDirectory('no/such/dir')).toThrow(/^BuildContext.fromLocalDirectory path: got "no\/such\/dir"; expected an existing directory$/);
    });

    test('the path is a file', () => {
      const dir = tree({ Dockerfile: 'FROM scratch\n' });
      expect(() => BuildContext.fromLocalDirectory(join(dir, 'Dockerfile'))).toThrow(/^BuildContext.fromLocalDirectory path: got ".*Dockerfile"; expected a directory$/);
    });

    test('the packed context is over the default (client-side apply) limit, with its size and the ways out', () => {
      // random bytes do not compress: about 300 KiB of archive
      const dir = tree({ Dockerfile: 'FROM scratch\n' });
      writeFileSync(join(dir, 'noise.bin'), randomBytes(300 * 1024));
      expect(() => BuildContext.fromLocalDirectory(dir)).toThrow(
        /^BuildContext.fromLocalDirectory path: got ".*"; the packed context is 30\d KiB \(\d+ bytes\), over the maxArchiveBytes limit of 188416 bytes; exclude files \(.dockerignore, exclude\), raise maxArchiveBytes up to 1048562 when the ConfigMap is applied server-side \(kubectl apply --server-side, Argo CD ServerSideApply=true\), or use BuildContext.fromUrl, fromGit or fromPersistentVolumeClaim$/);
      // excluding the noise makes it fit; so does the server-side limit
      expect(BuildContext.fromLocalDirectory(dir, { exclude: ['noise.bin'] }).source).toBe(BuildContextSource.LOCAL_DIRECTORY);
      const serverSide = BuildContext.fromLocalDirectory(dir, { maxArchiveBytes: BuildContext.LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES });
      expect(serverSide.source).toBe(BuildContextSource.LOCAL_DIRECTORY);
    });

    test('the packed context is over the ConfigMap limit, even server-side', () => {
      const dir = tree({ Dockerfile: 'FROM scratch\n' });
      writeFileSync(join(dir, 'noise.bin'), randomBytes(1024 * 1024));
      expect(() => BuildContext.fromLocalDirectory(dir, { maxArchiveBytes: BuildContext.LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES })).toThrow(
        /^BuildContext.fromLocalDirectory path: got ".*"; the packed context is 1\.0 MiB \(\d+ bytes\), over the maxArchiveBytes limit of 1048562 bytes;/);
    });

    test.each([0, 1.5, 1048563])('maxArchiveBytes is %s', maxArchiveBytes => {
      const dir = tree({ Dockerfile: 'FROM scratch\n' });
      expect(() => BuildContext.fromLocalDirectory(dir, { maxArchiveBytes })).toThrow(
        new RegExp(`^BuildContext.fromLocalDirectory maxArchiveBytes: got ${maxArchiveBytes}; expected a whole number from 1 to 1048562$`));
    });

    test('a symlink leaves the directory', () => {
      const dir = tree({ 'Dockerfile': 'FROM scratch\n', 'etc/passwd': { link: '../../../etc/passwd' } });
      expect(() => BuildContext.fromLocalDirectory(dir)).toThrow(/^BuildContext.fromLocalDirectory path: got "etc\/passwd -> ..\/..\/..\/etc\/passwd"; expected symlinks that stay inside the directory/);
    });

    test('a symlink is absolute', () => {
      const dir = tree({ Dockerfile: 'FROM scratch\n', abs: { link: '/etc/hosts' } });
      expect(() => BuildContext.fromLocalDirectory(dir)).toThrow(/^BuildContext.fromLocalDirectory path: got "abs -> \/etc\/hosts"; expected symlinks that stay inside/);
    });

    test('the dockerfile is not in the context', () => {
      const dir = tree({ 'Dockerfile': 'FROM scratch\n', 'docker/Containerfile': 'FROM scratch\n' });
      const chart = newChart();
      expect(() => new KanikoBuildJob(chart, 'api', {
        context: BuildContext.fromLocalDirectory(dir, { exclude: ['docker'] }),
        dockerfile: 'docker/Containerfile',
        destinations: ['registry.internal:5000/build/api:1'],
      })).toThrow(/^dockerfile: got "docker\/Containerfile"; expected a file of the local context ".*"; it is missing or excluded by .dockerignore$/);
    });

    test('an exclude pattern spans lines', () => {
      const dir = tree({ Dockerfile: 'FROM scratch\n' });
      expect(() => BuildContext.fromLocalDirectory(dir, { exclude: ['a\nb'] })).toThrow(/^BuildContext.fromLocalDirectory exclude\[0\]: got "a\\nb"; expected a .dockerignore pattern on one line$/);
    });
  });
});

describe('.dockerignore matching (Docker semantics)', () => {
  test.each<[string[], string, boolean]>([
    [['*.log'], 'a.log', true],
    [['*.log'], 'dir/a.log', false], // "*" stays in the root directory
    [['**/*.log'], 'dir/sub/a.log', true],
    [['**/*.log'], 'a.log', true], // "**/" matches zero directories
    [['dir'], 'dir/sub/file', true], // a matched directory excludes what is below it
    [['/dir'], 'dir/file', true], // a leading "/" is dropped
    [['./dir/*.txt'], 'dir/a.txt', true], // so is "./"
    [['dir/**'], 'dir/a/b/c', true],
    [['a?c'], 'abc', true],
    [['a?c'], 'a/c', false],
    [['[a-c].txt'], 'b.txt', true],
    [['[^a-c].txt'], 'b.txt', false],
    [['*.md', '!README.md'], 'README.md', false], // exception
    [['*.md', '!README.md', '*'], 'README.md', true], // last match wins
    [['docs', '!docs/keep.md'], 'docs/keep.md', false],
    [['docs', '!docs/keep.md'], 'docs/other.md', true],
    [['# a comment', '', '   '], 'anything', false],
    [['a\\*b'], 'a*b', true],
    [['a\\*b'], 'axb', false],
    [['../outside'], 'outside', true], // Clean resolves ".." at the root to the root
  ])('%j on %s: ignored %s', (patterns, path, ignored) => {
    expect(new IgnoreMatcher(patterns).ignores(path)).toBe(ignored);
  });
});
