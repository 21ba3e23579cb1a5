import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { describe, expect, test } from 'vitest';
import {
  BuildContext, ContainerNaming, ImageJobOptions, KanikoBatchShape, KanikoBuildBatch, KanikoBuildJob, KargoNotification, NodeLabel,
  NodeLabelMatch, PodEnvValue, RegistryCredentials, SkopeoPromoteJob, ToolImages,
} from '../src';
import { newChart, synth, synthJob } from './util';

function promote(options: ImageJobOptions) {
  const chart = newChart();
  new SkopeoPromoteJob(chart, 'promote', {
    source: 'staging.corp.io/team/api:1',
    destinations: ['harbor.corp.io/platform/api:1'],
    destinationCredentials: RegistryCredentials.fromUsernamePassword('harbor-robot'),
    ...options,
  });
  return synthJob(chart);
}

describe('pod options every construct shares', () => {
  test('defaults: none of the pod knobs is set', () => {
    const pod = promote({}).spec.template.spec;
    for (const field of ['imagePullSecrets', 'priorityClassName', 'runtimeClassName', 'affinity']) {
      expect(pod[field], field).toBeUndefined();
    }
  });

  test('env reaches every container, init containers included, after their own variables; Secret references stay references', () => {
    const job = promote({
      env: {
        HTTPS_PROXY: PodEnvValue.fromSecret('proxy-credentials', 'url'),
        https_proxy: PodEnvValue.fromSecret('proxy-credentials', 'url'),
        NO_PROXY: PodEnvValue.fromValue('.svc,.cluster.local,10.0.0.0/8'),
      },
    });
    const pod = job.spec.template.spec;
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.env.slice(-3), c.name).toEqual([
        { name: 'HTTPS_PROXY', valueFrom: { secretKeyRef: { name: 'proxy-credentials', key: 'url' } } },
        { name: 'NO_PROXY', value: '.svc,.cluster.local,10.0.0.0/8' },
        { name: 'https_proxy', valueFrom: { secretKeyRef: { name: 'proxy-credentials', key: 'url' } } },
      ]);
    }
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(['compose-destination-auth']);
  });

  test('imagePullSecrets, priorityClassName, runtimeClassName, pod-only labels and annotations', () => {
    const job = promote({
      imagePullSecrets: ['mirror-pull', 'mirror-pull'],
      priorityClassName: 'batch-low',
      runtimeClassName: 'gvisor',
      podLabels: { 'team.corp.io/cost-center': 'platform' },
      podAnnotations: { 'sidecar.istio.io/inject': 'false' },
    });
    const pod = job.spec.template.spec;
    expect(pod.imagePullSecrets).toEqual([{ name: 'mirror-pull' }]);
    expect(pod.priorityClassName).toBe('batch-low');
    expect(pod.runtimeClassName).toBe('gvisor');
    expect(job.spec.template.metadata.labels['team.corp.io/cost-center']).toBe('platform');
    expect(job.metadata.labels['team.corp.io/cost-center']).toBeUndefined();
    expect(job.spec.template.metadata.annotations['sidecar.istio.io/inject']).toBe('false');
    expect(job.metadata.annotations?.['sidecar.istio.io/inject']).toBeUndefined();
  });

  test('node affinity and spreading across nodes', () => {
    const pod = promote({
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      requiredNodeLabels: [NodeLabel.oneOf('kubernetes.io/arch', ['amd64']), NodeLabel.oneOf('node.corp.io/pool', ['build', 'batch'])],
      spreadAcrossNodes: true,
    }).spec.template.spec;
    expect(pod.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{
            matchExpressions: [
              { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
              { key: 'node.corp.io/pool', operator: 'In', values: ['batch', 'build'] },
            ],
          }],
        },
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'skopeo-promote' } } },
        }],
      },
    });
  });

  test('requiredNodeLabels are one required term (In, NotIn, Exists, DoesNotExist); preferredNodes are weighted preferences', () => {
    const pod = promote({
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      requiredNodeLabels: [
        NodeLabel.oneOf('node.corp.io/pool', ['build']),
        NodeLabel.noneOf('node.kubernetes.io/lifecycle', ['spot', 'preemptible', 'spot']),
        NodeLabel.absent('nvidia.com/gpu.present'),
        NodeLabel.present('node-role.corp.io/builder'),
        NodeLabel.oneOf('kubernetes.io/os', ['windows', 'linux']),
      ],
      preferredNodes: [
        { labels: [NodeLabel.oneOf('topology.kubernetes.io/zone', ['zone-a'])], weight: 20 },
        { labels: [NodeLabel.present('node.corp.io/fast-disk'), NodeLabel.noneOf('node.corp.io/tier', ['legacy'])] },
      ],
    }).spec.template.spec;
    expect(pod.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{
            matchExpressions: [
              { key: 'node.corp.io/pool', operator: 'In', values: ['build'] },
              { key: 'node.kubernetes.io/lifecycle', operator: 'NotIn', values: ['preemptible', 'spot'] },
              { key: 'nvidia.com/gpu.present', operator: 'DoesNotExist' },
              { key: 'node-role.corp.io/builder', operator: 'Exists' },
              { key: 'kubernetes.io/os', operator: 'In', values: ['linux', 'windows'] },
            ],
          }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 20, preference: { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a'] }] } },
          {
            weight: 100,
            preference: {
              matchExpressions: [
                { key: 'node.corp.io/fast-disk', operator: 'Exists' },
                { key: 'node.corp.io/tier', operator: 'NotIn', values: ['legacy'] },
              ],
            },
          },
        ],
      },
    });
    // preferences alone: no required term
    expect(promote({ preferredNodes: [{ labels: [NodeLabel.present('node.corp.io/ssd')] }] }).spec.template.spec.affinity).toEqual({
      nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'node.corp.io/ssd', operator: 'Exists' }] } }] },
    });
  });

  test('NodeLabel: values sorted and unique, match and key exposed', () => {
    expect(NodeLabel.noneOf('lifecycle', ['spot', 'a', 'spot'])).toMatchObject({ key: 'lifecycle', match: NodeLabelMatch.NONE_OF, values: ['a', 'spot'] });
    expect(NodeLabel.absent('gpu')).toMatchObject({ key: 'gpu', match: NodeLabelMatch.ABSENT, values: [] });
  });

  test('registryMirrors rewrites every default tool image in one place; explicit images stay as given', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', {
      context: BuildContext.fromUrl('https://artifacts.corp.io/api.tar.gz'),
      destinations: ['harbor.corp.io/build/api:1'],
      promotion: { destinations: ['prod.corp.io/platform/api:1'] },
      toolImages: {
        registryMirrors: { 'ghcr.io': 'harbor.corp.io/ghcr', 'docker.io': 'harbor.corp.io/dockerhub' },
        skopeo: 'harbor.corp.io/tools/skopeo:v1.22.3',
      },
    });
    const pod = synthJob(chart).spec.template.spec;
    const images = Object.fromEntries([...pod.initContainers, ...pod.containers].map((c: any) => [c.name, c.image]));
    expect(images).toEqual({
      'fetch-context': ToolImages.DOWNLOAD_HELPER.replace('docker.io/', 'harbor.corp.io/dockerhub/'),
      'build': ToolImages.KANIKO.replace('ghcr.io/', 'harbor.corp.io/ghcr/'),
      'promote': 'harbor.corp.io/tools/skopeo:v1.22.3',
    });
  });

  test.each([
    [{ env: { DEST_AUTH_FILE: PodEnvValue.fromValue('/x') } },
      /^env.DEST_AUTH_FILE: got "DEST_AUTH_FILE"; expected a variable the construct does not manage; container promote sets DEST_AUTH_FILE itself$/],
    [{ env: { HARBOR_PASSWORD: PodEnvValue.fromValue('x') } }, /^env.HARBOR_PASSWORD: .*container compose-destination-auth sets HARBOR_PASSWORD itself$/],
    [{ env: { '1PROXY': PodEnvValue.fromValue('x') } }, /^env key: got "1PROXY"; expected a name of letters/],
    [{ env: { HTTPS_PROXY: 'http://proxy:3128' as any } }, /^env.HTTPS_PROXY: got "http:\/\/proxy:3128"; expected a PodEnvValue/],
    [{ imagePullSecrets: ['Mirror_Pull'] }, /^imagePullSecrets\[0\]: got "Mirror_Pull"; expected a Kubernetes name/],
    [{ priorityClassName: 'Low Priority' }, /^priorityClassName: got "Low Priority"/],
    [{ runtimeClassName: 'run/sc' }, /^runtimeClassName: got "run\/sc"/],
    [{ nodeSelector: { lifecycle: 'spot' }, requiredNodeLabels: [NodeLabel.noneOf('lifecycle', ['spot'])] },
      /^requiredNodeLabels\[0\]: got \["spot"\]; expected to leave one of "spot", which nodeSelector requires: no node could match both$/],
    [{ requiredNodeLabels: [NodeLabel.oneOf('pool', ['a', 'b']), NodeLabel.noneOf('pool', ['b', 'a'])] },
      /^requiredNodeLabels\[1\]: got \["a","b"\]; expected to leave one of "a", "b", which requiredNodeLabels\[0\] requires: no node could match both$/],
    [{ nodeSelector: { 'kubernetes.io/arch': 'arm64' }, requiredNodeLabels: [NodeLabel.oneOf('kubernetes.io/arch', ['amd64'])] },
      /^requiredNodeLabels\[0\]: got \["amd64"\]; expected to include "arm64", which nodeSelector requires: no node could match both$/],
    [{ nodeSelector: { gpu: 'true' }, requiredNodeLabels: [NodeLabel.absent('gpu')] },
      /^requiredNodeLabels\[0\]: got "gpu"; expected a label nodeSelector does not require: no node could match both$/],
    [{ requiredNodeLabels: [NodeLabel.absent('builder'), NodeLabel.present('builder')] },
      /^requiredNodeLabels\[0\]: got "builder"; expected a label requiredNodeLabels\[1\] does not require: no node could match both$/],
    [{ requiredNodeLabels: [{ key: 'pool', match: 'In', values: ['a'] } as any] },
      /^requiredNodeLabels\[0\]: got .*; expected NodeLabel.oneOf\(\), noneOf\(\), present\(\) or absent\(\)$/],
    [{ preferredNodes: [{ labels: [NodeLabel.present('ssd')], weight: 0 }] }, /^preferredNodes\[0\].weight: got 0; expected a whole number from 1 to 100$/],
    [{ preferredNodes: [{ labels: [] }] }, /^preferredNodes\[0\].labels: got \[\]; expected at least one NodeLabel$/],
    [{ podLabels: { 'bad key!': 'x' } }, /^podLabels key: got "bad key!"/],
    [{ toolImages: { registryMirrors: { 'https://docker.io': 'harbor.corp.io/hub' } } }, /^toolImages.registryMirrors key: got "https:\/\/docker.io"/],
    [{ toolImages: { registryMirrors: { 'docker.io': 'https://harbor.corp.io/hub/' } } },
      /^toolImages.registryMirrors.docker.io: got "https:\/\/harbor.corp.io\/hub\/"; expected a registry host with an optional path/],
    [{ toolImages: { registryMirrors: { 'docker.io': 'a.io', 'index.docker.io': 'b.io' } } }, /^toolImages.registryMirrors key: got "index.docker.io"; expected each registry once/],
  ])('bad input %#: one-line error', (options, message) => {
    expect(() => promote(options as ImageJobOptions)).toThrow(message);
  });

  test.each([
    [() => NodeLabel.oneOf('pool', []), /^NodeLabel.oneOf values: got \[\]; expected a non-empty list of values of label pool$/],
    [() => NodeLabel.noneOf('bad key!', ['x']), /^NodeLabel.noneOf key: got "bad key!"/],
    [() => NodeLabel.present('bad key!'), /^NodeLabel.present key: got "bad key!"/],
    [() => NodeLabel.oneOf('pool', ['no spaces']), /^NodeLabel.oneOf values\[0\]: got "no spaces"; expected a Kubernetes label value/],
  ])('NodeLabel bad input %#: one-line error', (build, message) => {
    expect(build).toThrow(message);
  });
});

