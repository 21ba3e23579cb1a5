/**
 * OciConnectorBuildJob, run for real except for BuildKit itself: the buildctl-daemonless.sh stand-in checks the
 * flags against `buildctl build`'s flag set, assembles an image of the context and pushes it with skopeo through
 * a connector proxy stand-in that injects the harbor credentials. The connectors-csi volumes are published by
 * the runner from fixtures (the proxy's docker config.json and a buildkitd.toml), read-only.
 */
import { randomBytes } from 'crypto';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  BUILDCTL_FLAGS, containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, hostSkopeo, skopeoInspectDigest, startEnvironment,
  synthesize,
} from './environment';
import { ConnectorProxy } from './fixtures';
import { PodResult } from './runner';
import { BuildContext, BuildkitMode, CacheMode, OciConnector, OciConnectorBuildJob, OciConnectorBuildJobProps } from '../../src';

const NAMESPACE = 'image-builds';
const PREFIX = `/namespaces/${NAMESPACE}/connectors/harbor`;
const CONNECTOR_USER = 'connector';

let env: E2eEnvironment;
let proxy: ConnectorProxy;
/** The connector token the CSI driver writes into config.json: random, with characters that need quoting. */
const token = `tok'en $(id) ${randomBytes(8).toString('hex')}`;
/** Every set of volume attributes the CSI driver stand-in was asked to publish. */
const published: { [key: string]: string }[] = [];

beforeAll(async () => {
  env = await startEnvironment('oci-connector');
  proxy = await ConnectorProxy.start({ host: env.harbor.host, ca: env.caCert, username: HARBOR_USER, password: env.harborPassword }, PREFIX,
    { username: CONNECTOR_USER, password: token });
});
afterAll(async () => {
  await proxy?.stop();
  await env?.stop();
});

/** The connectors-csi driver stand-in: renders the two configurations the construct mounts. */
function connectorsCsi(tokenInConfig: string, connectors: string) {
  return (attributes: { [key: string]: string }): { [path: string]: string } => {
    published.push(attributes);
    expect(attributes.connectors).toBe(connectors);
    switch (attributes['configuration.names']) {
      case 'registry-config':
        return { 'config.json': JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from(`${CONNECTOR_USER}:${tokenInConfig}`).toString('base64') } } }) };
      case 'buildkitd':
        return { 'buildkitd.toml': `[registry."${proxy.host}"]\n  http = true\n  insecure = true\n` };
      default:
        throw new Error(`connectors-csi: unknown configuration ${attributes['configuration.names']}`);
    }
  };
}

/** Runs an OciConnectorBuildJob building the `app-context` ConfigMap, pushing to harbor through the proxy. */
async function build(props: Partial<OciConnectorBuildJobProps>, tokenInConfig = token, edit: (job: any) => void = () => {},
  connectors = `${NAMESPACE}/harbor`): Promise<PodResult> {
  const objects = synthesize(chart => new OciConnectorBuildJob(chart, 'build', {
    connector: OciConnector.fromName('harbor', { namespace: NAMESPACE, proxyHost: proxy.host, registry: env.harbor.host }),
    context: BuildContext.fromConfigMap('app-context'),
    destinations: [`${env.harbor.host}/team/app:1.0.0`],
    ...props,
  }));
  const context = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-context' },
    data: { 'Dockerfile': 'FROM scratch\nCOPY app.txt /\n', 'app.txt': 'built through the connector\n' },
  };
  edit(objects.find(o => o.kind === 'Job'));
  const npm = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'npm' }, stringData: { npmrc: `//registry.npmjs.org/:_authToken=${token}\n` } };
  return env.runner.run([...objects, context, npm], { csiDrivers: { 'connectors-csi': connectorsCsi(tokenInConfig, connectors) } });
}

/** Asserts every `<ref>@<digest>` line of the buildkit container matches `skopeo inspect` (of the upstream registry). */
function expectServed(lines: string[]): void {
  for (const line of lines.filter(l => l.startsWith(env.harbor.host))) {
    const at = line.lastIndexOf('@');
    expect(skopeoInspectDigest(env, line.slice(0, at)), line).toBe(line.slice(at + 1));
  }
}

