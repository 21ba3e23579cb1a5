import { ApiObject, Chart, Duration, JsonPatch, Size, Testing, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { describe, expect, test } from 'vitest';
import { BuildContext, ContainerNaming, IImageJob, ImageArchive, ImageJobOptions, JobName, KanikoBuildJob, PodSecurityLevel, TarPushJob, TolerationOperator } from '../src';
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
    const construct = CONSTRUCTS[name](chart, {
      name: JobName.exact('custom-name'),
      activeDeadline: Duration.minutes(10),
      backoffLimit: 3,
      ttlAfterFinished: Duration.minutes(5),
      serviceAccountName: 'builder',
      nodeSelector: { 'kubernetes.io/arch': 'amd64', 'node.example.com/pool': 'builds' },
      tolerations: [{ key: 'builds', match: TolerationOperator.EXISTS }],
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
    const { job } = make({ resources: { cpuRequestMillicores: 3000, memoryLimit: Size.gibibytes(6) } });
    expect(job.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '3000m' }, limits: { memory: '6144Mi' } });
  });

  test('containerNaming CLASSIC renames the tool containers as the classic YAMLs name them; LIBRARY is the default', () => {
    const names = (j: any) => [...(j.spec.template.spec.initContainers ?? []), ...j.spec.template.spec.containers].map((c: any) => c.name);
    const library = make().job;
    const classic = make({ containerNaming: ContainerNaming.CLASSIC }).job;
    expect(make({ containerNaming: ContainerNaming.LIBRARY }).job).toEqual(library);
    const mapping: { [name: string]: string } = { build: 'image-builder', buildkit: 'image-builder', promote: 'skopeo-promoter', push: 'skopeo-tar-pusher' };
    expect(names(classic)).toEqual(names(library).map(n => mapping[n] ?? n));
    // kubectl logs picks the renamed container, and AppArmor annotations follow it
    const annotations = (j: any) => j.spec.template.metadata.annotations;
    const defaultContainer = annotations(library)['kubectl.kubernetes.io/default-container'];
    expect(annotations(classic)['kubectl.kubernetes.io/default-container']).toBe(mapping[defaultContainer] ?? defaultContainer);
    expect(Object.keys(annotations(classic)).filter(k => k.startsWith('container.apparmor')).map(k => k.split('/')[1]))
      .toEqual(Object.keys(annotations(library)).filter(k => k.startsWith('container.apparmor')).map(k => mapping[k.split('/')[1]] ?? k.split('/')[1]));
  });

  test('fails when containerNaming is unknown', () => {
    expect(() => make({ containerNaming: 'seed' as ContainerNaming })).toThrow(/^containerNaming: got "seed"; expected ContainerNaming.LIBRARY or ContainerNaming.CLASSIC$/);
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
      const changed = nameOf({ resources: { cpuRequestMillicores: 3000 } }).name;
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
      expect(nameOf({ name: JobName.stable(), resources: { cpuRequestMillicores: 3000 } }).name).toBe(stable);
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

describe('serviceAccountName', () => {
  test('fails when it is not a Kubernetes name', () => {
    expect(() => CONSTRUCTS.SkopeoPromoteJob(newChart(), { serviceAccountName: 'Image_Builder' }))
      .toThrow(/^serviceAccountName: got "Image_Builder"; expected a Kubernetes name of at most 63 characters/);
  });
});

describe('containerNaming CLASSIC, per construct', () => {
  test('KanikoBuildJob with promotion: image-builder then skopeo-promoter; TarPushJob: skopeo-tar-pusher', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
      destinations: ['r.io/a:1'],
      promotion: { destinations: ['h.io/a:1'] },
      containerNaming: ContainerNaming.CLASSIC,
    });
    const build = synthJob(chart);
    expect(build.spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(['fetch-context', 'image-builder']);
    expect(build.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['skopeo-promoter']);
    const chart2 = newChart();
    new TarPushJob(chart2, 'push', { archive: ImageArchive.fromUrl('https://a.example.com/i.tar'), destinations: ['h.io/a:1'], containerNaming: ContainerNaming.CLASSIC });
    expect(synthJob(chart2).spec.template.spec.containers.map((c: any) => c.name)).toEqual(['skopeo-tar-pusher']);
  });
});

describe('Job names in one app', () => {
  const kanikoJob = (scope: Construct, id: string, name?: string) => new KanikoBuildJob(scope, id, {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], name: name === undefined ? undefined : JobName.exact(name),
  });

  test('fails at synth when two constructs of one chart are given the same Job name, naming both', () => {
    // GIVEN
    const chart = newChart();
    kanikoJob(chart, 'api', 'build-api');
    new TarPushJob(chart, 'push', { archive: ImageArchive.fromUrl('https://a.example.com/i.tar'), destinations: ['h.io/a:1'], name: JobName.exact('build-api') });

    // THEN
    expect(() => Testing.synth(chart)).toThrow(
      /\[test\/api\] name: got "build-api"; expected a Job name unique in its namespace, but test\/push has it too \(the second kubectl apply would try to replace the first\)/);
    expect(() => Testing.synth(chart)).toThrow(/\[test\/push\] name: got "build-api"; .* but test\/api has it too/);
  });

  test('fails across charts of one app in the same namespace; another namespace or name is fine', () => {
    const app = Testing.app();
    kanikoJob(new Chart(app, 'one', { namespace: 'ci' }), 'api', 'build-api');
    kanikoJob(new Chart(app, 'two', { namespace: 'ci' }), 'api', 'build-api');
    expect(() => app.synth()).toThrow(/\[two\/api\] name: got "build-api"; expected a Job name unique in its namespace, but one\/api has it too/);

    const fine = Testing.app();
    kanikoJob(new Chart(fine, 'one', { namespace: 'ci' }), 'api', 'build-api');
    kanikoJob(new Chart(fine, 'two', { namespace: 'staging' }), 'api', 'build-api');
    const chart = new Chart(fine, 'three', { namespace: 'ci' });
    kanikoJob(chart, 'a');
    kanikoJob(chart, 'b');
    expect(() => fine.synth()).not.toThrow();
  });
});

