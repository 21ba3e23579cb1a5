/**
 * Hostile input, property-based (fast-check): 1,000 generated prop sets per construct, with shell
 * metacharacters, quotes, newlines, `$(…)`, backticks, unicode and very long strings in refs, tags, URLs, build
 * args, labels and names. Each constructor either refuses them with the one-line `prop: got …; …` error, or its
 * YAML's scripts, executed for real (hostile.ts `runScripted`), never run the injected text: no CANARY file
 * appears. A smaller sample of accepted hostile Jobs runs through the full Job runner, where the process record
 * shows every exec: no `touch` may be among them.
 */
import { randomBytes } from 'crypto';
import { chmodSync, rmSync } from 'fs';
import { join } from 'path';
import { Construct } from 'constructs';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { E2eEnvironment, startEnvironment, synthesize } from './environment';
import { freePort } from './fixtures';
import { canaries, hostile, hostileText, mixed, ONE_LINE_ERROR, Outcome, outcomeOf, PAYLOADS, pool, runScripted, StandIns } from './hostile';
import {
  BuildahBuildJob, BuildContext, BuildkitMode, ImageArchive, JobName, KanikoBuildJob, OciConnector, OciConnectorBuildJob, RegistryCredentials,
  SkopeoPromoteJob, TarPushJob,
  UnifiedImageJob, UnifiedJobMode,
} from '../../src';

const RUNS = 1000;
const SAMPLE = 2;
let env: E2eEnvironment;
let standIns: StandIns;
/** A port nothing listens on: every download and registry call fails at once. */
let port: number;

beforeAll(async () => {
  env = await startEnvironment('hostile');
  port = await freePort();
  // the scripted pods run as uid 65532 below the scratch directory (created 0700)
  chmodSync(env.dir, 0o711);
  const images = join(env.dir, 'images');
  standIns = {
    kanikoExecutor: join(images, 'kaniko', 'executor'),
    kanikoFlags: join(images, 'kaniko', 'e2e', 'executor-flags'),
    buildctlBin: join(images, 'buildkit-usr-bin'),
    buildctlFlags: join(images, 'buildctl-stand-in', 'build-flags'),
  };
});
afterAll(async () => {
  await env?.stop();
});

const TOOLS_IMAGE = 'harbor.example.com/platform/unified-tools:1.0.0';

/** One construct's generated props, as a function that synthesizes them. */
type Case = { describe: string; synth: () => any[] };

const registry = () => `127.0.0.1:${port}`;
const url = (file: string) => `https://${registry()}/${file}`;
// URLs refuse white space: the payloads' spaces become ${IFS}, which a shell would still split on
const hostileUrl = (file: string) => hostile(url(file), [
  p => `${url(file)}?v=${p}`, p => `https://${registry()}/${p}/${file}`, p => `${url(file)}#${p}`, p => `https://${registry()}/${encodeURIComponent(p)}/${file}`,
]).map(u => u.replace(/\s/g, '${IFS}'));
const ref = (repository: string, tag = '1.0.0') => `${registry()}/${repository}:${tag}`;
const hostileRef = (repository: string, tag = '1.0.0') => hostile(ref(repository, tag), [
  p => `${registry()}/${repository}${p}:${tag}`, p => `${registry()}/${repository}:${p}`, p => `${registry()}/${p}/${repository}:${tag}`,
  p => `${registry()}/${repository}@sha256:${p}`,
]);
const hostileName = (valid: string) => hostile(valid, [p => `${valid}-${p}`, p => `${p}.${valid}`]);
const buildArgs = fc.dictionary(fc.oneof(fc.constantFrom('APP_VERSION', 'GIT_SHA'), hostileText), fc.oneof(fc.constant('1.0.0'), hostileText),
  { minKeys: 1, maxKeys: 3 });
/** 0: anonymous, 1: a username/password Secret, 2: a docker config Secret. */
const credentialsOf = (kind: number, secret: string) =>
  [undefined, RegistryCredentials.fromUsernamePassword, RegistryCredentials.fromDockerConfigSecret][kind]?.(secret);

