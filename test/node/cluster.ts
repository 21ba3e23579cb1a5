/**
 * A real single-node Kubernetes cluster for the node tier: etcd, kube-apiserver (strict server-side field validation,
 * PodSecurity admission), kube-controller-manager, kube-scheduler, containerd + runc and a kubelet, all inside the
 * network namespace `in-netns.sh` created for the run. Pods get addresses on a bridge (`cni0`, 10.88.0.0/16) whose
 * gateway, {@link NODE_ADDRESS}, is where the pods reach the registries and file servers the tests start.
 *
 * Every daemon is started and stopped by its PID (checked against `/proc/PID/cmdline` before a signal), every mount
 * under the scratch directory is unmounted at the end (deepest first) and the scratch directory is removed.
 * See README.md in this directory for the settings and why each is needed.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { request as httpsRequest } from 'https';
import { join } from 'path';

/** The bridge gateway inside the tier's network namespace: the node's address as pods see it. */
export const NODE_ADDRESS = '10.88.0.1';
const POD_SUBNET = '10.88.0.0/16';
const BRIDGE = 'cni0';
const ETCD_PORT = 2379;
const API_PORT = 6443;
/** The Service range, and its first address: the `kubernetes` Service pods reach the API server at. */
const SERVICE_RANGE = '10.96.0.0/24';
const KUBERNETES_SERVICE_ADDRESS = '10.96.0.1';

/** The programs the cluster runs, each from an environment variable or a Debian package. */
export interface ClusterPrograms {
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubelet: string;
  readonly etcd: string;
  readonly containerd: string;
  readonly ctr: string;
  readonly runc: string;
  readonly cniBinDir: string;
}

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    const path = join(dir, program);
    if (dir && existsSync(path)) {
      return path;
    }
  }
  return undefined;
}

/**
 * Finds every program the cluster needs: the four Kubernetes binaries in `KUBE_BIN_DIR`, the rest from Debian
 * packages. Throws naming each missing program and where it was looked for.
 */
export function clusterPrograms(): ClusterPrograms {
  const missing: string[] = [];
  const kubeDir = process.env.KUBE_BIN_DIR;
  const kube = (name: string) => {
    if (!kubeDir) {
      missing.push(`${name} (set KUBE_BIN_DIR to the directory holding kube-apiserver, kube-controller-manager, kube-scheduler and kubelet)`);
      return '';
    }
    const path = join(kubeDir, name);
    if (!existsSync(path)) {
      missing.push(`${name} (not in KUBE_BIN_DIR=${kubeDir})`);
    }
    return path;
  };
  const debian = (name: string, pkg: string) => {
    const path = onPath(name);
    if (!path) {
      missing.push(`${name} (Debian package ${pkg})`);
    }
    return path ?? '';
  };
  const cniBinDir = '/usr/lib/cni';
  if (!existsSync(join(cniBinDir, 'bridge'))) {
    missing.push(`${cniBinDir}/bridge (Debian package containernetworking-plugins)`);
  }
  const programs: ClusterPrograms = {
    kubeApiserver: kube('kube-apiserver'),
    kubeControllerManager: kube('kube-controller-manager'),
    kubeScheduler: kube('kube-scheduler'),
    kubelet: kube('kubelet'),
    etcd: debian('etcd', 'etcd-server'),
    containerd: debian('containerd', 'containerd'),
    ctr: debian('ctr', 'containerd'),
    runc: debian('runc', 'runc'),
    cniBinDir,
  };
  for (const [name, pkg] of [['ip', 'iproute2'], ['openssl', 'openssl'], ['umount', 'mount'], ['containerd-shim-runc-v2', 'containerd']]) {
    debian(name, pkg);
  }
  if (missing.length > 0) {
    throw new Error(`the node tier needs: ${missing.join(', ')} (see test/node/README.md)`);
  }
  return programs;
}

