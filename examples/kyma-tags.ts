/**
 * Seed 002, Kyma's image builder: a pull-request build tagged `PR-<number>` and a push build tagged
 * `v<date>-<short sha>` plus a fixed tag, each pushed to every registry, with `BUILD_COMMIT_SHA` and a layer
 * cache. In CI the values come from the CI variables (PULL_NUMBER, PULL_PULL_SHA, GITHUB_SHA, …) or git;
 * here they are given explicitly so that the committed YAML stays the same from day to day.
 */
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { BuildContext, ImageDestinations, ImageTag, KanikoBuildJob, RegistryCredentials } from '../src';

const COMMIT = '4f9c2b7a1d3e5f60718293a4b5c6d7e8f9012345';
const TIMESTAMP = new Date('2026-11-23T09:30:00Z');

export function build(app: App): Chart {
  const chart = new Chart(app, 'kyma-tags', { namespace: 'image-builds' });
  const registries = ['europe-docker.pkg.dev', 'harbor.example.com'];
  const repository = 'kyma-project/prod/test-infra/ginkgo';
  const credentials = RegistryCredentials.fromDockerConfigSecret('image-push');
  const context = BuildContext.fromLocalDirectory(join(__dirname, 'contexts', 'a'));

  const pr = ImageTag.pullRequest({ prNumber: '4242', commitSha: COMMIT, timestamp: TIMESTAMP });
  new KanikoBuildJob(chart, 'ginkgo-pr', {
    context,
    destinations: ImageDestinations.of({ registries, repository, tags: [pr.value] }),
    credentials,
    commitSha: pr.commitSha,
    cache: {},
  });

  const push = ImageTag.push({ commitSha: COMMIT, timestamp: TIMESTAMP });
  new KanikoBuildJob(chart, 'ginkgo-push', {
    context,
    destinations: ImageDestinations.of({ registries, repository, tags: [push.value, 'v0.0.1-test'] }),
    credentials,
    commitSha: push.commitSha,
    cache: {},
  });
  return chart;
}
