/**
 * Proxy variables, run for real: `env` puts HTTPS_PROXY / https_proxy on every container, and curl in the context
 * and archive fetchers reaches the HTTPS file server only through a tunnelling proxy on 127.0.0.1 that records
 * each CONNECT. (The Go tools never proxy loopback addresses, so the registries here cannot show it.)
 */
import { createHash } from 'crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeRun, E2eEnvironment, ociArchiveOf, startEnvironment, synthesize } from './environment';
import { TunnelProxy } from './fixtures';
import { singleImage, tarGz } from './oci';
import { BuildContext, ImageArchive, KanikoBuildJob, PodEnvValue, TarPushJob } from '../../src';

let env: E2eEnvironment;
let proxy: TunnelProxy;
beforeAll(async () => {
  env = await startEnvironment('proxy-env');
  proxy = await TunnelProxy.start();
});
afterAll(async () => {
  await proxy?.stop();
  await env?.stop();
});

/** Both spellings, as the README advises (skopeo and kaniko never proxy the loopback registries). */
function proxyEnv(): { [name: string]: PodEnvValue } {
  const url = PodEnvValue.fromValue(proxy.url);
  return { HTTPS_PROXY: url, https_proxy: url };
}

describe('env: HTTPS_PROXY on every container', () => {
  test('TarPushJob: fetch-archive downloads through the proxy', async () => {
    const image = singleImage({ 'app.txt': 'through the proxy\n' });
    const archive = ociArchiveOf(env, image, 'proxied-archive');
    const url = env.files.serve('/images/proxied.tar', archive);
    proxy.requests.length = 0;
    const result = await env.runner.run(synthesize(chart => new TarPushJob(chart, 'push', {
      archive: ImageArchive.fromUrl(url, { sha256: createHash('sha256').update(archive).digest('hex') }),
      destinations: [`${env.intermediate.host}/platform/proxied:1`],
      destinationTlsVerify: false,
      env: proxyEnv(),
    })));
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(proxy.requests).toEqual([`CONNECT ${new URL(url).host}`]);
    expect(containerOf(result, 'push').terminationMessage.trim()).toBe(`${env.intermediate.host}/platform/proxied:1@${image.digest}`);
  });

  /** Runs a KanikoBuildJob whose context `name` is downloaded by fetch-context, with `env`. */
  async function buildContext(name: string, options: { env?: { [name: string]: PodEnvValue } }) {
    const context = tarGz({ 'Dockerfile': 'FROM scratch\nCOPY app.txt /\n', 'app.txt': `${name}\n` });
    const url = env.files.serve(`/contexts/${name}.tar.gz`, context);
    proxy.requests.length = 0;
    const result = await env.runner.run(synthesize(chart => new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromUrl(url, { sha256: createHash('sha256').update(context).digest('hex') }),
      destinations: [`${env.intermediate.host}/build/${name}:1`],
      insecureRegistries: [env.intermediate.host],
      ...options,
    })));
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    return new URL(url).host;
  }

  test('KanikoBuildJob: fetch-context downloads the context through the proxy', async () => {
    const host = await buildContext('proxied', { env: proxyEnv() });
    expect(proxy.requests).toEqual([`CONNECT ${host}`]);
  });

  test('without the proxy variables nothing goes through the proxy', async () => {
    await buildContext('direct', {});
    expect(proxy.requests).toEqual([]);
  });
});
