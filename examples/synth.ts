/**
 * Synthesizes every example into `examples/dist/<example>.k8s.yaml` and prints what it wrote.
 * Run with `npx projen synth:examples`.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import * as buildFromContext from './build-from-context';
import * as buildahBuild from './buildah-build';
import * as buildkitBuild from './buildkit-build';
import * as imageFactory from './image-factory';
import * as kymaTags from './kyma-tags';
import * as monorepoBatch from './monorepo-batch';
import * as multiArch from './multi-arch';
import * as ociConnector from './oci-connector';
import * as productionRegistries from './production-registries';
import * as promote from './promote';
import * as pushTar from './push-tar';
import * as unified from './unified';
import * as unifiedToolsImage from './unified-tools-image';

/** Every example, by the file name of its YAML. */
export const EXAMPLES: { [name: string]: (app: App) => Chart } = {
  'build-from-context': buildFromContext.build,
  'buildah-build': buildahBuild.build,
  'buildkit-build': buildkitBuild.build,
  'promote': promote.build,
  'push-tar': pushTar.build,
  'unified': unified.build,
  'unified-tools-image': unifiedToolsImage.build,
  'oci-connector': ociConnector.build,
  'monorepo-batch': monorepoBatch.build,
  'kyma-tags': kymaTags.build,
  'multi-arch': multiArch.build,
  'image-factory': imageFactory.build,
  'production-registries': productionRegistries.build,
};

/** The YAML an example synthesizes. */
export function synthExample(name: string): string {
  const app = new App();
  EXAMPLES[name](app);
  return app.synthYaml();
}

if (require.main === module) {
  const dist = join(__dirname, 'dist');
  mkdirSync(dist, { recursive: true });
  for (const name of Object.keys(EXAMPLES)) {
    const file = join(dist, `${name}.k8s.yaml`);
    writeFileSync(file, synthExample(name));
    console.log(`wrote examples/dist/${name}.k8s.yaml`);
  }
}