function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.error ?? result.stderr}`);
  }
  return result.stdout;
}

/** The command line of a running process, or undefined when the PID is gone. */
function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** Signals `pid` only while its command line still starts with `program` (PIDs wrap around quickly here). */
function signalIfOurs(pid: number, program: string, signal: NodeJS.Signals): boolean {
  const argv = cmdlineOf(pid);
  if (!argv || argv[0] !== program) {
    return false;
  }
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function sleep(ms: number): Promise<void> {
  return new Promise(ok => setTimeout(ok, ms));
}

/** Stops a process by PID: SIGTERM, SIGKILL after `graceMs`, then waits until it is gone. */
export async function stopPid(pid: number, program: string, graceMs = 5000): Promise<void> {
  if (!signalIfOurs(pid, program, 'SIGTERM')) {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    // gone, reused, or a zombie (whose cmdline is empty)
    if (cmdlineOf(pid)?.[0] !== program) {
      return;
    }
    await sleep(50);
  }
  signalIfOurs(pid, program, 'SIGKILL');
  while (cmdlineOf(pid)?.[0] === program) {
    await sleep(50);
  }
}

/** A daemon the cluster started. */
interface Daemon {
  readonly name: string;
  readonly program: string;
  readonly child: ChildProcess;
  readonly log: string;
}

/** A Kubernetes object as JSON. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: any;
};

/** An API response. */
export interface ApiResponse {
  readonly status: number;
  readonly body: any;
  /** `Warning` headers (PodSecurity warns on workload objects whose pods it would refuse). */
  readonly warnings: string[];
}

/** The fields of the cluster a test worker needs (passed from the global setup with `provide`). */
export interface ClusterAccess {
  readonly apiUrl: string;
  readonly token: string;
  readonly caCert: string;
  readonly dir: string;
}

/** Talks to the API server with the admin token. */
export class KubeApi {
  /** The collection path of an object (`/api/v1/namespaces/ns/pods`, `/apis/batch/v1/namespaces/ns/jobs`, …). */
  public static collectionPath(object: KubeObject, namespace?: string): string {
    const group = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const plural = object.kind === 'NetworkPolicy' ? 'networkpolicies'
      : object.kind.toLowerCase().endsWith('s') ? `${object.kind.toLowerCase()}es` : `${object.kind.toLowerCase()}s`;
    const clusterScoped = ['Namespace', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PriorityClass', 'RuntimeClass',
      'CustomResourceDefinition', 'Project', 'ClusterAnalysisTemplate'].includes(object.kind);
    const ns = namespace ?? object.metadata.namespace;
    return clusterScoped ? `${group}/${plural}` : `${group}/namespaces/${ns ?? 'default'}/${plural}`;
  }
  constructor(private readonly access: ClusterAccess) {}

  /** One API request; the body is JSON (or YAML text for `application/apply-patch+yaml`). */
  public async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((ok, fail) => {
      const req = httpsRequest(`${this.access.apiUrl}${path}`, {
        method,
        ca: readFileSync(this.access.caCert),
        headers: {
          authorization: `Bearer ${this.access.token}`,
          accept: 'application/json',
          ...(data !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (logs)
          }
          ok({ status: res.statusCode!, body: parsed, warnings: [res.headers.warning ?? []].flat() });
        });
      });
      req.on('error', fail);
      if (data !== undefined) {
        req.write(data);
      }
      req.end();
    });
  }

  /** Like `request`, but throws unless the status is 2xx. */
  public async must(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
    const response = await this.request(method, path, body, contentType);
    if (response.status < 200 || response.status > 299) {
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }


  /** Creates `object` (in `namespace` when it is namespaced and names none). */
  public async create(object: KubeObject, namespace?: string, query = ''): Promise<any> {
    return this.must('POST', `${KubeApi.collectionPath(object, namespace)}${query}`, object);
  }

  /** Creates a namespace with Pod Security labels (`enforce` and `warn` at `level`, when given). */
  public async createNamespace(name: string, level?: string): Promise<void> {
    const labels: { [k: string]: string } = level ? {
      'pod-security.kubernetes.io/enforce': level,
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': level,
      'pod-security.kubernetes.io/warn-version': 'latest',
    } : {};
    await this.must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    // the service-account controller creates `default`; pods are refused until it exists.
    await this.waitFor(`service account default in ${name}`, async () => (await this.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200, 30_000);
  }

  /** Polls `check` every 250 ms until it returns true; throws naming `what` after `timeoutMs`. */
  public async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) {
        return;
      }
      await sleep(250);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** Options of the cluster. */
export interface ClusterOptions {
  /** Scratch directory (created). */
  readonly dir: string;
  /** The sandbox ("pause") image reference containerd pulls. */
  readonly sandboxImage: string;
  /** Plain-http registries containerd may pull from (`host:port`). */
  readonly insecureRegistries: string[];
}

/** A running single-node cluster. */
export class NodeCluster {
  /**
   * Starts everything, in dependency order, and waits until the node is Ready and untainted. Must run inside the
   * network namespace `in-netns.sh` created (NODE_TIER_NETNS): the bridge and fixed ports belong to it.
   */
  public static async start(options: ClusterOptions): Promise<NodeCluster> {
    if (!process.env.NODE_TIER_NETNS) {
      throw new Error('the node tier runs inside its own network namespace: start it with `npx projen test:node` (test/node/in-netns.sh)');
    }
    const programs = clusterPrograms();
    const cluster = new NodeCluster(options.dir, programs);
    try {
      await cluster.boot(options);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Seconds the start took, for the report. */
  public startSeconds = 0;
  public readonly access: ClusterAccess;
  public readonly api: KubeApi;
  private readonly daemons: Daemon[] = [];
  private readonly cgroupRoot: string;
  private stopped = false;
  /** Host directories the daemons create at fixed paths; those that did not exist before are removed when empty. */
  private readonly hostDirs = ['/run/containerd', '/var/lib/cni', '/var/log/pods', '/var/log/containers'].filter(d => !existsSync(d));

  private constructor(public readonly dir: string, private readonly programs: ClusterPrograms) {
    this.access = { apiUrl: `https://127.0.0.1:${API_PORT}`, token: randomToken(), caCert: join(dir, 'pki', 'ca.crt'), dir };
    this.api = new KubeApi(this.access);
    this.cgroupRoot = `cdk8s-node-tier-${process.pid}`;
  }

  private path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private async boot(options: ClusterOptions): Promise<void> {
    const began = Date.now();
    mkdirSync(this.dir, { recursive: true });
    createPodBridge();
    this.pki();
    await this.startEtcd();
    await this.startApiserver();
    this.writeKubeconfig();
    this.startDaemon('kube-controller-manager', this.programs.kubeControllerManager, [
      `--kubeconfig=${this.path('admin.kubeconfig')}`,
      '--controllers=job,serviceaccount,serviceaccount-token,root-ca-cert-publisher,garbagecollector,namespace,ttl-after-finished,podgc,nodelifecycle,persistentvolume-binder',
      `--service-account-private-key-file=${this.path('pki', 'sa.key')}`,
      `--root-ca-file=${this.path('pki', 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--secure-port=0', '--leader-elect=false',
    ]);
    this.startDaemon('kube-scheduler', this.programs.kubeScheduler, [
      `--kubeconfig=${this.path('admin.kubeconfig')}`, '--leader-elect=false', '--secure-port=0',
    ]);
    await this.startContainerd(options);
    this.startKubelet();
    await this.api.waitFor('the node to be Ready without taints', async () => {
      const node = await this.api.request('GET', '/api/v1/nodes/localhost');
      if (node.status !== 200) {
        return false;
      }
      const ready = (node.body.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status === 'True';
      return ready && (node.body.spec?.taints ?? []).length === 0;
    }, 90_000);
    this.startSeconds = (Date.now() - began) / 1000;
  }

  private pki(): void {
    const pki = this.path('pki');
    mkdirSync(pki);
    const openssl = (...args: string[]) => run('openssl', args);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=node-tier-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.crt'));
    const leaf = (name: string, subject: string, ext: string) => {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', join(pki, `${name}.key`), '-out', join(pki, `${name}.csr`));
      writeFileSync(join(pki, `${name}.ext`), ext);
      openssl('x509', '-req', '-in', join(pki, `${name}.csr`), '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'),
        '-CAcreateserial', '-days', '2', '-extfile', join(pki, `${name}.ext`), '-out', join(pki, `${name}.crt`));
    };
    leaf('apiserver', '/CN=kube-apiserver', `subjectAltName=IP:127.0.0.1,IP:${NODE_ADDRESS},IP:${KUBERNETES_SERVICE_ADDRESS},DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n`);
    leaf('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', 'extendedKeyUsage=clientAuth\n');
    openssl('genrsa', '-out', join(pki, 'sa.key'), '2048');
    openssl('rsa', '-in', join(pki, 'sa.key'), '-pubout', '-out', join(pki, 'sa.pub'));
    writeFileSync(join(pki, 'tokens.csv'), `${this.access.token},admin,admin-uid,system:masters\n`);
  }

  private startDaemon(name: string, program: string, args: string[], env?: NodeJS.ProcessEnv): Daemon {
    const log = this.path(`${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(program, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
    const daemon = { name, program, child, log };
    this.daemons.push(daemon);
    return daemon;
  }

  /** Throws with the daemon's log tail when it exited. */
  private checkAlive(daemon: Daemon): void {
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
      throw new Error(`${daemon.name} exited (${daemon.child.exitCode ?? daemon.child.signalCode}): ${tail(daemon.log)}`);
    }
  }

  private async waitDaemon(daemon: Daemon, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    await this.api.waitFor(`${daemon.name}: ${what}`, async () => {
      this.checkAlive(daemon);
      try {
        return await check();
      } catch {
        return false;
      }
    }, timeoutMs).catch(e => {
      throw new Error(`${e.message}; log: ${tail(daemon.log)}`);
    });
  }

  private async startEtcd(): Promise<void> {
    const etcd = this.startDaemon('etcd', this.programs.etcd, [
      '--name=node-tier', `--data-dir=${this.path('etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${ETCD_PORT}`, `--advertise-client-urls=http://127.0.0.1:${ETCD_PORT}`,
      '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=node-tier=http://127.0.0.1:2380', '--listen-metrics-urls=http://127.0.0.1:2381',
      '--unsafe-no-fsync',
    ]);
    await this.waitDaemon(etcd, 'health', async () => (await fetch(`http://127.0.0.1:${ETCD_PORT}/health`)).ok, 30_000);
  }

  private async startApiserver(): Promise<void> {
    const pki = this.path('pki');
    const apiserver = this.startDaemon('kube-apiserver', this.programs.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${ETCD_PORT}`,
      // every address of the tier's network namespace: pods reach it through the `kubernetes` Service (see createPodBridge)
      '--bind-address=0.0.0.0', `--secure-port=${API_PORT}`, `--advertise-address=${NODE_ADDRESS}`,
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`, `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--client-ca-file=${join(pki, 'ca.crt')}`, `--token-auth-file=${join(pki, 'tokens.csv')}`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`, `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--authorization-mode=Node,RBAC', '--allow-privileged=true',
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,DefaultStorageClass,PersistentVolumeClaimResize',
      '--feature-gates=ServerSideFieldValidation=true',
      '--kubelet-preferred-address-types=Hostname',
      `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`,
      '--profiling=false',
    ]);
    await this.waitDaemon(apiserver, '/readyz', async () => (await this.api.request('GET', '/readyz')).status === 200, 60_000);
  }

  private writeKubeconfig(): void {
    writeFileSync(this.path('admin.kubeconfig'), JSON.stringify({
      'apiVersion': 'v1',
      'kind': 'Config',
      'current-context': 'node-tier',
      'clusters': [{ name: 'node-tier', cluster: { 'server': this.access.apiUrl, 'certificate-authority': this.access.caCert } }],
      'users': [{ name: 'admin', user: { token: this.access.token } }],
      'contexts': [{ name: 'node-tier', context: { cluster: 'node-tier', user: 'admin' } }],
    }));
  }

  private containerdSocket(): string {
    return this.path('containerd', 'containerd.sock');
  }

  private async startContainerd(options: ClusterOptions): Promise<void> {
    const dir = this.path('containerd');
    mkdirSync(join(dir, 'certs.d'), { recursive: true });
    for (const host of options.insecureRegistries) {
      mkdirSync(join(dir, 'certs.d', host));
      writeFileSync(join(dir, 'certs.d', host, 'hosts.toml'), `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`);
    }
    mkdirSync(join(dir, 'cni'));
    writeFileSync(join(dir, 'cni', '10-node-tier.conflist'), JSON.stringify({
      cniVersion: '0.4.0',
      name: 'node-tier',
      plugins: [{
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: POD_SUBNET, gateway: NODE_ADDRESS }]], routes: [{ dst: '0.0.0.0/0' }] },
      }],
    }));
    writeFileSync(join(dir, 'config.toml'), [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      // plugins that would write outside the scratch directory or are not needed
      'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = ${JSON.stringify(this.containerdSocket())}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(join(dir, 'containerd.sock.ttrpc'))}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = ${JSON.stringify(options.sandboxImage)}`,
      // without CAP_SYS_RESOURCE a negative oom_score_adj is refused and every sandbox fails to start
      '  restrict_oom_score_adj = true',
      '  enable_selinux = false',
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  snapshotter = "overlayfs"',
      '  default_runtime_name = "runc"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      '  SystemdCgroup = false',
      `  BinaryName = ${JSON.stringify(this.programs.runc)}`,
      '[plugins."io.containerd.grpc.v1.cri".cni]',
      `  bin_dir = ${JSON.stringify(this.programs.cniBinDir)}`,
      `  conf_dir = ${JSON.stringify(join(dir, 'cni'))}`,
      '[plugins."io.containerd.grpc.v1.cri".registry]',
      `  config_path = ${JSON.stringify(join(dir, 'certs.d'))}`,
      '',
    ].join('\n'));
    const containerd = this.startDaemon('containerd', this.programs.containerd, ['--config', join(dir, 'config.toml')]);
    await this.waitDaemon(containerd, 'its socket', async () => existsSync(this.containerdSocket()), 30_000);
  }

  private startKubelet(): void {
    const dir = this.path('kubelet');
    mkdirSync(dir);
    // the kubelet's cgroups live under a root of this run's own, in every v1 hierarchy
    for (const controller of cgroupControllers()) {
      mkdirSync(join('/sys/fs/cgroup', controller, this.cgroupRoot), { recursive: true });
    }
    writeFileSync(join(dir, 'config.yaml'), JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: '127.0.0.1',
      healthzBindAddress: '127.0.0.1',
      readOnlyPort: 0,
      cgroupDriver: 'cgroupfs',
      cgroupsPerQOS: true,
      cgroupRoot: `/${this.cgroupRoot}`,
      enforceNodeAllocatable: [],
      failSwapOn: false,
      makeIPTablesUtilChains: false,
      hairpinMode: 'none',
      resolvConf: '',
      // the machine's disk is shared: never evict the tier's pods for disk pressure
      evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'imagefs.available': '0%' },
      imageGCHighThresholdPercent: 100,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: this.access.caCert } },
      authorization: { mode: 'AlwaysAllow' },
      fileCheckFrequency: '1s',
      syncFrequency: '5s',
    }));
    this.startDaemon('kubelet', this.programs.kubelet, [
      `--config=${join(dir, 'config.yaml')}`,
      `--kubeconfig=${this.path('admin.kubeconfig')}`,
      '--container-runtime=remote', `--container-runtime-endpoint=unix://${this.containerdSocket()}`,
      `--root-dir=${join(dir, 'root')}`, `--cert-dir=${join(dir, 'pki')}`,
      '--hostname-override=localhost', `--node-ip=${NODE_ADDRESS}`,
    ]);
  }

  /** The log of a daemon (for a failing test's message). */
  public daemonLog(name: string): string {
    return tail(this.path(`${name}.log`), 60);
  }

  /**
   * Stops everything: pods first (so the kubelet tears their sandboxes down), then the kubelet, containerd's tasks and
   * shims, containerd, the control plane and etcd; unmounts what is left under the scratch directory (deepest first),
   * removes the cgroups and the pods' log directories, then the scratch directory. Safe to call twice.
   */
  public async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    const podUids = await this.drainPods().catch(() => [] as string[]);
    for (const name of ['kubelet']) {
      await this.stopDaemon(name);
    }
    this.removeContainers();
    await this.stopDaemon('containerd');
    await this.stopShims();
    for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await this.stopDaemon(name);
    }
    unmountUnder(this.dir);
    this.removeCgroups();
    for (const uid of podUids) {
      for (const entry of safeReaddir('/var/log/pods').filter(e => e.endsWith(`_${uid}`))) {
        rmSync(join('/var/log/pods', entry), { recursive: true, force: true });
      }
    }
    for (const link of safeReaddir('/var/log/containers')) {
      const target = join('/var/log/containers', link);
      if (!existsSync(target)) {
        rmSync(target, { force: true }); // dangling: its pod directory was removed above
      }
    }
    for (const dir of this.hostDirs) {
      removeEmptyTree(dir);
    }
    if (process.env.NODE_TIER_KEEP !== '1') {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Deletes every pod at once and waits (up to 60 s) until the kubelet has none left; returns their UIDs. */
  private async drainPods(): Promise<string[]> {
    if (!this.daemons.find(d => d.name === 'kube-apiserver' && d.child.exitCode === null)) {
      return [];
    }
    // Jobs first, or their controller would replace the deleted pods
    for (const job of (await this.api.must('GET', '/apis/batch/v1/jobs')).items as any[]) {
      await this.api.request('DELETE', `/apis/batch/v1/namespaces/${job.metadata.namespace}/jobs/${job.metadata.name}?propagationPolicy=Orphan`);
    }
    const pods = (await this.api.must('GET', '/api/v1/pods')).items as any[];
    const uids = pods.map(p => p.metadata.uid as string);
    for (const pod of pods) {
      await this.api.request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}?gracePeriodSeconds=0`);
    }
    await this.api.waitFor('every pod to be gone', async () => ((await this.api.must('GET', '/api/v1/pods')).items as any[]).length === 0, 60_000).catch(() => undefined);
    // the kubelet removes the sandboxes shortly after the API objects are gone
    await sleep(2000);
    return uids;
  }

  private async stopDaemon(name: string): Promise<void> {
    const daemon = this.daemons.find(d => d.name === name);
    if (daemon?.child.pid !== undefined && daemon.child.exitCode === null && daemon.child.signalCode === null) {
      await stopPid(daemon.child.pid, daemon.program, 10_000);
    }
  }

  /** Kills and deletes whatever tasks and containers containerd still has (with its own client, `ctr`). */
  private removeContainers(): void {
    const containerd = this.daemons.find(d => d.name === 'containerd');
    if (!containerd || containerd.child.exitCode !== null) {
      return;
    }
    const ctr = (...args: string[]) => spawnSync(this.programs.ctr, ['--address', this.containerdSocket(), '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 30_000 });
    const tasks = (ctr('tasks', 'list', '--quiet').stdout ?? '').split('\n').filter(Boolean);
    for (const task of tasks) {
      ctr('tasks', 'kill', '--signal', 'SIGKILL', task);
    }
    for (const task of tasks) {
      ctr('tasks', 'delete', '--force', task);
    }
    for (const container of (ctr('containers', 'list', '--quiet').stdout ?? '').split('\n').filter(Boolean)) {
      ctr('containers', 'delete', container);
    }
  }

  /** The runc shims of this containerd (found by the socket path in their command line), stopped by PID. */
  private async stopShims(): Promise<void> {
    const shim = onPath('containerd-shim-runc-v2');
    for (const entry of safeReaddir('/proc').filter(e => /^\d+$/.test(e))) {
      const argv = cmdlineOf(Number(entry));
      if (argv && argv[0] === shim && argv.includes(this.containerdSocket())) {
        await stopPid(Number(entry), shim!, 5000);
      }
    }
  }

  private removeCgroups(): void {
    for (const controller of cgroupControllers()) {
      removeCgroupTree(join('/sys/fs/cgroup', controller, this.cgroupRoot));
    }
  }
}

/**
 * The pod bridge with the node address, unless it exists: made before the registries (they listen on it) and the
 * kubelet (its --node-ip must be a local address). It vanishes with the network namespace.
 */
export function createPodBridge(): void {
  if (!process.env.NODE_TIER_NETNS) {
    throw new Error('the node tier runs inside its own network namespace: start it with `npx projen test:node` (test/node/in-netns.sh)');
  }
  if (spawnSync('ip', ['link', 'show', BRIDGE]).status === 0) {
    return;
  }
  run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${NODE_ADDRESS}/16`, 'dev', BRIDGE]);
  run('ip', ['link', 'set', BRIDGE, 'up']);
  // kube-proxy's one rule the tier needs: pods reach the API server at the `kubernetes` Service (KUBERNETES_SERVICE_HOST)
  run('iptables', ['-t', 'nat', '-A', 'PREROUTING', '-d', `${KUBERNETES_SERVICE_ADDRESS}/32`, '-p', 'tcp', '--dport', '443',
    '-j', 'DNAT', '--to-destination', `${NODE_ADDRESS}:${API_PORT}`]);
}

