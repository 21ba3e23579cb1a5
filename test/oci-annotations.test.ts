import { describe, expect, test } from 'vitest';
import { BuildahBuildJob, BuildahImageFormat, BuildContext, KanikoBuildJob } from '../src';
import { container, envOf, newChart, synthJob } from './util';
import { BUILDAH_BUILD_SCRIPT } from '../src/_scripts';

const SHA = 'a'.repeat(40);
const SOURCE = 'https://github.com/example/api';
const CREATED = '2026-01-31T12:00:00Z';
const base = { context: BuildContext.fromUrl('https://artifacts.example.com/api.tar.gz'), destinations: ['registry.internal:5000/build/api:1.4.0'] };

describe('the OCI annotations Kargo reads', () => {
  test('kaniko: --annotation flags for created, revision and source, in that order', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', { ...base, commitSha: SHA, sourceUrl: SOURCE, imageCreated: CREATED });
    const args: string[] = container(synthJob(chart), 'build').args;
    expect(args.filter(a => a.startsWith('--annotation='))).toEqual([
      `--annotation=org.opencontainers.image.created=${CREATED}`,
      `--annotation=org.opencontainers.image.revision=${SHA}`,
      `--annotation=org.opencontainers.image.source=${SOURCE}`,
    ]);
  });

  test('kaniko without the props: no annotation flags (kaniko records the build time in the image config)', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', base);
    expect(container(synthJob(chart), 'build').args.filter((a: string) => a.startsWith('--annotation'))).toEqual([]);
  });

  test('kaniko --reproducible with imageCreated is accepted', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', { ...base, imageCreated: CREATED, extraArgs: ['--reproducible'] });
    expect(container(synthJob(chart), 'build').args).toContain(`--annotation=org.opencontainers.image.created=${CREATED}`);
  });

  test('buildah: revision and source as flags; created computed by the script at run time unless imageCreated fixes it', () => {
    const chart = newChart();
    new BuildahBuildJob(chart, 'api', { ...base, commitSha: SHA, sourceUrl: SOURCE });
    const c = container(synthJob(chart), 'build');
    expect(c.args.filter((a: string) => a.startsWith('--annotation='))).toEqual([
      `--annotation=org.opencontainers.image.revision=${SHA}`,
      `--annotation=org.opencontainers.image.source=${SOURCE}`,
    ]);
    expect(envOf(c).IMAGE_CREATED).toBeUndefined();
    expect(BUILDAH_BUILD_SCRIPT).toContain('--annotation "org.opencontainers.image.created=$created"');

    const fixed = newChart();
    new BuildahBuildJob(fixed, 'api', { ...base, imageCreated: CREATED });
    expect(envOf(container(synthJob(fixed), 'build')).IMAGE_CREATED).toBe(CREATED);
  });

  describe('fails when', () => {
    test.each<[string, () => void, RegExp]>([
      ['imageCreated is not RFC 3339', () => new KanikoBuildJob(newChart(), 'api', { ...base, imageCreated: '31/01/2026' }),
        /^imageCreated: got "31\/01\/2026"; expected an RFC 3339 timestamp such as "2026-01-31T12:00:00Z"$/],
      ['sourceUrl is not a URL', () => new KanikoBuildJob(newChart(), 'api', { ...base, sourceUrl: 'github.com/example/api' }),
        /^sourceUrl: got "github.com\/example\/api"; expected an absolute https:\/\/ URL of the source repository/],
      ['sourceUrl carries credentials', () => new BuildahBuildJob(newChart(), 'api', { ...base, sourceUrl: 'https://u:p@github.com/x' }),
        /^sourceUrl: got "https:\/\/u:p@github.com\/x"; expected a URL without user:password/],
      ['kaniko --reproducible without imageCreated', () => new KanikoBuildJob(newChart(), 'api', { ...base, extraArgs: ['--reproducible'] }),
        /^extraArgs\[0\]: got "--reproducible"; expected imageCreated as well: --reproducible zeroes the image's creation time/],
      ['buildah docker format with sourceUrl', () => new BuildahBuildJob(newChart(), 'api', { ...base, format: BuildahImageFormat.DOCKER, sourceUrl: SOURCE }),
        /^sourceUrl: got "https:\/\/github.com\/example\/api"; expected format: BuildahImageFormat.OCI as well/],
    ])('%s', (_name, make, error) => {
      expect(make).toThrow(error);
    });
  });
});