/** A Dockerfile builder's arbitrary: KanikoBuildJob and BuildahBuildJob take the same build inputs. */
function dockerfileBuilder(Builder: new (scope: Construct, id: string, props: any) => unknown, extraArg: string) {
  return {
    acceptsPayloads: true,
    arbitrary: () => fc.tuple(fc.nat(2), mixed({
      context: url('ctx.tar.gz'),
      sha: 'a'.repeat(64),
      destination: ref('build/api'),
      secret: 'harbor-credentials',
      buildArgs: { APP_VERSION: '1.0.0' } as { [k: string]: string },
      labels: { 'org.opencontainers.image.title': 'api' } as { [k: string]: string },
      target: 'runtime',
      dockerfile: 'Dockerfile',
      commitSha: '0123abcd',
      insecure: registry(),
      extraArg: extraArg,
      promotion: ref('platform/api'),
      name: 'image-job',
    }, {
      context: hostileUrl('ctx.tar.gz'),
      sha: hostile('a'.repeat(64)),
      destination: hostileRef('build/api'),
      secret: hostileName('harbor-credentials'),
      buildArgs,
      labels: fc.dictionary(fc.oneof(fc.constant('org.opencontainers.image.title'), hostileText), fc.oneof(fc.constant('api'), hostileText), { minKeys: 1, maxKeys: 2 }),
      target: hostile('runtime'),
      dockerfile: hostile('Dockerfile', [p => `docker/${p}`]),
      commitSha: hostile('0123abcd'),
      insecure: hostile(registry()),
      extraArg: hostile(extraArg, [p => `--build-arg=X=${p}`, p => `--label=a=${p}`]),
      promotion: hostileRef('platform/api'),
      name: hostileName('image-job'),
    })).map(([credentials, p]) => ({
      describe: JSON.stringify({ credentials, ...p }),
      synth: () => synthesize(chart => new Builder(chart, 'build', {
        context: BuildContext.fromUrl(p.context, { sha256: p.sha }),
        destinations: [p.destination],
        credentials: credentialsOf(credentials, p.secret),
        buildArgs: p.buildArgs,
        labels: p.labels,
        target: p.target,
        dockerfile: p.dockerfile,
        commitSha: p.commitSha,
        insecureRegistries: [p.insecure],
        extraArgs: [p.extraArg],
        promotion: { destinations: [p.promotion], credentials: credentialsOf(credentials, p.secret) },
        name: JobName.exact(p.name),
      })),
    })),
  };
}

