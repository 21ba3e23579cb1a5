import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { describe, expect, test } from 'vitest';
import {
  BuildahBuildJob, BuildContext, BuildkitMode, IImageJob, ImageJobOptions, JobAnalysisTemplate, JobAnalysisTemplateProps, KanikoBuildJob,
  OciConnector, OciConnectorBuildJob, SkopeoPromoteJob, UnifiedImageJob, UnifiedJobMode,
} from '../src';
import { CONSTRUCTS } from './constructs';
import { resolveArgs, resolvedMetric } from './rollouts';
import { envOf, synth, validateObjects } from './util';
import * as scripts from '../src/_scripts';

/** Every construct and the variants whose pods run other scripts (promotion, build modes, rootless BuildKit). */
const VARIANTS: { [name: string]: (scope: Construct, options: ImageJobOptions) => IImageJob } = {
  ...CONSTRUCTS,
  'KanikoBuildJob with promotion': (scope, options) => new KanikoBuildJob(scope, 'job', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
    destinations: ['r.io/a:1'],
    promotion: { destinations: ['h.io/a:1'] },
    buildArgs: { TEMPLATE: '{{ .Values.image }}' },
    ...options,
  }),
  'BuildahBuildJob with promotion': (scope, options) => new BuildahBuildJob(scope, 'job', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], promotion: { destinations: ['h.io/a:1'] }, ...options,
  }),
  'UnifiedImageJob BUILD_AND_PUSH': (scope, options) => new UnifiedImageJob(scope, 'job', {
    mode: UnifiedJobMode.BUILD_AND_PUSH,
    toolsImage: 'r.io/tools:1',
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
    intermediateDestination: 'r.io/build/a:1',
    destinations: ['h.io/a:1'],
    ...options,
  }),
  'OciConnectorBuildJob ROOTLESS': (scope, options) => new OciConnectorBuildJob(scope, 'job', {
    connector: OciConnector.fromName('harbor', { namespace: 'ci' }),
    context: BuildContext.fromConfigMap('ctx'),
    destinations: ['h.io/a:1'],
    mode: BuildkitMode.ROOTLESS,
    ...options,
  }),
};

type Make = (scope: Construct, options: ImageJobOptions) => IImageJob;

function render(make: Make, options: ImageJobOptions, props: Partial<JobAnalysisTemplateProps> = {}, chart: Chart = Testing.chart()) {
  const construct = make(chart, options);
  const template = new JobAnalysisTemplate(chart, 'verify', { job: construct, ...props });
  return { template, construct, objects: synth(chart) };
}

/** The plain Job the construct synthesizes on its own. */
function plainJob(make: (scope: Construct, options: ImageJobOptions) => IImageJob, options: ImageJobOptions): any {
  const chart = Testing.chart();
  make(chart, options);
  return synth(chart).find(o => o.kind === 'Job');
}

describe.each(Object.keys(VARIANTS))('JobAnalysisTemplate of %s', (name) => {
  const make = VARIANTS[name];

  test('the metric runs the same pod; the plain Job leaves the chart; the template fits the Argo Rollouts v1.9.1 CRD', () => {
    const { objects, template, construct } = render(make, {});
    expect(objects.filter(o => o.kind === 'Job')).toEqual([]);
    expect(construct.job.name).toBe(plainJob(make, {}).metadata.name);
    const rendered = objects.find(o => o.kind === 'AnalysisTemplate');
    expect(rendered.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(rendered.metadata.name).toBe(template.name);
    const metric = rendered.spec.metrics[0];
    expect(metric).toMatchObject({ name: 'job', count: 1, failureLimit: 0 });
    const job = plainJob(make, {});
    expect(resolvedMetric(rendered).provider.job.spec).toEqual(job.spec);
    expect(metric.provider.job.metadata).toEqual({ labels: job.metadata.labels });
    validateObjects([{ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'analysis-job' }, spec: metric.provider.job.spec }]);
    // the CRD check is real: an unknown field or a wrong type fails it
    expect(() => validateObjects([{ ...rendered, spec: { ...rendered.spec, metric: {} } }])).toThrow();
    expect(() => validateObjects([{ ...rendered, spec: { ...rendered.spec, metrics: [{ ...metric, provider: { job: { spec: { template: 'pod' } } } }] } }])).toThrow();
  });

  test('every literal "{{" (scripts, args, env, labels, annotations) survives Argo Rollouts\' argument resolution unchanged', () => {
    const options = { jobAnnotations: { 'example.com/format': '{{.Id}} {{{ x }}}' }, jobLabels: { team: 'platform' } };
    const { objects } = render(make, options);
    const rendered = objects.find(o => o.kind === 'AnalysisTemplate');
    expect(rendered.spec.args).toEqual([{ name: 'literalOpenBraces', value: '{{' }]);
    const job = plainJob(make, options);
    expect(resolvedMetric(rendered).provider.job.spec).toEqual(job.spec);
    expect(resolvedMetric(rendered).provider.job.metadata.annotations).toEqual(job.metadata.annotations);
    // unescaped, the same Job would fail the AnalysisRun
    expect(() => resolveArgs(JSON.stringify(job.spec), {})).toThrow(/failed to resolve \{\{.Id\}\}/);
  });
});

