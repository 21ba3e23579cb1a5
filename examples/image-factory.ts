/**
 * The Image Factory, end to end, in one chart: a Kargo Project, and for each image a build Job that Argo CD
 * syncs (content-hashed: a changed build is a new Job), a Warehouse that turns each pushed tag into Freight,
 * a `test` Stage that takes new Freight automatically, and a `prod` Stage whose verification promotes the
 * Freight's exact digest to the production registry with a SkopeoPromoteJob run by Argo Rollouts. Build →
 * registry → Warehouse → Freight → Stage → verification Job. Commit and time are fixed so that the YAML stays
 * the same from day to day.
 */
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import {
  ArgoCd, BuildContext, ImageTag, JobAnalysisTemplate, JobName, KanikoBuildJob, KargoNotification, KargoProject, KargoStage, KargoWarehouse,
  RegistryCredentials, SkopeoPromoteJob,
} from '../src';

const COMMIT = '4f9c2b7a1d3e5f60718293a4b5c6d7e8f9012345';
const TIMESTAMP = new Date('2026-11-23T09:30:00Z');
const IMAGES = [{ name: 'api', context: 'a' }, { name: 'worker', context: 'b' }];

export function build(app: App): Chart {
  // the Project's name is its namespace: the Warehouses, Stages and verification templates must live there
  const chart = new Chart(app, 'image-factory', { namespace: 'image-factory' });
  const project = new KargoProject(chart, 'project', { name: 'image-factory' });
  const tag = ImageTag.push({ commitSha: COMMIT, timestamp: TIMESTAMP });
  const pushCredentials = RegistryCredentials.fromDockerConfigSecret('harbor-push');

  for (const image of IMAGES) {
    const repository = `harbor.example.com/staging/${image.name}`;
    const buildJob = new KanikoBuildJob(chart, `${image.name}-build`, {
      name: JobName.contentHashed(`build-${image.name}`),
      context: BuildContext.fromLocalDirectory(join(__dirname, 'contexts', image.context)),
      destinations: [`${repository}:${tag.value}`],
      credentials: pushCredentials,
      commitSha: tag.commitSha,
      sourceUrl: 'https://github.com/example/image-factory',
      argoCd: ArgoCd.syncedResource(),
      // Freight in seconds: after the push, POST to the receiver below (its URL, copied from the ProjectConfig's
      // status, is in this Secret)
      kargoNotification: KargoNotification.webhook({ secretName: `${image.name}-pushed-receiver-url` }),
    });

    const warehouse = new KargoWarehouse(chart, `${image.name}-warehouse`, {
      project, name: image.name, images: buildJob.imageReferences, tagTemplates: [ImageTag.PUSH_TEMPLATE],
    });
    const testStage = new KargoStage(chart, `${image.name}-test`, { project, name: `${image.name}-test`, warehouse });

    // verification in prod: copy the Freight's digest to the production registry and check it
    const promote = new SkopeoPromoteJob(chart, `${image.name}-promote`, {
      source: `${repository}:${tag.value}`,
      destinations: [`harbor.example.com/prod/${image.name}:live`],
      sourceCredentials: pushCredentials,
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-prod-push'),
    });
    const verify = new JobAnalysisTemplate(chart, `${image.name}-verify`, {
      job: promote, name: `promote-${image.name}`, metricName: 'promote', args: [{ name: 'sourceImage' }], envFromArgs: { SOURCE_IMAGE: 'sourceImage' },
    });
    const prodStage = new KargoStage(chart, `${image.name}-prod`, {
      project,
      name: `${image.name}-prod`,
      warehouse,
      upstreamStages: [testStage],
      verification: [verify],
      verificationArgs: [{ name: 'sourceImage', value: `\${{ imageFrom("${repository}").RepoURL }}@\${{ imageFrom("${repository}").Digest }}` }],
    });
    project.addPromotionPolicy(testStage, true);
    project.addPromotionPolicy(prodStage, false);
    project.addGenericWebhookReceiver({ name: `${image.name}-pushed`, secretName: 'kargo-webhook', warehouses: [warehouse] });
  }
  return chart;
}
