/**
 * What a node-tier test file uses: the shared cluster (from the global setup), registries and a file server of its
 * own on the node address, and `runJob`, which applies synthesized objects unchanged except for their tool images
 * into a fresh namespace enforcing a Pod Security level, and waits for the Job to finish.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { expect, inject } from 'vitest';
import { ClusterAccess, KubeApi, KubeObject } from './cluster';
import { NodeImages, rewriteImages } from './images';
import { FileServer, Registry, removeScratch, scratchDir } from '../e2e/fixtures';

/** What the global setup hands every test file. */
export interface NodeTier {
  readonly access: ClusterAccess;
  readonly images: NodeImages;
  /** The tier's test CA (a self-signed serving certificate for the node address), trusted by every tool image. */
  readonly tls: { cert: string; key: string };
  readonly dir: string;
}

/** The harbor registry's robot account. */
export const HARBOR_USER = 'robot$node';

/** One container's outcome, from the pod status and the kubelet's log. */
export interface ContainerOutcome {
  readonly name: string;
  readonly exitCode: number | undefined;
  readonly terminationMessage: string;
  readonly log: string;
}

/** A finished Job. */
export interface JobRun {
  readonly name: string;
  readonly namespace: string;
  readonly phase: 'Complete' | 'Failed';
  /** Seconds from the Job's creation to its final condition. */
  readonly seconds: number;
  readonly job: any;
  /** The containers of the Job's last pod, init containers first. */
  readonly containers: ContainerOutcome[];
}

let namespaceCounter = 0;

/** The services of one test file. */
export class NodeEnvironment {
  /** Starts two registries (plain-http "intermediate"; TLS + htpasswd "harbor") and a file server. */
  public static async start(name: string): Promise<NodeEnvironment> {
    const tier = inject('node');
    const dir = scratchDir(`node-${name}`);
    const harborPassword = `p@ss 'w0rd' $(id) ${Math.random().toString(36).slice(2)}`;
    const started: { stop(): Promise<void> }[] = [];
    try {
      const intermediate = await Registry.start(dir, 'intermediate');
      started.push(intermediate);
      const harbor = await Registry.start(dir, 'harbor', { tls: tier.tls, htpasswd: { username: HARBOR_USER, password: harborPassword } });
      started.push(harbor);
      const files = await FileServer.start(tier.tls);
      started.push(files);
      mkdirSync(join(dir, 'certs.d'));
      writeFileSync(join(dir, 'certs.d', 'ca.crt'), readFileSync(tier.tls.cert));
      return new NodeEnvironment(name, dir, tier, intermediate, harbor, harborPassword, files, started);
    } catch (e) {
      for (const s of started.reverse()) {
        await s.stop();
      }
      removeScratch(dir);
      throw e;
    }
  }

  public readonly api: KubeApi;
  /** Every Job run, for the timing report. */
  public readonly runs: JobRun[] = [];

  private constructor(
    private readonly name: string,
    public readonly dir: string,
    public readonly tier: NodeTier,
    public readonly intermediate: Registry,
    public readonly harbor: Registry,
    public readonly harborPassword: string,
    public readonly files: FileServer,
    private readonly started: { stop(): Promise<void> }[],
  ) {
    this.api = new KubeApi(tier.access);
  }

  /** A fresh namespace enforcing Pod Security `level` (labels `pod-security.kubernetes.io/enforce`). */
  public async namespace(level: string): Promise<string> {
    const namespace = `${this.name}-${++namespaceCounter}-${process.pid}`.toLowerCase().slice(0, 63);
    await this.api.createNamespace(namespace, level);
    return namespace;
  }

  /**
   * Applies `objects` (a synthesized chart: the Job and anything else) plus `extra` (Secrets standing for the
   * cluster) into a new namespace enforcing `level`, with the Job's tool images rewritten to the node's, and waits
   * until the Job is Complete or Failed.
   */
  public async runJob(objects: any[], level: string, extra: any[] | ((namespace: string) => any[]) = [], timeoutMs = 240_000): Promise<JobRun> {
    expect(objects.filter(o => o.kind === 'Job').length, 'one Job synthesized').toBe(1);
    return (await this.runJobs(objects, level, extra, timeoutMs))[0];
  }

  /** Like `runJob`, for every Job of the objects (all applied first, then awaited in order). */
  public async runJobs(objects: any[], level: string, extra: any[] | ((namespace: string) => any[]) = [], timeoutMs = 240_000): Promise<JobRun[]> {
    const namespace = await this.namespace(level);
    for (const object of typeof extra === 'function' ? extra(namespace) : extra) {
      await this.api.create(object as KubeObject, namespace);
    }
    for (const object of objects) {
      const [local] = rewriteImages([object], this.tier.images);
      await this.api.create({ ...local, metadata: { ...local.metadata, namespace } } as KubeObject);
    }
    const runs: JobRun[] = [];
    for (const job of objects.filter(o => o.kind === 'Job')) {
      runs.push(await this.waitJob(namespace, job.metadata.name, timeoutMs));
    }
    return runs;
  }

