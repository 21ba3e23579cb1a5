import { Chart, Duration, Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import {
  BuildContext, ImageReference, ImageTag, JobAnalysisTemplate, KanikoBuildJob, KargoFreightCreationPolicy, KargoImageSelectionStrategy, KargoProject,
  KargoStage, KargoWarehouse, KargoWarehouseProps, SkopeoPromoteJob,
} from '../src';
import { synth, validateObjects } from './util';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

/** A namespaced chart: cluster-scoped kinds must still come out without a namespace. */
function chart(): Chart {
  return new Chart(Testing.app(), 'kargo', { namespace: 'image-factory' });
}

function build(scope: Chart, tag: string): KanikoBuildJob {
  return new KanikoBuildJob(scope, 'api', {
    context: BuildContext.fromUrl('https://artifacts.example.com/api.tar.gz'),
    destinations: [`registry.internal:5000/build/api:${tag}`],
    promotion: { destinations: [`harbor.example.com/platform/api:${tag}`] },
  });
}

describe('Kargo', () => {
  test('Project, ProjectConfig, Warehouse and Stage validate against the Kargo v1.11.2 CRDs', () => {
    const c = chart();
    const tag = ImageTag.push({ commitSha: COMMIT, timestamp: new Date('2026-01-02T03:04:05Z') });
    const api = build(c, tag.value);
    const project = new KargoProject(c, 'project', { name: 'image-factory' });
    const warehouse = new KargoWarehouse(c, 'warehouse', {
      project, name: 'api', images: api.promotionDestinations, tagTemplates: [ImageTag.PUSH_TEMPLATE], discoveryLimit: 50, interval: Duration.minutes(10),
    });
    const promote = new SkopeoPromoteJob(c, 'promote', { source: 'harbor.example.com/platform/api:staging', destinations: ['harbor.example.com/prod/api:live'] });
    const verify = new JobAnalysisTemplate(c, 'verify', { job: promote, name: 'promote-api', args: [{ name: 'sourceImage' }], envFromArgs: { SOURCE_IMAGE: 'sourceImage' } });
    const stage = new KargoStage(c, 'prod', {
      project,
      name: 'prod',
      warehouse,
      verification: [verify],
      verificationArgs: [{ name: 'sourceImage', value: '${{ imageFrom("harbor.example.com/platform/api").RepoURL }}@${{ imageFrom("harbor.example.com/platform/api").Digest }}' }],
    });
    project.addPromotionPolicy(stage, true);
    project.addGenericWebhookReceiver({ name: 'builds', secretName: 'kargo-webhook', warehouses: [warehouse] });

    const objects = synth(c);
    const find = (kind: string) => objects.filter(o => o.kind === kind);
    expect(find('Project')).toEqual([{ apiVersion: 'kargo.akuity.io/v1alpha1', kind: 'Project', metadata: { name: 'image-factory' } }]);
    expect(find('ProjectConfig')[0]).toMatchObject({
      metadata: { name: 'image-factory', namespace: 'image-factory' },
      spec: {
        promotionPolicies: [{ stage: 'prod', autoPromotionEnabled: true }],
        webhookReceivers: [{
          name: 'builds',
          generic: { secretRef: { name: 'kargo-webhook' }, actions: [{ action: 'Refresh', targetSelectionCriteria: [{ kind: 'Warehouse', name: 'api' }] }] },
        }],
      },
    });
    const rendered = find('Warehouse')[0];
    expect(rendered.metadata).toEqual({ name: 'api', namespace: 'image-factory' });
    expect(rendered.spec).toEqual({
      interval: '600s',
      freightCreationPolicy: 'Automatic',
      subscriptions: [{
        image: {
          repoURL: 'harbor.example.com/platform/api',
          imageSelectionStrategy: 'Lexical',
          allowTagsRegexes: ['^v[0-9]{8}-[a-f0-9]{4,40}$'],
          discoveryLimit: 50,
        },
      }],
    });
    expect(JSON.stringify(objects)).not.toMatch(/"allowTags"|"ignoreTags"/);
    // the regex Kargo gets accepts the tag the build pushed
    expect(tag.value).toMatch(new RegExp(rendered.spec.subscriptions[0].image.allowTagsRegexes[0]));
    expect(find('Stage')[0].spec).toEqual({
      requestedFreight: [{ origin: { kind: 'Warehouse', name: 'api' }, sources: { direct: true } }],
      verification: {
        analysisTemplates: [{ name: 'promote-api' }],
        args: [{ name: 'sourceImage', value: '${{ imageFrom("harbor.example.com/platform/api").RepoURL }}@${{ imageFrom("harbor.example.com/platform/api").Digest }}' }],
      },
    });
  });

  test('Warehouse: one subscription per repository, explicit regexes, Kargo\'s defaults left to Kargo', () => {
    const c = chart();
    new KargoWarehouse(c, 'w', {
      images: ['h.io/a/api:1.0.0', 'h.io/a/api:latest', 'r.io/b/api@sha256:' + 'a'.repeat(64)].map(ImageReference.parse),
      allowTagsRegexes: ['^\\d+\\.\\d+\\.\\d+$'],
      freightCreationPolicy: KargoFreightCreationPolicy.MANUAL,
    });
    const warehouse = synth(c).find(o => o.kind === 'Warehouse');
    expect(warehouse.metadata.namespace).toBe('image-factory');
    expect(warehouse.spec).toEqual({
      interval: '300s',
      freightCreationPolicy: 'Manual',
      subscriptions: [
        { image: { repoURL: 'h.io/a/api', allowTagsRegexes: ['^\\d+\\.\\d+\\.\\d+$'] } },
        { image: { repoURL: 'r.io/b/api', allowTagsRegexes: ['^\\d+\\.\\d+\\.\\d+$'] } },
      ],
    });
  });

  test('the CRD check is real: a Project with the removed spec, or with a namespace, fails it', () => {
    const project = { apiVersion: 'kargo.akuity.io/v1alpha1', kind: 'Project', metadata: { name: 'p' } };
    expect(() => validateObjects([project])).not.toThrow();
    expect(() => validateObjects([{ ...project, spec: { promotionPolicies: [] } }])).toThrow();
    expect(() => validateObjects([{ ...project, metadata: { name: 'p', namespace: 'p' } }])).toThrow(/cluster-scoped/);
    expect(() => validateObjects([{ apiVersion: 'kargo.akuity.io/v1alpha1', kind: 'Warehouse', metadata: { name: 'w' }, spec: { interval: '5 minutes', subscriptions: [{}] } }])).toThrow();
  });

  test('a later Stage takes Freight verified upstream', () => {
    const c = chart();
    const warehouse = new KargoWarehouse(c, 'w', { images: [ImageReference.parse('h.io/a/api:1')], imageSelectionStrategy: KargoImageSelectionStrategy.NEWEST_BUILD });
    const test1 = new KargoStage(c, 'test', { warehouse });
    new KargoStage(c, 'prod', { warehouse, upstreamStages: [test1] });
    const stages = synth(c).filter(o => o.kind === 'Stage');
    expect(stages[1].spec.requestedFreight[0].sources).toEqual({ stages: [test1.name] });
  });

  describe('fails when', () => {
    const warehouse = (props: Partial<KargoWarehouseProps>) => () => new KargoWarehouse(chart(), 'w', { images: [ImageReference.parse('h.io/a/api:1')], ...props });
    test.each<[string, () => unknown, RegExp]>([
      ['a tag regex does not compile', warehouse({ allowTagsRegexes: ['^v(\\d+$'] }), /^allowTagsRegexes\[0\]: got "\^v\(\\\\d\+\$"; expected a regular expression that compiles/],
      ['a tag regex uses a lookahead RE2 lacks', warehouse({ allowTagsRegexes: ['^(?!rc).*$'] }), /^allowTagsRegexes\[0\]: got .*; expected a Go RE2 expression/],
      ['a tag template has an unknown field', warehouse({ tagTemplates: ['v{{version}}'] }), /^tagTemplates\[0\]: ImageTag.fromTemplate template: got "v\{\{version\}\}"; has unknown field/],
      ['no image is given', warehouse({ images: [] }), /^images: got \[\]; expected at least one image reference/],
      ['the discovery limit is over 100', warehouse({ discoveryLimit: 101 }), /^discoveryLimit: got 101; expected a whole number from 1 to 100$/],
      ['DIGEST comes without a constraint', warehouse({ imageSelectionStrategy: KargoImageSelectionStrategy.DIGEST }), /^constraint: got undefined; expected the mutable tag/],
      ['a verification argument is not declared by the template', () => {
        const c = chart();
        const promote = new SkopeoPromoteJob(c, 'promote', { source: 'h.io/a/api:1', destinations: ['h.io/b/api:1'] });
        const verify = new JobAnalysisTemplate(c, 'verify', { job: promote, name: 'verify', args: [{ name: 'digest' }] });
        new KargoStage(c, 's', { warehouse: new KargoWarehouse(c, 'w', { images: [ImageReference.parse('h.io/a/api:1')] }), verification: [verify], verificationArgs: [{ name: 'imageDigest', value: 'x' }] });
      }, /^verificationArgs\[0\].name: got "imageDigest"; expected an argument declared by AnalysisTemplate "verify" \(declared: digest\)/],
      ['a Project name is not a DNS label', () => new KargoProject(chart(), 'p', { name: 'Image_Factory' }), /^name: got "Image_Factory"/],
      ['a webhook receiver has no Secret', () => new KargoProject(chart(), 'p').addGenericWebhookReceiver({ name: 'builds', secretName: '', warehouses: [{ name: 'w' }] }),
        /^addGenericWebhookReceiver secretName: got ""; expected a Kubernetes name/],
    ])('%s', (_, make, message) => {
      expect(make).toThrow(message);
    });
  });
});