/** Arbitraries per construct: valid props with one or two fields attacked (hostile.ts `mixed`). */
const CONSTRUCTS: { [construct: string]: { arbitrary: () => fc.Arbitrary<Case>; acceptsPayloads: boolean } } = {
  KanikoBuildJob: dockerfileBuilder(KanikoBuildJob, '--snapshot-mode=full'),
  BuildahBuildJob: dockerfileBuilder(BuildahBuildJob, '--platform=linux/amd64'),

  SkopeoPromoteJob: {
    // every string prop is a reference or a name, which the constructor parses strictly
    acceptsPayloads: false,
    arbitrary: () => fc.tuple(fc.nat(2), fc.nat(2), mixed({
      source: `${registry()}/build/api@sha256:${'b'.repeat(64)}`,
      destination: ref('platform/api'),
      other: ref('mirror/api', 'stable'),
      sourceSecret: 'intermediate-pull',
      destinationSecret: 'harbor-credentials',
      name: 'image-job',
    }, {
      source: fc.oneof(hostileRef('build/api'), hostile(`${registry()}/build/api@sha256:${'b'.repeat(64)}`)),
      destination: hostileRef('platform/api'),
      other: hostileRef('mirror/api', 'stable'),
      sourceSecret: hostileName('intermediate-pull'),
      destinationSecret: hostileName('harbor-credentials'),
      name: hostileName('image-job'),
    })).map(([sourceCredentials, destinationCredentials, p]) => ({
      describe: JSON.stringify({ sourceCredentials, destinationCredentials, ...p }),
      synth: () => synthesize(chart => new SkopeoPromoteJob(chart, 'promote', {
        source: p.source,
        destinations: [p.destination, p.other],
        sourceCredentials: credentialsOf(sourceCredentials, p.sourceSecret),
        destinationCredentials: credentialsOf(destinationCredentials, p.destinationSecret),
        name: JobName.exact(p.name),
      })),
    })),
  },

  TarPushJob: {
    acceptsPayloads: true,
    arbitrary: () => fc.tuple(fc.nat(2), fc.boolean(), mixed({
      archive: url('image.tar'), sha: 'c'.repeat(64), destination: ref('platform/api'), other: ref('mirror/api'), secret: 'harbor-credentials', name: 'image-job',
    }, {
      archive: hostileUrl('image.tar'),
      sha: hostile('c'.repeat(64)),
      destination: hostileRef('platform/api'),
      other: hostileRef('mirror/api'),
      secret: hostileName('harbor-credentials'),
      name: hostileName('image-job'),
    })).map(([credentials, verify, p]) => ({
      describe: JSON.stringify({ credentials, verify, ...p }),
      synth: () => synthesize(chart => new TarPushJob(chart, 'push', {
        archive: ImageArchive.fromUrl(p.archive, { sha256: verify ? p.sha : undefined }),
        destinations: [p.destination, p.other],
        credentials: credentialsOf(credentials, p.secret),
        name: JobName.exact(p.name),
      })),
    })),
  },

  UnifiedImageJob: {
    acceptsPayloads: true,
    arbitrary: () => fc.tuple(fc.boolean(), fc.nat(2), mixed({
      context: url('ctx.tar.gz'),
      archive: url('image.tar'),
      intermediate: ref('build/api'),
      destination: ref('platform/api'),
      buildArgs: { APP_VERSION: '1.0.0' } as { [k: string]: string },
      target: 'runtime',
      dockerfile: 'Dockerfile',
      secret: 'harbor-credentials',
      toolsImage: TOOLS_IMAGE,
      name: 'image-job',
    }, {
      context: hostileUrl('ctx.tar.gz'),
      archive: hostileUrl('image.tar'),
      intermediate: hostileRef('build/api'),
      destination: hostileRef('platform/api'),
      buildArgs,
      target: hostile('runtime'),
      dockerfile: hostile('Dockerfile'),
      secret: hostileName('harbor-credentials'),
      toolsImage: hostile(TOOLS_IMAGE),
      name: hostileName('image-job'),
    })).map(([build, credentials, p]) => ({
      describe: JSON.stringify({ build, credentials, ...p }),
      synth: () => synthesize(chart => new UnifiedImageJob(chart, 'unified', build ? {
        mode: UnifiedJobMode.BUILD_AND_PUSH,
        toolsImage: p.toolsImage,
        context: BuildContext.fromUrl(p.context),
        intermediateDestination: p.intermediate,
        insecureRegistries: [registry()],
        buildArgs: p.buildArgs,
        target: p.target,
        dockerfile: p.dockerfile,
        destinations: [p.destination],
        credentials: credentialsOf(credentials, p.secret),
        name: JobName.exact(p.name),
      } : {
        mode: UnifiedJobMode.PUSH_TAR,
        toolsImage: p.toolsImage,
        archive: ImageArchive.fromUrl(p.archive),
        destinations: [p.destination],
        credentials: credentialsOf(credentials, p.secret),
        name: JobName.exact(p.name),
      })),
    })),
  },

  OciConnectorBuildJob: {
    acceptsPayloads: true,
    arbitrary: () => fc.tuple(fc.boolean(), fc.boolean(), mixed({
      connector: 'harbor',
      namespace: 'image-builds',
      proxyHost: registry(),
      configMap: 'app-context',
      context: url('ctx.tar.gz'),
      destination: ref('team/app'),
      buildArgs: { APP_VERSION: '1.0.0' } as { [k: string]: string },
      target: 'runtime',
      platform: 'linux/amd64',
      secretId: 'npmrc',
      secretName: 'npm',
      name: 'image-job',
    }, {
      connector: hostileName('harbor'),
      namespace: hostileName('image-builds'),
      proxyHost: hostile(registry()),
      configMap: hostileName('app-context'),
      context: hostileUrl('ctx.tar.gz'),
      destination: hostileRef('team/app'),
      buildArgs,
      target: hostile('runtime'),
      platform: hostile('linux/amd64'),
      secretId: hostileName('npmrc'),
      secretName: hostileName('npm'),
      name: hostileName('image-job'),
    })).map(([fromConfigMap, rootless, p]) => ({
      describe: JSON.stringify({ fromConfigMap, rootless, ...p }),
      synth: () => synthesize(chart => new OciConnectorBuildJob(chart, 'build', {
        connector: OciConnector.fromName(p.connector, { namespace: p.namespace, proxyHost: p.proxyHost }),
        context: fromConfigMap ? BuildContext.fromConfigMap(p.configMap) : BuildContext.fromUrl(p.context),
        destinations: [p.destination],
        buildArgs: p.buildArgs,
        target: p.target,
        platforms: [p.platform],
        secrets: [{ id: p.secretId, secretName: p.secretName }],
        mode: rootless ? BuildkitMode.ROOTLESS : BuildkitMode.PRIVILEGED,
        name: JobName.exact(p.name),
      })),
    })),
  },
};