describe('JobAnalysisTemplate', () => {
  test('no script of the library holds "{{"; with no literal in the pod no extra argument is declared', () => {
    for (const [key, script] of Object.entries(scripts).filter(([, v]) => typeof v === 'string')) {
      expect(script as string, key).not.toContain('{{');
    }
    const { objects } = render(CONSTRUCTS.SkopeoPromoteJob, {});
    expect(objects.find(o => o.kind === 'AnalysisTemplate').spec.args).toBeUndefined();
  });

  test('a Freight\'s image reaches a SkopeoPromoteJob through a declared argument', () => {
    const chart = Testing.chart();
    const promote = new SkopeoPromoteJob(chart, 'promote', { source: 'r.io/team/api:staging', destinations: ['h.io/team/api:prod'] });
    const template = new JobAnalysisTemplate(chart, 'verify', {
      job: promote,
      metricName: 'promote',
      name: 'promote-api',
      args: [{ name: 'sourceImage' }, { name: 'stage', value: 'prod' }],
      envFromArgs: { SOURCE_IMAGE: 'sourceImage' },
    });
    const rendered = synth(chart).find(o => o.kind === 'AnalysisTemplate');
    expect(template.argNames).toEqual(['sourceImage', 'stage']);
    expect(rendered.metadata.name).toBe('promote-api');
    expect(rendered.spec.args).toEqual([{ name: 'sourceImage' }, { name: 'stage', value: 'prod' }]);
    const pod = resolvedMetric(rendered, { sourceImage: 'r.io/team/api@sha256:' + 'a'.repeat(64) }).provider.job.spec.template.spec;
    const promoter = [...(pod.initContainers ?? []), ...pod.containers].find((c: any) => envOf(c).SOURCE_IMAGE !== undefined);
    expect(envOf(promoter).SOURCE_IMAGE).toBe('r.io/team/api@sha256:' + 'a'.repeat(64));
    // without the argument the run fails, as Argo Rollouts does
    expect(() => resolvedMetric(rendered)).toThrow('failed to resolve {{args.sourceImage}}');
  });

  test('a ClusterAnalysisTemplate carries no namespace even in a namespaced chart', () => {
    const chart = new Chart(Testing.app(), 'kargo', { namespace: 'builds' });
    const { objects } = render(CONSTRUCTS.TarPushJob, {}, { clusterScoped: true, name: 'push' }, chart);
    const rendered = objects.find(o => o.kind === 'ClusterAnalysisTemplate');
    expect(rendered.metadata).toEqual({ name: 'push' });
    expect(objects.filter(o => o.kind !== 'ClusterAnalysisTemplate').every(o => o.metadata.namespace === 'builds')).toBe(true);
  });

  describe('fails when', () => {
    const make = (props: Partial<JobAnalysisTemplateProps>) => () => render(CONSTRUCTS.SkopeoPromoteJob, {}, props);
    test.each<[string, Partial<JobAnalysisTemplateProps>, RegExp]>([
      ['the metric name is over 20 characters', { metricName: 'verify-promotion-prod' },
        /^metricName: got "verify-promotion-prod"; expected at most 20 characters: Argo Rollouts puts "<uid>.<metric>.<n>" in 63-character pod labels$/],
      ['the metric name is not a DNS label', { metricName: 'Build' }, /^metricName: got "Build"; expected a DNS label/],
      ['an argument used is not declared', { args: [{ name: 'digest' }], envFromArgs: { SOURCE_IMAGE: 'sourceImage' } },
        /^envFromArgs.SOURCE_IMAGE: got "sourceImage"; expected an argument declared in args \(declared: digest\)$/],
      ['no container has the variable', { args: [{ name: 'a' }], envFromArgs: { NOT_THERE: 'a' } }, /^envFromArgs key: got "NOT_THERE"; expected an environment variable/],
      ['an argument is declared twice', { args: [{ name: 'a' }, { name: 'a' }] }, /^args\[1\].name: got "a"; expected each argument declared once$/],
      ['an argument takes the reserved name', { args: [{ name: 'literalOpenBraces' }] }, /^args\[0\].name: got "literalOpenBraces"/],
      ['an argument name has a dot', { args: [{ name: 'image.digest' }] }, /^args\[0\].name: got "image.digest"/],
    ])('%s', (_, props, message) => {
      expect(make(props)).toThrow(message);
    });
  });
});
