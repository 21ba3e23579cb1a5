/**
 * Promote an image that already exists, by digest, from a staging registry to two production
 * registries. Credentials come from `kubernetes.io/dockerconfigjson` Secrets.
 */
import { App, Chart } from 'cdk8s';
import { JobName, RegistryCredentials, SkopeoPromoteJob } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'promote', { namespace: 'image-builds' });
  new SkopeoPromoteJob(chart, 'api', {
    name: JobName.contentHashed('promote-api-1-4-0'),
    source: 'staging.registry.example.com/platform/api@sha256:3b7e55e152e2d169eb21deddb16fccc917faf00dceee62ee70796a0b015220b4',
    sourceCredentials: RegistryCredentials.fromDockerConfigSecret('staging-pull'),
    destinations: [
      'harbor.example.com/platform/api:1.4.0',
      'harbor.example.com/platform/api:stable',
      'mirror.example.org/platform/api:1.4.0',
    ],
    destinationCredentials: RegistryCredentials.fromDockerConfigSecret('production-push'),
  });
  return chart;
}
