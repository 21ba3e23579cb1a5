/**
 * BuildKit through an OCI Connector ("Building Images Using OCI Connector in K8S Job"): BuildKit builds the Dockerfile kept in the
 * `dockerfile` ConfigMap and pushes it through the `harbor` Connector's proxy, so the pod never holds a
 * registry credential.
 *
 * - `buildkit-build` is the documented Job: privileged `moby/buildkit`, inline cache, the guide's proxy form
 *   `c-harbor.default.svc.cluster.local/<repository>:<tag>`, the `docker-config` configuration and the
 *   `connector.name` volume attribute of the operator version the guide was written for.
 * - `buildkit-build-rootless` is the rootless variant with today's defaults: the path-prefixed proxy
 *   reference, `registry-config`, both volume attribute styles, and a Role letting its service account
 *   use the Connector.
 *
 * The Connector (`spec.address: https://harbor.example.com`) and its Secret are created by the platform
 * team, as in the guide; this chart only references them.
 */
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  BuildContext, BuildkitMode, JobName, OciConnector, OciConnectorBuildJob, ProxyAddressing, RegistryConfigName, VolumeAttributeStyle,
} from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'oci-connector', { namespace: 'default' });

  // the guide's Dockerfile, kept in a ConfigMap
  new kplus.ConfigMap(chart, 'dockerfile', {
    metadata: { name: 'dockerfile' },
    data: {
      Dockerfile: [
        'FROM scratch',
        'LABEL maintainer="example@example.com"',
        'WORKDIR /app',
        'ENV APP_VERSION="1.0.0"',
        '',
      ].join('\n'),
    },
  });

  new OciConnectorBuildJob(chart, 'privileged', {
    name: JobName.contentHashed('buildkit-build'),
    connector: OciConnector.fromName('harbor', {
      registry: 'https://harbor.example.com',
      addressing: ProxyAddressing.HOST_ONLY,
      registryConfigName: RegistryConfigName.DOCKER_CONFIG,
      volumeAttributeStyle: VolumeAttributeStyle.LEGACY,
    }),
    context: BuildContext.fromConfigMap('dockerfile'),
    destinations: ['harbor.example.com/test/test-cjt:v1'],
  });

  const builder = new kplus.ServiceAccount(chart, 'builder', { metadata: { name: 'image-builder' }, automountToken: false });
  new OciConnectorBuildJob(chart, 'rootless', {
    name: JobName.contentHashed('buildkit-build-rootless'),
    connector: OciConnector.fromName('harbor', { registry: 'https://harbor.example.com' }),
    context: BuildContext.fromConfigMap('dockerfile'),
    destinations: ['harbor.example.com/test/test-cjt:v1-rootless'],
    mode: BuildkitMode.ROOTLESS,
    serviceAccountName: builder.name,
    createRbac: true,
  });
  return chart;
}