describe('OciConnectorBuildJob', () => {
  test('builds (stand-in) and pushes through the proxy; the termination message carries upstream and proxy references', async () => {
    // WHEN
    const result = await build({
      destinations: [`${env.harbor.host}/team/app:1.0.0`, `${env.harbor.host}/team/app:stable`],
      buildArgs: { APP_VERSION: '1.0.0', LITERAL: 'a$(HOME)b' },
    });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const buildkit = containerOf(result, 'buildkit');
    const lines = buildkit.terminationMessage.trim().split('\n');
    const digest = lines[0].slice(lines[0].lastIndexOf('@') + 1);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lines).toEqual([
      `${env.harbor.host}/team/app:1.0.0@${digest}`,
      `${env.harbor.host}/team/app:stable@${digest}`,
      `${proxy.host}${PREFIX}/team/app:1.0.0@${digest}`,
      `${proxy.host}${PREFIX}/team/app:stable@${digest}`,
    ]);
    expectServed(lines);
    // the argv reached buildctl as the construct wrote it, kubelet expansion undone by its escaping
    const buildctl = buildkit.processes.find(p => p.argv[0].endsWith('buildctl-daemonless.sh'))!;
    expect(buildctl.argv).toContain('--opt=build-arg:LITERAL=a$(HOME)b');
    expect(buildctl.argv.slice(-2)).toEqual(['--metadata-file', '/results/metadata.json']);
    // the pod authenticated to the proxy with the connector token only; the proxy added harbor's credentials
    expect(proxy.requests.some(r => / 401$/.test(r))).toBe(true);
    expect(proxy.requests.filter(r => r.startsWith(`PUT /v2${PREFIX}/team/app/manifests/`))).toHaveLength(2);
    expect(published.map(a => a['configuration.names']).sort()).toEqual(['buildkitd', 'registry-config']);
    expectNoSecretLeak(result, [env.harborPassword]);
    expectNoSecretLeak(result, [token], CONNECTOR_USER);
  });

  test('the OCI annotations Kargo reads reach buildctl as quoted image exporter attributes and land in the pushed manifest', async () => {
    // WHEN
    const commitSha = 'feed'.padEnd(40, '0');
    const sourceUrl = 'https://git.example.com/team/app?ref=$(HOME)';
    const destination = `${env.harbor.host}/team/annotated:1.0.0`;
    const result = await build({ destinations: [destination], commitSha, sourceUrl, imageCreated: '2026-01-31T12:00:00Z' });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const buildkit = containerOf(result, 'buildkit');
    const buildctl = buildkit.processes.find(p => p.argv[0].endsWith('buildctl-daemonless.sh'))!;
    expect(buildctl.argv.find(a => a.startsWith('--output='))).toBe(`--output=type=image,name=${proxy.host}${PREFIX}/team/annotated:1.0.0,push=true,`
      + '"annotation.org.opencontainers.image.created=2026-01-31T12:00:00Z",'
      + `"annotation.org.opencontainers.image.revision=${commitSha}",`
      + `"annotation.org.opencontainers.image.source=${sourceUrl}"`);
    skopeoInspectDigest(env, destination); // writes the host auth file
    const manifest = JSON.parse(hostSkopeo(env, ['inspect', '--raw', '--authfile', join(env.dir, 'host-auth.json'), '--cert-dir', join(env.dir, 'certs.d'),
      `docker://${destination}`]));
    expect(manifest.annotations).toEqual({
      'org.opencontainers.image.created': '2026-01-31T12:00:00Z',
      'org.opencontainers.image.revision': commitSha,
      'org.opencontainers.image.source': sourceUrl,
    });
  });

  test('rootless mode: uid 1000 reads the read-only CSI config and pushes the same way', async () => {
    const result = await build({
      mode: BuildkitMode.ROOTLESS,
      destinations: [`${env.harbor.host}/team/rootless:1.0.0`],
      cache: CacheMode.NONE,
      // a build secret: mounted from the Secret (0440, group fsGroup), readable by uid 1000 through the pod's fsGroup
      secrets: [{ id: 'npmrc', secretName: 'npm' }],
    });
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const buildkit = containerOf(result, 'buildkit');
    expect(buildkit.env.BUILDKITD_FLAGS).toBe('--oci-worker-no-process-sandbox --config /etc/buildkit/buildkitd.toml');
    expect(buildkit.processes.find(p => p.argv[0].endsWith('buildctl-daemonless.sh'))!.argv).toContain('--secret=id=npmrc,src=/run/build-secrets/npmrc/npmrc');
    const lines = buildkit.terminationMessage.trim().split('\n');
    expect(lines).toHaveLength(2);
    expectServed(lines);
    expectNoSecretLeak(result, [token], CONNECTOR_USER);
  });

  test('without any namespace, kubelet puts the pod\'s into the proxy references; CSI attributes name the connector alone', async () => {
    // WHEN: the chart has no namespace, the Job is applied to image-builds (where the connector lives)
    const result = await build({
      connector: OciConnector.fromName('harbor', { proxyHost: proxy.host, registry: env.harbor.host }),
      destinations: [`${env.harbor.host}/team/pod-namespace:1.0.0`],
      cache: CacheMode.NONE,
    }, token, job => {
      job.metadata.namespace = NAMESPACE;
    }, 'harbor');
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const buildkit = containerOf(result, 'buildkit');
    expect(buildkit.env.PROXY_DESTINATIONS).toBe(`${proxy.host}${PREFIX}/team/pod-namespace:1.0.0`);
    const lines = buildkit.terminationMessage.trim().split('\n');
    expect(lines.map(l => l.slice(0, l.lastIndexOf('@')))).toEqual([
      `${env.harbor.host}/team/pod-namespace:1.0.0`,
      `${proxy.host}${PREFIX}/team/pod-namespace:1.0.0`,
    ]);
    expectServed(lines);
    expect(published.at(-1)!['connector.namespace']).toBeUndefined();
    expectNoSecretLeak(result, [token], CONNECTOR_USER);
  });

  test('a wrong connector token fails the build with BuildKit\'s message; nothing lands upstream', async () => {
    const wrong = `${token}-revoked`;
    const result = await build({ destinations: [`${env.harbor.host}/team/denied:1.0.0`] }, wrong);
    expect(result.phase).toBe('Failed');
    const buildkit = containerOf(result, 'buildkit');
    expect(buildkit.stderr).toMatch(/unauthorized|authentication required/i);
    expect(buildkit.terminationMessage).toMatch(/^error: buildctl build failed with exit code 1/);
    expect(await env.harbor.repositories()).not.toContain('team/denied');
    expectNoSecretLeak(result, [token, wrong], CONNECTOR_USER);
  });
});

