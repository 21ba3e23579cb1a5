import { ApiObject, Duration, JsonPatch, Size, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { describe, expect, test } from 'vitest';
import { BuildContext, IImageJob, ImageJobOptions, JobName, KanikoBuildJob, PodSecurityLevel } from '../src';
import { CONSTRUCTS } from './constructs';
import { newChart, synth, synthJob } from './util';

describe.each(Object.keys(CONSTRUCTS))('ImageJobOptions on %s', (name) => {
  const make = (options: ImageJobOptions = {}) => {
    const chart = newChart();
    const construct = CONSTRUCTS[name](chart, options);
    return { construct, job: synthJob(chart) };
  };

  test('build-friendly defaults', () => {
    const { construct, job } = make();
    const pod = job.spec.template.spec;
    expect(job.spec.activeDeadlineSeconds).toBe(Duration.hours(1).toSeconds());
    expect(job.spec.backoffLimit).toBe(1);
    expect(job.spec.ttlSecondsAfterFinished).toBe(Duration.days(1).toSeconds());
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBeUndefined();
    expect(job.metadata.labels['app.kubernetes.io/created-by']).toBe('cdk8s-image-jobs');
    expect(job.metadata.name).toMatch(/^test-job-[a-f0-9]{8}$/);
    expect(construct.job.name).toBe(job.metadata.name);
    expect(construct.job).toBeInstanceOf(kplus.Job);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      expect(c.imagePullPolicy).toBe('IfNotPresent');
      if (construct.podSecurityLevel === PodSecurityLevel.PRIVILEGED) {
        continue; // BuildKit: its construct's tests assert the privileged or Unconfined context it declares
      }
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext.privileged).toBe(false);
      expect(c.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    }
  });

  test('options reach the Job and its pod', () => {
    const chart = newChart();
    const sa = kplus.ServiceAccount.fromServiceAccountName(chart, 'sa', 'builder');
    const construct = CONSTRUCTS[name](chart, {
      name: JobName.exact('custom-name'),
      activeDeadline: Duration.minutes(10),
      backoffLimit: 3,
      ttlAfterFinished: Duration.minutes(5),
      serviceAccount: sa,
      nodeSelector: { 'kubernetes.io/arch': 'amd64', 'node.example.com/pool': 'builds' },
      tolerations: [kplus.NodeTaintQuery.exists('builds')],
      jobLabels: { team: 'platform' },
      jobAnnotations: { 'example.com/ticket': 'OPS-1' },
    });
    const job = synthJob(chart);
    const pod = job.spec.template.spec;
    expect(job.metadata.name).toBe('custom-name');
    expect(job.spec.activeDeadlineSeconds).toBe(600);
    expect(job.spec.backoffLimit).toBe(3);
    expect(job.spec.ttlSecondsAfterFinished).toBe(300);
    expect(pod.serviceAccountName).toBe('builder');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64', 'node.example.com/pool': 'builds' });
    expect(pod.tolerations).toEqual([{ key: 'builds', operator: 'Exists' }]);
    expect(job.metadata.labels.team).toBe('platform');
    expect(job.spec.template.metadata.labels.team).toBe('platform');
    expect(job.metadata.annotations['example.com/ticket']).toBe('OPS-1');
    expect(job.spec.template.metadata.annotations['example.com/ticket']).toBe('OPS-1');
    expect(Object.values(PodSecurityLevel)).toContain(construct.podSecurityLevel);
  });

  test('resources replace the main tool container\'s defaults', () => {
    const { job } = make({ resources: { cpu: { request: kplus.Cpu.units(3) }, memory: { limit: Size.gibibytes(6) } } });
    expect(job.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '3' }, limits: { memory: '6144Mi' } });
  });

  describe('run identity (JobName)', () => {
    const nameOf = (options: ImageJobOptions = {}, patch?: (construct: IImageJob) => void) => {
      const chart = newChart();
      const construct = CONSTRUCTS[name](chart, options);
      patch?.(construct);
      const yaml = Yaml.stringify(...synth(chart));
      return { name: synthJob(chart).metadata.name as string, yaml, construct };
    };

    test('same input: the same name and byte-identical YAML', () => {
      const first = nameOf();
      const second = nameOf();
      expect(second.name).toBe(first.name);
      expect(second.yaml).toBe(first.yaml);
    });

    test('a changed pod changes only the hash; a changed mutable Job field keeps the name', () => {
      const base = nameOf().name;
      const changed = nameOf({ resources: { cpu: { request: kplus.Cpu.units(3) } } }).name;
      expect(changed).not.toBe(base);
      expect(changed.slice(0, -8)).toBe(base.slice(0, -8));
      expect(nameOf({ backoffLimit: 4, ttlAfterFinished: Duration.hours(2) }).name).toBe(base);
    });

    test('a JSON patch on the pod added after construction is hashed too, and job.name reads the final name', () => {
      const base = nameOf().name;
      const patched = nameOf({}, c => ApiObject.of(c.job).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'builds')));
      expect(patched.name).not.toBe(base);
      expect(patched.construct.job.name).toBe(patched.name);
      const rules = { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] };
      expect(nameOf({}, c => ApiObject.of(c.job).addJsonPatch(JsonPatch.add('/spec/podFailurePolicy', rules))).name).not.toBe(base);
      expect(nameOf({}, c => ApiObject.of(c.job).addJsonPatch(JsonPatch.add('/spec/suspend', true))).name).toBe(base);
    });

    test('two constructs with identical pods get different names', () => {
      const chart = newChart();
      CONSTRUCTS[name](chart, {});
      CONSTRUCTS[name](new Construct(chart, 'other'), {});
      const names = synth(chart).filter(o => o.kind === 'Job').map(o => o.metadata.name);
      expect(new Set(names).size).toBe(2);
    });

    test('contentHashed(base), stable() and exact(name)', () => {
      expect(nameOf({ name: JobName.contentHashed('build-api') }).name).toMatch(/^build-api-[a-f0-9]{8}$/);
      const stable = nameOf({ name: JobName.stable() }).name;
      expect(stable).toMatch(/^test-job-c8[a-f0-9]{6}$/);
      expect(nameOf({ name: JobName.stable(), resources: { cpu: { request: kplus.Cpu.units(3) } } }).name).toBe(stable);
      expect(nameOf({ name: JobName.exact('build-api-1-4-0') }).name).toBe('build-api-1-4-0');
    });
  });
});

