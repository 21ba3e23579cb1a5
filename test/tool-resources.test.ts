import { Size } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { BuildContext, KanikoBuildJob, ToolResources } from '../src';
import { container, newChart, synthJob } from './util';

/** The kaniko container's resources for the given `resources` prop (synthJob also validates the Job's schema). */
function resourcesOf(resources?: ToolResources): any {
  const chart = newChart();
  new KanikoBuildJob(chart, 'build', { context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], resources });
  return container(synthJob(chart), 'build').resources;
}

describe('ToolResources', () => {
  test('every field renders in the unit cdk8s-plus gives it', () => {
    expect(resourcesOf({
      cpuRequestMillicores: 500,
      cpuLimitMillicores: 2000,
      memoryRequest: Size.mebibytes(512),
      memoryLimit: Size.gibibytes(2),
      ephemeralStorageRequest: Size.gibibytes(5),
      ephemeralStorageLimit: Size.gibibytes(20),
    })).toEqual({
      requests: { 'cpu': '500m', 'memory': '512Mi', 'ephemeral-storage': '5Gi' },
      limits: { 'cpu': '2000m', 'memory': '2048Mi', 'ephemeral-storage': '20Gi' },
    });
  });

  test('given, they replace the defaults entirely: a field left out is not set', () => {
    expect(resourcesOf()).toEqual({ requests: { 'cpu': '1', 'memory': '2048Mi', 'ephemeral-storage': '10Gi' }, limits: { memory: '4096Mi' } });
    expect(resourcesOf({ memoryLimit: Size.gibibytes(6) })).toEqual({ limits: { memory: '6144Mi' } });
    expect(resourcesOf({})).toBeUndefined();
  });

  describe('fails when', () => {
    test.each<[string, ToolResources, RegExp]>([
      ['CPU is not a whole number of millicores', { cpuRequestMillicores: 0.5 }, /^resources\.cpuRequestMillicores: got 0.5; expected a whole number from 1 to 1000000000$/],
      ['a CPU limit is zero', { cpuLimitMillicores: 0 }, /^resources\.cpuLimitMillicores: got 0; expected a whole number from 1/],
      ['the CPU request exceeds the limit', { cpuRequestMillicores: 2000, cpuLimitMillicores: 1000 }, /^resources\.cpuRequest: got 2000; expected at most cpuLimit \(1000\): Kubernetes refuses a request above the limit$/],
      ['the memory request exceeds the limit', { memoryRequest: Size.gibibytes(2), memoryLimit: Size.gibibytes(1) }, /^resources\.memoryRequest: got 2097152; expected at most memoryLimit \(1048576\)/],
      ['memory is not whole mebibytes', { memoryLimit: Size.kibibytes(1536) }, /^resources\.memoryLimit: got "1536Ki"; expected a positive whole number of mebibytes$/],
      ['ephemeral storage is not whole gibibytes', { ephemeralStorageRequest: Size.mebibytes(1536) }, /^resources\.ephemeralStorageRequest: got "1572864Ki"; expected a positive whole number of gibibytes$/],
      ['a size is zero', { memoryRequest: Size.mebibytes(0) }, /^resources\.memoryRequest: got "0Ki"; expected a positive whole number of mebibytes$/],
    ])('%s', (_, resources, message) => {
      expect(() => resourcesOf(resources)).toThrow(message);
    });
  });
});
