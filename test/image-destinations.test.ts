import { describe, expect, test } from 'vitest';
import { BuildContext, ImageDestinations, KanikoBuildJob, RegistryCredentials } from '../src';
import { container, envOf, newChart, synthJob } from './util';

describe('ImageDestinations', () => {
  test('every registry gets every tag', () => {
    expect(ImageDestinations.of({ registries: ['harbor.example.com', 'registry.internal:5000'], repository: 'platform/api', tags: ['1.4.0', 'stable'] })).toEqual([
      'harbor.example.com/platform/api:1.4.0',
      'harbor.example.com/platform/api:stable',
      'registry.internal:5000/platform/api:1.4.0',
      'registry.internal:5000/platform/api:stable',
    ]);
  });

  test('kaniko gets one --destination each; the promotion fans out by digest', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', {
      context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
      destinations: ImageDestinations.of({ registries: ['registry.internal:5000'], repository: 'build/api', tags: ['1.4.0', 'v20261123-01234567'] }),
      promotion: {
        destinations: ImageDestinations.of({ registries: ['harbor.example.com', 'mirror.example.org'], repository: 'platform/api', tags: ['1.4.0'] }),
        credentials: RegistryCredentials.fromDockerConfigSecret('push'),
      },
    });
    const job = synthJob(chart);
    expect(container(job, 'build').args.filter((a: string) => a.startsWith('--destination='))).toEqual([
      '--destination=$(INTERMEDIATE_REGISTRY_URL)/$(BUILD_IMAGE_NAME):$(BUILD_IMAGE_TAG)',
      '--destination=registry.internal:5000/build/api:v20261123-01234567',
    ]);
    expect(envOf(container(job, 'promote')).ADDITIONAL_DESTINATIONS).toBe('mirror.example.org/platform/api:1.4.0');
  });

  describe('fails when', () => {
    test.each<[string, any, RegExp]>([
      ['there is no registry', { registries: [], repository: 'a', tags: ['1'] }, /^ImageDestinations.of registries: got \[\]; expected at least one registry host$/],
      ['there is no tag', { registries: ['r.io'], repository: 'a', tags: [] }, /^ImageDestinations.of tags: got \[\]; expected at least one tag$/],
      ['a registry has a path', { registries: ['r.io/team'], repository: 'a', tags: ['1'] }, /^ImageDestinations.of registries\[0\]: got "r.io\/team"/],
      ['a registry is not a host', { registries: ['harbor'], repository: 'a', tags: ['1'] }, /^ImageDestinations.of registries\[0\]: got "harbor"; expected a registry host/],
      ['a tag is invalid', { registries: ['r.io'], repository: 'a', tags: ['a/b'] }, /^ImageDestinations.of\[0\]: got "r.io\/a:a\/b"/],
      ['the repository is upper-case', { registries: ['r.io'], repository: 'Team/App', tags: ['1'] }, /lower-case/],
      ['a tag is repeated', { registries: ['r.io'], repository: 'a', tags: ['1', '1'] }, /listed twice/],
    ])('%s', (_, props, message) => {
      expect(() => ImageDestinations.of(props)).toThrow(message);
    });
  });
});