/** Whether some payload text reached the YAML (so the run really carried hostile input). */
function carriesPayload(objects: any[]): boolean {
  const yaml = JSON.stringify(objects);
  return PAYLOADS.flatMap(p => [p, p.replace(/\s/g, '${IFS}')]).some(p => yaml.includes(JSON.stringify(p).slice(1, -1)));
}

describe.each(Object.keys(CONSTRUCTS))('%s with hostile input', (construct) => {
  test(`${RUNS} generated prop sets: a one-line error, or scripts that never run the injected text`, async () => {
    // GIVEN / WHEN: the constructor outcome of every generated prop set
    const accepted: { describe: string; objects: any[] }[] = [];
    let rejected = 0;
    fc.assert(fc.property(CONSTRUCTS[construct].arbitrary(), (c) => {
      const outcome: Outcome = outcomeOf(c.synth);
      if ('rejected' in outcome) {
        rejected++;
        expect(outcome.rejected, c.describe).toMatch(ONE_LINE_ERROR);
      } else {
        accepted.push({ describe: c.describe, objects: outcome.objects });
      }
    }), { numRuns: RUNS, seed: 20261123 });

    // THEN: every accepted Job's containers run for real, and no CANARY appears
    const root = join(env.dir, 'scripted', construct);
    const runs = await pool(accepted, 4, async (a, i) => {
      const podDir = join(root, String(i));
      const containers = await runScripted(a.objects, podDir, standIns);
      expect(canaries(podDir), `${a.describe}\n${containers.map(c => `${c.name} (${c.exitCode}): ${c.stderr}`).join('\n')}`).toEqual([]);
      rmSync(podDir, { recursive: true, force: true });
      return containers;
    });
    // both outcomes really happened, and the scripts really ran (and failed where the network was closed)
    expect(rejected, 'some prop sets were refused').toBeGreaterThan(RUNS / 20);
    expect(accepted.length, 'some prop sets were accepted').toBeGreaterThan(RUNS / 20);
    const withPayload = accepted.filter(a => carriesPayload(a.objects)).length;
    if (CONSTRUCTS[construct].acceptsPayloads) {
      expect(withPayload, 'accepted Jobs carried payloads').toBeGreaterThanOrEqual(5);
    } else {
      expect(withPayload, 'validation refuses every payload').toBe(0);
    }
    const ran = runs.flat();
    expect(ran.length).toBeGreaterThanOrEqual(accepted.length);
    expect(ran.some(c => /Couldn't connect|connection refused|Failed to connect/.test(c.stderr)),
      `network calls reached the closed port; e.g.:\n${ran.slice(0, 4).map(c => `${c.name} (${c.exitCode}): ${c.stderr}`).join('\n')}`).toBe(true);
  });

  test(`${SAMPLE} accepted hostile Jobs through the full runner: no touch among the executed processes`, async () => {
    const samples = fc.sample(CONSTRUCTS[construct].arbitrary(), { numRuns: 1000, seed: 7 })
      .map(c => outcomeOf(c.synth))
      .filter((o): o is { objects: any[] } => 'objects' in o && (carriesPayload(o.objects) || !CONSTRUCTS[construct].acceptsPayloads))
      .filter(o => runnable(o.objects))
      .slice(0, SAMPLE);
    expect(samples).toHaveLength(SAMPLE);
    for (const { objects } of samples) {
      const job = objects.find(o => o.kind === 'Job');
      for (const c of [...(job.spec.template.spec.initContainers ?? []), ...job.spec.template.spec.containers]) {
        c.env = [...(c.env ?? []), { name: 'DOWNLOAD_RETRIES', value: '0' }, { name: 'RETRY_TIMES', value: '0' }];
      }
      const result = await env.runner.run([...objects, ...clusterObjects(job)], {
        timeoutMs: 60000,
        csiDrivers: { 'connectors-csi': a => ({ [a['configuration.names'] === 'buildkitd' ? 'buildkitd.toml' : 'config.json']: '{"auths":{}}' }) },
      });
      const processes = result.containers.flatMap(c => c.processes.filter(p => !p.runner));
      expect(processes.length).toBeGreaterThan(0);
      expect(processes.filter(p => /(^|\/)touch$/.test(p.argv[0]) || p.argv.includes('CANARY')).map(p => p.argv)).toEqual([]);
    }
  });
});

test('the harness detects an injection: a script that evals its input creates CANARY', async () => {
  const job = {
    kind: 'Job',
    spec: { template: { spec: { containers: [{ name: 'vulnerable', command: ['/bin/sh', '-c', 'eval "echo $VALUE"'], env: [{ name: 'VALUE', value: '$(touch CANARY)' }] }] } } },
  };
  const podDir = join(env.dir, 'scripted', `control-${randomBytes(4).toString('hex')}`);
  await runScripted([job], podDir, standIns);
  expect(canaries(podDir)).toEqual([join(podDir, 'CANARY')]);
});

/** Images the runner has stand-ins for (a hostile toolsImage is fine for synthesis, not for the runner). */
function runnable(objects: any[]): boolean {
  const spec = objects.find(o => o.kind === 'Job').spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].every((c: any) => !c.image.includes('unified-tools') || c.image === 'harbor.example.com/platform/unified-tools:1.0.0');
}

/** The Secrets and ConfigMaps a Job refers to, with harmless content (the "cluster" of the runner sample). */
function clusterObjects(job: any): any[] {
  const spec = job.spec.template.spec;
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const v of spec.volumes ?? []) {
    if (v.secret) {
      secrets.add(v.secret.secretName);
    }
    if (v.configMap) {
      configMaps.add(v.configMap.name);
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) {
        secrets.add(e.valueFrom.secretKeyRef.name);
      }
    }
  }
  const data = { 'username': 'robot', 'password': 'secret', '.dockerconfigjson': '{"auths":{}}', 'npmrc': 'x', 'npm': 'x' };
  return [
    ...[...secrets].map(n => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: n }, stringData: data })),
    ...[...configMaps].map(n => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n }, data: { 'Dockerfile': 'FROM scratch\n', 'app.txt': 'x\n' } })),
  ];
}