/** Each container's name and terminationMessagePolicy (undefined: Kubernetes' default, File), init containers first. */
function messagePolicies(job: any): [string, string | undefined][] {
  const pod = job.spec.template.spec;
  return [...pod.initContainers ?? [], ...pod.containers].map((c: any) => [c.name, c.terminationMessagePolicy]);
}

describe('termination messages', () => {
  const context = BuildContext.fromUrl('https://artifacts.corp.io/api.tar.gz', { sha256: 'a'.repeat(64) });

  test('the kaniko executor run directly falls back to its log on error; the script containers write their own message', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', { context, destinations: ['harbor.corp.io/build/api:1'] });
    expect(messagePolicies(synthJob(chart))).toEqual([
      ['fetch-context', undefined],
      ['build', 'FallbackToLogsOnError'],
    ]);
  });

  test('with promotion the build is an init container and keeps the policy; classic names do not move it', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', {
      context,
      destinations: ['harbor.corp.io/build/api:1'],
      credentials: RegistryCredentials.fromDockerConfigSecret('build-push'),
      promotion: { destinations: ['harbor.corp.io/release/api:1'], credentials: RegistryCredentials.fromDockerConfigSecret('release-push') },
      containerNaming: ContainerNaming.CLASSIC,
    });
    const policies = messagePolicies(synthJob(chart));
    expect(policies.filter(([, policy]) => policy !== undefined)).toEqual([['image-builder', 'FallbackToLogsOnError']]);
    expect(policies.map(([name]) => name)).toContain('skopeo-promoter');
  });

  test('with a Kargo notification the build moves to the init containers and keeps the policy; notify-kargo writes its own', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', { context, destinations: ['harbor.corp.io/build/api:1'], kargoNotification: KargoNotification.webhook({ secretName: 'kargo-webhook' }) });
    const job = synthJob(chart);
    expect(messagePolicies(job)).toEqual([
      ['fetch-context', undefined],
      ['build', 'FallbackToLogsOnError'],
      ['notify-kargo', undefined],
    ]);
    expect(job.spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(['fetch-context', 'build']);
  });

  test('the Indexed KanikoBuildBatch pod execs kaniko after selecting its context: its build container falls back to its log', () => {
    const root = mkdtempSync(join(tmpdir(), 'contexts-'));
    for (const name of ['api', 'worker']) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'Dockerfile'), 'FROM docker.io/library/alpine:3.22\n');
    }
    const chart = newChart();
    new KanikoBuildBatch(chart, 'images', { contextsDirectory: root, registries: ['harbor.corp.io'], tags: ['2.0'], shape: KanikoBatchShape.INDEXED });
    const jobs = synth(chart).filter(o => o.kind === 'Job');
    expect(jobs).toHaveLength(1);
    expect(messagePolicies(jobs[0])).toEqual([
      ['fetch-context', undefined],
      ['build', 'FallbackToLogsOnError'],
    ]);
  });

  test('every other construct keeps the File policy: its scripts write their errors to /dev/termination-log', () => {
    const job = promote({});
    expect(messagePolicies(job).every(([, policy]) => policy === undefined)).toBe(true);
  });
});