describe('the buildctl stand-in checks the argv against `buildctl build`\'s flag set', () => {
  test('an unknown flag fails the build before anything is pushed', async () => {
    const result = await build({ destinations: [`${env.harbor.host}/team/unknown-flag:1.0.0`] }, token, job => {
      job.spec.template.spec.containers[0].args.push('--no-such-flag=1');
    });
    expect(result.phase).toBe('Failed');
    expect(containerOf(result, 'buildkit').stderr).toContain('error: flag provided but not defined: --no-such-flag');
    expect(await env.harbor.repositories()).not.toContain('team/unknown-flag');
  });

  test('a single-value flag given twice fails instead of silently keeping the last', async () => {
    const result = await build({ destinations: [`${env.harbor.host}/team/twice:1.0.0`] }, token, job => {
      job.spec.template.spec.containers[0].args.push('--frontend=gateway.v0');
    });
    expect(result.phase).toBe('Failed');
    expect(containerOf(result, 'buildkit').stderr).toContain('error: --frontend given twice');
    expect(await env.harbor.repositories()).not.toContain('team/twice');
  });
});

describe('buildctl arguments against `buildctl build`\'s flag set', () => {
  const known = new Map<string, string>();
  for (const flag of BUILDCTL_FLAGS.flags) {
    known.set(`--${flag.name}`, flag.kind);
    if (flag.shorthand) {
      known.set(`-${flag.shorthand}`, flag.kind);
    }
  }

  function flagsOf(props: Partial<OciConnectorBuildJobProps>): string[] {
    const objects = synthesize(chart => new OciConnectorBuildJob(chart, 'build', {
      connector: OciConnector.fromName('harbor', { namespace: NAMESPACE, registry: 'harbor.example.com' }),
      context: BuildContext.fromConfigMap('app-context'),
      destinations: ['harbor.example.com/team/app:1.0.0'],
      ...props,
    }));
    const args: string[] = objects.find(o => o.kind === 'Job').spec.template.spec.containers.find((c: any) => c.name === 'buildkit').args;
    expect(args[0]).toBe('buildctl-build');
    // the script appends --metadata-file itself
    const flags = [...args.slice(1), '--metadata-file', '/results/metadata.json'];
    const names: string[] = [];
    for (let i = 0; i < flags.length; i++) {
      const name = flags[i].split('=')[0];
      expect(known.has(name), `${name} is a buildctl build flag (${BUILDCTL_FLAGS.source})`).toBe(true);
      if (!flags[i].includes('=') && known.get(name) !== 'bool') {
        i++;
      }
      names.push(name);
    }
    for (const name of new Set(names)) {
      if (known.get(name) !== 'repeatable') {
        expect(names.filter(n => n === name), `${name} given once`).toHaveLength(1);
      }
    }
    return names;
  }

  test('defaults and every option use only known flags, each single-value flag once', () => {
    expect(flagsOf({})).toEqual(expect.arrayContaining(['--frontend', '--local', '--output', '--export-cache', '--metadata-file']));
    const names = flagsOf({
      destinations: ['harbor.example.com/team/app:1.0.0', 'harbor.example.com/team/app:latest-build'],
      buildArgs: { A: '1', B: '2' },
      target: 'runtime',
      platforms: ['linux/amd64', 'linux/arm64'],
      cache: CacheMode.REGISTRY,
      cacheRef: 'harbor.example.com/team/app:buildcache',
      secrets: [{ id: 'npmrc', secretName: 'npm' }],
    });
    expect(names.filter(n => n === '--opt').length).toBeGreaterThanOrEqual(5);
    // a private git context adds its token as one more --secret
    expect(flagsOf({ context: BuildContext.fromGit('https://git.example.com/acme/app.git', { tokenSecret: 'git' }) }).filter(n => n === '--secret')).toHaveLength(1);
    expect(names).toEqual(expect.arrayContaining(['--secret', '--import-cache', '--export-cache']));
  });
});
