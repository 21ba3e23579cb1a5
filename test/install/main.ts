// The app test/install/run.sh puts in place of the main.ts of a fresh `cdk8s init typescript-app`: it uses
// cdk8s-plus-33 (what the template installs) next to every construct of cdk8s-image-jobs, which is built on
// cdk8s-plus-28. It must type-check with the template's own tsconfig and TypeScript, and synthesize.
import { ApiObject, App, Chart, ChartProps, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-33';
import {
  BuildahBuildJob, BuildContext, BuildkitBuildJob, ImageArchive, KanikoBatchShape, KanikoBuildBatch, KanikoBuildJob, OciConnector,
  OciConnectorBuildJob, RegistryCredentials, SkopeoPromoteJob, TarPushJob, TolerationEffect, UnifiedImageJob,
  UnifiedJobMode,
} from 'cdk8s-image-jobs';
import { Construct } from 'constructs';

const DIGEST = 'sha256:3b7e55e152e2d169eb21deddb16fccc917faf00dceee62ee70796a0b015220b4';

export class MyChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = { }) {
    super(scope, id, { namespace: 'image-builds', ...props });

    // cdk8s-plus-33 objects of the app; the library takes their names and plain structs
    const builder = new kplus.ServiceAccount(this, 'builder', { metadata: { name: 'image-builder' }, automountToken: false });
    const pushSecret = new kplus.Secret(this, 'harbor-credentials', { stringData: { username: 'robot', password: 'from-your-secret-store' } });
    const scheduling = {
      serviceAccountName: builder.name,
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: [{ key: 'dedicated', value: 'image-builds', effect: TolerationEffect.NO_SCHEDULE }],
    };
    const harbor = RegistryCredentials.fromUsernamePassword(pushSecret.name);

    const kaniko = new KanikoBuildJob(this, 'kaniko', {
      context: BuildContext.fromUrl('https://artifacts.example.com/api.tar.gz', { sha256: DIGEST.slice(7) }),
      destinations: ['harbor.example.com/platform/api:1.4.0'],
      credentials: harbor,
      resources: { cpuRequestMillicores: 2000, memoryRequest: Size.gibibytes(4), memoryLimit: Size.gibibytes(8) },
      ...scheduling,
    });
    // the escape hatch is a cdk8s-plus-28 Job; cdk8s's own ApiObject patches it from any cdk8s-plus version
    ApiObject.of(kaniko.job).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'image-builds'));

    new BuildahBuildJob(this, 'buildah', {
      context: BuildContext.fromLocalDirectory('contexts/api'),
      destinations: ['harbor.example.com/platform/api:1.4.0-buildah'],
      credentials: harbor,
      ...scheduling,
    });
    new BuildkitBuildJob(this, 'buildkit', {
      context: BuildContext.fromLocalDirectory('contexts/api'),
      destinations: ['harbor.example.com/platform/api:1.4.0-buildkit'],
      credentials: harbor,
      platforms: ['linux/amd64', 'linux/arm64'],
      ...scheduling,
    });
    new SkopeoPromoteJob(this, 'promote', {
      source: `staging.example.com/platform/api@${DIGEST}`,
      destinations: ['harbor.example.com/platform/api:stable'],
      destinationCredentials: harbor,
      ...scheduling,
    });
    new TarPushJob(this, 'push-tar', {
      archive: ImageArchive.fromUrl('https://artifacts.example.com/api-1.4.0.tar', { sha256: DIGEST.slice(7) }),
      destinations: ['harbor.example.com/platform/api:1.4.0-tar'],
      credentials: harbor,
      ...scheduling,
    });
    new UnifiedImageJob(this, 'unified', {
      mode: UnifiedJobMode.PUSH_TAR,
      toolsImage: `harbor.example.com/platform/unified-tools:1.0.0@${DIGEST}`,
      archive: ImageArchive.fromUrl('https://artifacts.example.com/worker-2.0.1.tar'),
      destinations: ['harbor.example.com/platform/worker:2.0.1'],
      credentials: harbor,
      ...scheduling,
    });
    new KanikoBuildBatch(this, 'batch', {
      contextsDirectory: 'contexts',
      registries: ['harbor.example.com'],
      repositoryPrefix: 'platform',
      tags: ['2.0'],
      credentials: harbor,
      shape: KanikoBatchShape.INDEXED,
      ...scheduling,
    });
    new OciConnectorBuildJob(this, 'connector', {
      connector: OciConnector.fromName('harbor', { registry: 'https://harbor.example.com' }),
      context: BuildContext.fromConfigMap('dockerfile'),
      destinations: ['harbor.example.com/platform/api:1.4.0-buildkit'],
      createRbac: true,
      ...scheduling,
    });

    // proof that both cdk8s-plus versions are really in play: their classes are distinct types to tsc
    // @ts-expect-error a cdk8s-plus-33 Job is not the cdk8s-plus-28 Job of the escape hatch
    const mixed: typeof kaniko.job = undefined as unknown as kplus.Job;
    void mixed;
  }
}

const app = new App();
new MyChart(app, 'app');
app.synth();
