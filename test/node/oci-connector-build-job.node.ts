/**
 * OciConnectorBuildJob on the real node with the real BuildKit (privileged and rootless), pushing through the e2e
 * tier's connector-proxy stand-in, which adds the harbor credentials the pod never sees.
 *
 * The one change besides the images: the node has no connectors-csi driver, so each `connectors-csi` CSI volume is
 * replaced by a Secret volume holding exactly the files the driver would publish for its volume attributes (the
 * proxy's docker config.json with the connector token, and buildkitd.toml). Mount paths and read-only flags stay.
 */
import { randomBytes } from 'crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeJob, expectServed, HARBOR_USER, NodeEnvironment } from './node';
import { BuildContext, BuildkitMode, OciConnector, OciConnectorBuildJob, OciConnectorBuildJobProps } from '../../src';
import { synthesize } from '../e2e/environment';
import { ConnectorProxy } from '../e2e/fixtures';

const NAMESPACE = 'image-builds';
const PREFIX = `/namespaces/${NAMESPACE}/connectors/harbor`;
const CONNECTOR_USER = 'connector';
const token = `tok'en $(id) ${randomBytes(8).toString('hex')}`;

let env: NodeEnvironment;
let proxy: ConnectorProxy;
let base: string;
let imagesRegistry: string;
beforeAll(async () => {
  env = await NodeEnvironment.start('oci-connector');
  base = env.tier.images.busybox;
  imagesRegistry = base.split('/')[0];
  proxy = await ConnectorProxy.start({ host: env.harbor.host, ca: env.tier.tls.cert, username: HARBOR_USER, password: env.harborPassword }, PREFIX,
    { username: CONNECTOR_USER, password: token });
});
afterAll(async () => {
  await proxy?.stop();
  await env?.stop();
});

/** What the connectors-csi driver publishes for a volume's attributes. */
function published(attributes: { [key: string]: string }): { [file: string]: string } {
  switch (attributes['configuration.names']) {
    case 'registry-config':
      return { 'config.json': JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from(`${CONNECTOR_USER}:${token}`).toString('base64') } } }) };
    case 'buildkitd':
      // the base image's registry is plain http too, as a cluster's buildkitd.toml would say for its mirror
      return { 'buildkitd.toml': `[registry."${proxy.host}"]\n  http = true\n  insecure = true\n[registry."${imagesRegistry}"]\n  http = true\n  insecure = true\n` };
    default:
      throw new Error(`connectors-csi: unknown configuration ${attributes['configuration.names']}`);
  }
}

/** Replaces each connectors-csi volume of the Job by a Secret volume with the driver's files; returns those Secrets. */
function publishCsiVolumes(job: any): any[] {
  const secrets: any[] = [];
  for (const volume of job.spec.template.spec.volumes ?? []) {
    if (volume.csi?.driver === 'connectors-csi') {
      const secretName = `csi-${volume.name}`;
      secrets.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName }, stringData: published(volume.csi.volumeAttributes) });
      delete volume.csi;
      volume.secret = { secretName };
    }
  }
  expect(secrets.length).toBeGreaterThan(0);
  return secrets;
}

async function build(props: Partial<OciConnectorBuildJobProps>) {
  let level = '';
  const objects = synthesize(chart => {
    level = new OciConnectorBuildJob(chart, 'build', {
      connector: OciConnector.fromName('harbor', { namespace: NAMESPACE, proxyHost: proxy.host, registry: env.harbor.host }),
      context: BuildContext.fromConfigMap('app-context'),
      destinations: [`${env.harbor.host}/team/app:1.0.0`],
      buildArgs: { BASE: base },
      ...props,
    }).podSecurityLevel;
  });
  const secrets = publishCsiVolumes(objects.find(o => o.kind === 'Job'));
  const context = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-context' },
    // multi-stage: the last RUN step fails unless the first stage's RUN output was copied
    data: {
      'Dockerfile': [
        'ARG BASE',
        'FROM ${BASE} AS compile',
        'RUN mkdir /out && echo built-by-run > /out/built',
        'FROM ${BASE}',
        'COPY --from=compile /out/ /from-build/',
        'COPY app.txt /app.txt',
        'RUN [ "$(cat /from-build/built)" = built-by-run ] && echo "built $(cat /app.txt)" > /built.txt',
        '',
      ].join('\n'),
      'app.txt': 'through the connector\n',
    },
  };
  return env.runJob(objects, level, [...secrets, context], 400_000);
}

describe('OciConnectorBuildJob on a real node, with the real BuildKit', () => {
  for (const mode of [BuildkitMode.PRIVILEGED, BuildkitMode.ROOTLESS]) {
    test(`${mode}: builds the ConfigMap context (multi-stage, RUN steps) and pushes through the proxy; digests equal skopeo inspect`, async () => {
      const repository = `team/${mode}`;
      const run = await build({ mode, destinations: [`${env.harbor.host}/${repository}:1.0.0`, `${env.harbor.host}/${repository}:stable`] });
      expect(run.phase, describeJob(run)).toBe('Complete');
      const lines = containerOf(run, 'buildkit').terminationMessage.trim().split('\n');
      const digest = lines[0].slice(lines[0].lastIndexOf('@') + 1);
      expect(lines).toEqual([
        `${env.harbor.host}/${repository}:1.0.0@${digest}`,
        `${env.harbor.host}/${repository}:stable@${digest}`,
        `${proxy.host}${PREFIX}/${repository}:1.0.0@${digest}`,
        `${proxy.host}${PREFIX}/${repository}:stable@${digest}`,
      ]);
      expectServed(env, lines.slice(0, 2).join('\n'));
      // the pod reached harbor only through the proxy, with the connector token
      expect(proxy.requests.filter(r => r.startsWith(`PUT /v2${PREFIX}/${repository}/manifests/`))).toHaveLength(2);
    });
  }
});