  /** A registry host's repositories, from the test process. */
  public async repositories(registry: Registry): Promise<string[]> {
    return registry.repositories();
  }

  /** Waits until the Job has a Complete or Failed condition; collects its last pod's containers. */
  public async waitJob(namespace: string, name: string, timeoutMs = 240_000): Promise<JobRun> {
    let job: any;
    let phase: 'Complete' | 'Failed' | undefined;
    await this.api.waitFor(`Job ${namespace}/${name} to finish`, async () => {
      job = await this.api.must('GET', `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
      phase = (job.status?.conditions ?? []).find((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True')?.type;
      return phase !== undefined;
    }, timeoutMs).catch(async (e) => {
      throw new Error(`${e.message}: ${JSON.stringify(job?.status)}; pods: ${JSON.stringify(await this.podStatuses(namespace))}`);
    });
    const condition = job.status.conditions.find((c: any) => c.type === phase);
    const seconds = (Date.parse(condition.lastTransitionTime) - Date.parse(job.metadata.creationTimestamp)) / 1000;
    const selector = Object.entries(job.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = (await this.api.must('GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`)).items as any[];
    pods.sort((a, b) => Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp));
    const pod = pods[pods.length - 1];
    const containers: ContainerOutcome[] = [];
    for (const status of [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])]) {
      const terminated = status.state?.terminated ?? status.lastState?.terminated;
      const log = await this.api.request('GET', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log?container=${status.name}`);
      containers.push({
        name: status.name,
        exitCode: terminated?.exitCode,
        terminationMessage: terminated?.message ?? '',
        log: typeof log.body === 'string' ? log.body : '',
      });
    }
    const run: JobRun = { name, namespace, phase: phase!, seconds, job, containers };
    this.runs.push(run);
    console.log(`node tier: Job ${namespace}/${name} ${phase} in ${seconds} s`);
    return run;
  }

  private async podStatuses(namespace: string): Promise<unknown> {
    const pods = await this.api.request('GET', `/api/v1/namespaces/${namespace}/pods`);
    return (pods.body.items ?? []).map((p: any) => ({
      name: p.metadata.name,
      phase: p.status?.phase,
      conditions: p.status?.conditions,
      init: p.status?.initContainerStatuses,
      containers: p.status?.containerStatuses,
    }));
  }

  /** `skopeo inspect` from the test process: the digest the registry reports for `ref`. */
  public inspectDigest(ref: string): string {
    return this.inspect(ref).Digest;
  }

  /** `skopeo inspect` from the test process (`Digest`, `Labels`, …). */
  public inspect(ref: string): any {
    const authFile = join(this.dir, 'host-auth.json');
    writeFileSync(authFile, JSON.stringify({
      auths: { [this.harbor.host]: { auth: Buffer.from(`${HARBOR_USER}:${this.harborPassword}`).toString('base64') } },
    }), { mode: 0o600 });
    const tlsVerify = ref.startsWith(this.harbor.host) ? 'true' : 'false';
    const result = spawnSync('skopeo', ['inspect', '--authfile', authFile, '--cert-dir', join(this.dir, 'certs.d'),
      `--tls-verify=${tlsVerify}`, `docker://${ref}`], { encoding: 'utf8', env: { ...process.env, HOME: this.dir, TMPDIR: this.dir } });
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  }

  /** Runs the host's skopeo (the tier CA trusted); fails the test on a non-zero exit. */
  public skopeo(args: string[]): string {
    const result = spawnSync('skopeo', args, { encoding: 'utf8', env: { ...process.env, HOME: this.dir, TMPDIR: this.dir } });
    expect(result.status, `skopeo ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  }

  public async stop(): Promise<void> {
    for (const s of this.started.reverse()) {
      await s.stop();
    }
    removeScratch(this.dir);
  }
}

/** A container of a run by name; fails the test when it did not run. */
export function containerOf(run: JobRun, name: string): ContainerOutcome {
  const found = run.containers.find(c => c.name === name);
  expect(found, `container ${name} ran (ran: ${run.containers.map(c => c.name).join(', ')})`).toBeDefined();
  return found!;
}

/** A readable account of a run, for assertion messages. */
export function describeJob(run: JobRun): string {
  return `${run.namespace}/${run.name} ${run.phase}\n` + run.containers.map(c => `--- ${c.name} (exit ${c.exitCode})\n${c.log}termination: ${c.terminationMessage}`).join('\n');
}

/**
 * Asserts every `<ref>@<digest>` line of a termination message names what the registry serves (`skopeo inspect`;
 * through the tag when the line has one); returns the lines.
 */
export function expectServed(env: NodeEnvironment, terminationMessage: string): string[] {
  const lines = terminationMessage.trim().split('\n');
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    const at = line.lastIndexOf('@');
    const ref = line.slice(0, at);
    // a tagged line is checked through its tag (what the registry serves for it); an untagged one by its digest
    expect(env.inspectDigest(/:[^/]+$/.test(ref) ? ref : line), line).toBe(line.slice(at + 1));
  }
  return lines;
}
