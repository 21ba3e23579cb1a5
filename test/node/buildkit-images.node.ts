/**
 * The BuildKit images on the real node: a hand-written Job per mode (not a construct: the constructs' BuildKit Job
 * needs an OCI Connector's CSI driver) runs `buildctl-daemonless.sh` from the node image as the constructs'
 * profiles run it, through the real kubelet and containerd: privileged as root, rootless as uid 1000 with
 * Unconfined seccomp and privilege escalation allowed, so rootlesskit's newuidmap keeps the file capabilities the
 * layer carries. The build pushes to the plain-http intermediate registry at the digest the metadata file names.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, NodeEnvironment } from './node';
import { ToolImages } from '../../src';

let env: NodeEnvironment;

beforeAll(async () => {
  env = await NodeEnvironment.start('buildkit-images');
});

afterAll(async () => {
  await env?.stop();
});

const DOCKERFILE = (base: string) => [
  `FROM ${base} AS build`,
  'RUN mkdir /out && echo built-by-run > /out/built && id -u > /out/uid',
  `FROM ${base}`,
  'COPY --from=build /out/ /from-build/',
  'COPY owned.txt /owned.txt',
  'RUN cat /from-build/built /owned.txt > /combined',
  '',
].join('\n');

// ConfigMap files are symlinks into ..data, which BuildKit would send as symlinks: the context is copied first.
const SCRIPT = [
  'set -eu',
  'mkdir -p /tmp/context',
  'cp -L /context-files/Dockerfile /context-files/owned.txt /tmp/context/',
  'buildctl-daemonless.sh build --frontend=dockerfile.v0 --local=context=/tmp/context --local=dockerfile=/tmp/context '
    + '--output="type=image,name=$DESTINATION,push=true" --metadata-file=/tmp/metadata.json',
  'sed -n \'s/.*"containerimage.digest": *"\\(sha256:[0-9a-f]*\\)".*/\\1/p\' /tmp/metadata.json > /dev/termination-log',
].join('\n');

function buildJob(name: string, image: string, rootless: boolean, destination: string): any[] {
  const securityContext = rootless
    ? { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, allowPrivilegeEscalation: true, seccompProfile: { type: 'Unconfined' } }
    : { privileged: true };
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-context` }, data: { 'Dockerfile': DOCKERFILE(env.tier.images.busybox), 'owned.txt': 'a context file\n' } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-buildkitd` },
      // plain http to the intermediate registry (the push) and the image registry (the FROM)
      data: {
        'buildkitd.toml': ['[worker.containerd]\n  enabled = false\n', ...[env.intermediate.host, env.tier.images.busybox.split('/')[0]]
          .map(host => `[registry."${host}"]\n  http = true\n  insecure = true\n`)].join(''),
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{
              name: 'build',
              image,
              command: ['sh', '-c', SCRIPT],
              env: [
                { name: 'DESTINATION', value: destination },
                { name: 'BUILDKITD_FLAGS', value: `${rootless ? '--oci-worker-no-process-sandbox ' : ''}--config /etc/buildkit/buildkitd.toml` },
              ],
              securityContext,
              volumeMounts: [
                { name: 'context-files', mountPath: '/context-files', readOnly: true },
                { name: 'buildkitd', mountPath: '/etc/buildkit', readOnly: true },
              ],
            }],
            volumes: [
              { name: 'context-files', configMap: { name: `${name}-context` } },
              { name: 'buildkitd', configMap: { name: `${name}-buildkitd` } },
            ],
          },
        },
      },
    },
  ];
}

describe('BuildKit images on the node', () => {
  for (const [mode, image, rootless] of [['privileged', ToolImages.BUILDKIT, false], ['rootless', ToolImages.BUILDKIT_ROOTLESS, true]] as const) {
    test(`${mode}: buildctl-daemonless.sh builds a multi-stage Dockerfile with RUN steps and pushes at the digest it reports`, async () => {
      const destination = `${env.intermediate.host}/built/buildkit-${mode}:1`;
      const objects = buildJob(`buildkit-${mode}`, image, rootless, destination);
      const run = await env.runJob(objects.filter(o => o.kind === 'Job'), 'privileged', objects.filter(o => o.kind === 'ConfigMap'));
      const build = containerOf(run, 'build');
      expect(run.phase, build.log).toBe('Complete');
      expect(build.terminationMessage.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(build.terminationMessage.trim()).toBe(env.inspectDigest(destination));
    });
  }
});
