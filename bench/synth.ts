/**
 * Synthesis benchmark: how long it takes to synthesize many image Jobs into YAML.
 * Run with `npx projen bench` (optionally `BENCH_JOBS=2000`). Prints one line per construct.
 */
import { performance } from 'perf_hooks';
import { App, Chart } from 'cdk8s';
import { BuildContext, ImageArchive, KanikoBuildJob, OciConnector, OciConnectorBuildJob, RegistryCredentials, SkopeoPromoteJob, TarPushJob } from '../src';

const JOBS = Number(process.env.BENCH_JOBS ?? 500);
const ROUNDS = 3;

function kaniko(chart: Chart, i: number): void {
  new KanikoBuildJob(chart, `build-${i}`, {
    context: BuildContext.fromUrl(`https://artifacts.example.com/c-${i}.tar.gz`, { sha256: 'a'.repeat(64) }),
    destinations: [`registry.internal:5000/build/app-${i}:1.0.${i}`],
    credentials: RegistryCredentials.fromDockerConfigSecret('push'),
    buildArgs: { VERSION: `1.0.${i}` },
    promotion: { destinations: [`harbor.example.com/platform/app-${i}:1.0.${i}`], credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials') },
  });
}

function skopeo(chart: Chart, i: number): void {
  new SkopeoPromoteJob(chart, `promote-${i}`, {
    source: `registry.internal:5000/build/app-${i}@sha256:${'b'.repeat(64)}`,
    destinations: [`harbor.example.com/platform/app-${i}:1.0.${i}`, `harbor.example.com/platform/app-${i}:stable`],
    destinationCredentials: RegistryCredentials.fromDockerConfigSecret('push'),
  });
}

function tarPush(chart: Chart, i: number): void {
  new TarPushJob(chart, `push-${i}`, {
    archive: ImageArchive.fromUrl(`https://artifacts.example.com/app-${i}.tar`, { sha256: 'c'.repeat(64) }),
    destinations: [`harbor.example.com/platform/app-${i}:1.0.${i}`, `mirror.example.com/platform/app-${i}:1.0.${i}`],
    credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
  });
}

function ociConnector(chart: Chart, i: number): void {
  new OciConnectorBuildJob(chart, `connector-${i}`, {
    connector: OciConnector.fromName('harbor', { namespace: 'ci' }),
    context: BuildContext.fromConfigMap(`dockerfile-${i}`),
    destinations: [`harbor.example.com/platform/app-${i}:1.0.${i}`],
  });
}

function measure(name: string, add: (chart: Chart, i: number) => void): void {
  const times: number[] = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    const app = new App();
    const chart = new Chart(app, 'bench');
    for (let i = 0; i < JOBS; i++) add(chart, i);
    bytes = app.synthYaml().length;
    times.push(performance.now() - start);
  }
  const best = Math.min(...times);
  console.log(`${name}: ${JOBS} Jobs in ${best.toFixed(0)} ms (best of ${ROUNDS}), ${(best / JOBS).toFixed(2)} ms per Job, ${(bytes / JOBS / 1024).toFixed(1)} KiB YAML per Job`);
}

measure('KanikoBuildJob with promotion', kaniko);
measure('SkopeoPromoteJob', skopeo);
measure('TarPushJob', tarPush);
measure('OciConnectorBuildJob', ociConnector);