function randomToken(): string {
  return randomBytes(24).toString('hex');
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The cgroup v1 hierarchies mounted under /sys/fs/cgroup (the kubelet uses every one of them). */
function cgroupControllers(): string[] {
  return safeReaddir('/sys/fs/cgroup').filter(c => c !== 'unified' && !c.includes(',') && statSync(join('/sys/fs/cgroup', c)).isDirectory()
    && existsSync(join('/sys/fs/cgroup', c, 'cgroup.procs')));
}

/** Removes `dir` and its subdirectories if none holds a file. */
function removeEmptyTree(dir: string): void {
  if (!existsSync(dir)) {
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      removeEmptyTree(join(dir, entry.name));
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // not empty: something else uses it
  }
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) {
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      removeCgroupTree(join(dir, entry.name));
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // still has processes: reported by the leftover check of the caller
  }
}

/** Unmounts every mount point at or below `dir`, deepest first (lazily, if a mount is still busy). */
export function unmountUnder(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
      .map(line => line.split(' ')[4].replace(/\\040/g, ' '))
      .filter(point => point === dir || point.startsWith(`${dir}/`))
      .sort((a, b) => b.split('/').length - a.split('/').length);
    if (points.length === 0) {
      return;
    }
    for (const point of points) {
      if (spawnSync('umount', [point]).status !== 0) {
        spawnSync('umount', ['-l', point]);
      }
    }
  }
}