describe('JobName fails when', () => {
  const kaniko = (name: unknown) => new KanikoBuildJob(newChart(), 'job', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], name: name as JobName,
  });

  test.each<[string, unknown, RegExp]>([
    ['a plain string is given', 'build-api', /^name: got "build-api"; expected a JobName: JobName.contentHashed\(base\), JobName.stable\(\) or JobName.exact\(name\)$/],
    ['the base leaves no room for the hash', JobName.contentHashed('a'.repeat(55)), /^name: got "JobName.contentHashed\(\\"a{55}\\"\)"; expected at most 54 characters \(63 with the "-<hash>" suffix\)$/],
    ['the base is not a Kubernetes name', JobName.contentHashed('Build_API'), /^name: got "Build_API"; expected a Kubernetes name/],
    ['the exact name is over 63 characters', JobName.exact('a'.repeat(64)), /^name: got "a{64}"; expected a Kubernetes name of at most 63 characters/],
  ])('%s', (_, name, message) => {
    expect(() => kaniko(name)).toThrow(message);
  });

  test('a generated base is trimmed to fit 63 characters with the hash', () => {
    const chart = newChart();
    new KanikoBuildJob(new Construct(chart, 'a-very-long-construct-id-for-a-team'), 'another-long-construct-id-build-api', {
      context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'],
    });
    const name = synthJob(chart).metadata.name;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/-another-long-construct-id-build-api-[a-f0-9]{8}$/);
  });
});
