/**
 * The services the e2e tests run against, all on 127.0.0.1 and all stopped by the test setup:
 * two Docker Distribution registries ("intermediate": plain http, no auth; "harbor": TLS with a
 * generated self-signed certificate and htpasswd bcrypt basic auth), an HTTP file server, and a
 * fault-injecting server. Scratch state lives in a temporary directory under the system temp directory (`cdk8s-image-jobs-e2e-*`).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer as createHttpServer, request as httpRequest, IncomingMessage, Server, ServerResponse } from 'http';
import { createServer as createHttpsServer, request as httpsRequest } from 'https';
import { AddressInfo, connect as connectSocket, createServer as createNetServer, Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * The address every fixture listens on: 127.0.0.1 for the e2e tier; the node tier sets `E2E_LISTEN_ADDRESS` to its
 * bridge gateway inside its own network namespace, where pods reach it.
 */
export const LISTEN_ADDRESS = process.env.E2E_LISTEN_ADDRESS ?? '127.0.0.1';

/** Every program the e2e tier runs, with the Debian package that provides it. */
export const REQUIRED_TOOLS: { [program: string]: string } = {
  'docker-registry': 'docker-registry',
  'skopeo': 'skopeo',
  'buildah': 'buildah',
  // Debian's dynamic busybox, like Alpine's, execs applets through PATH; busybox-static runs them in-process
  // (FEATURE_SH_STANDALONE), so their argv would never reach /proc or the trace.
  'busybox': 'busybox',
  'curl': 'curl',
  'bash': 'bash',
  'htpasswd': 'apache2-utils',
  'openssl': 'openssl',
  'strace': 'strace',
  'unshare': 'util-linux',
  'nsenter': 'util-linux',
  'setpriv': 'util-linux',
  'mount': 'mount',
  'chroot': 'coreutils',
};

/** The absolute path of a program on PATH, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Fails, naming every missing program and its package, unless all tools are installed and we are root. */
export function requireTools(): void {
  const missing = Object.entries(REQUIRED_TOOLS).filter(([program]) => !which(program)).map(([p, pkg]) => `${p} (Debian package ${pkg})`);
  if (missing.length > 0) {
    throw new Error(`e2e tests need these tools: ${missing.join(', ')}; install them with apt-get (see test/e2e/README.md)`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error('e2e tests must run as root: the Job runner creates mount and pid namespaces and switches users like a kubelet');
  }
}

/**
 * A fresh scratch directory in the system temp directory, removed by `remove()`. Not under the checkout:
 * containers run as uid 65532 must traverse every parent, and a checkout may sit in a 0700 directory.
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cdk8s-image-jobs-e2e-${prefix}-`));
  chmodSync(dir, 0o711);
  return dir;
}

/** A TCP port on `LISTEN_ADDRESS` that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createNetServer();
    server.once('error', fail);
    server.listen(0, LISTEN_ADDRESS, () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => ok(port));
    });
  });
}

function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.error ?? result.stderr}`);
  }
  return result.stdout;
}

/** A self-signed certificate (CA:TRUE, SAN IP:127.0.0.1 and `LISTEN_ADDRESS`) and its key. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', `subjectAltName=IP:127.0.0.1,IP:${LISTEN_ADDRESS},DNS:localhost`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-keyout', key, '-out', cert]);
  return { cert, key };
}

/**
 * A private CA (CA:TRUE, not trusted by any image stand-in) and a server certificate it issued for 127.0.0.1 and
 * `LISTEN_ADDRESS`:
 * the way a company's registry certificate is signed, unlike the self-signed test CA.
 */
export function privateCaCertificate(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'private-ca.crt');
  const caKey = join(dir, 'private-ca.key');
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=cdk8s-image-jobs e2e private CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', caKey, '-out', ca]);
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const extensions = join(dir, 'server.ext');
  writeFileSync(extensions, `subjectAltName=IP:127.0.0.1,IP:${LISTEN_ADDRESS},DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr]);
  run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', extensions, '-out', cert]);
  return { ca, cert, key };
}

/**
 * A CA bundle as a cluster holds it: the PEM under `ca.crt` in a ConfigMap `corp-ca` and in a Secret `corp-tls`
 * (what `RegistryCertificateAuthority.fromConfigMap('corp-ca')` and `.fromSecret('corp-tls')` read).
 */
export function caBundleObjects(pem: string): any[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'corp-ca' }, data: { 'ca.crt': pem } },
    { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'corp-tls' }, stringData: { 'ca.crt': pem } },
  ];
}

/** Stops a child process by its PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>(ok => child.once('exit', () => ok()));
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGKILL');
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Options for a registry. */
export interface RegistryOptions {
  /** The served certificate and key; `ca` is what the test trusts for it (default: the certificate itself). */
  readonly tls?: { cert: string; key: string; ca?: string };
  readonly htpasswd?: { username: string; password: string };
}

/** A running Docker Distribution registry. */
export class Registry {
  /**
   * Starts `docker-registry serve` with its own config on a free port and waits until `/v2/` answers
   * with `Docker-Distribution-Api-Version: registry/2.0`.
   */
  public static async start(dir: string, name: string, options: RegistryOptions = {}): Promise<Registry> {
    mkdirSync(join(dir, name), { recursive: true });
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(dir, name, 'data'))} }, delete: { enabled: true }, cache: { blobdescriptor: inmemory } }`,
      `http: { addr: "${LISTEN_ADDRESS}:${port}", secret: ${randomBytes(16).toString('hex')}${options.tls ? `, tls: { certificate: ${JSON.stringify(options.tls.cert)}, key: ${JSON.stringify(options.tls.key)} }` : ''} }`,
    ];
    if (options.htpasswd) {
      const file = join(dir, name, 'htpasswd');
      // bcrypt (-B); the password goes through stdin (-i), not argv.
      run('htpasswd', ['-B', '-c', '-i', file, options.htpasswd.username], options.htpasswd.password);
      lines.push(`auth: { htpasswd: { realm: ${name}, path: ${JSON.stringify(file)} } }`);
    }
    const config = join(dir, name, 'config.yml');
    writeFileSync(config, lines.join('\n') + '\n');
    const log = openSync(join(dir, name, 'registry.log'), 'a');
    const child = spawn(which('docker-registry')!, ['serve', config], { stdio: ['ignore', log, log] });
    const registry = new Registry(`${LISTEN_ADDRESS}:${port}`, child, options, join(dir, name, 'registry.log'));
    await registry.waitReady();
    return registry;
  }

  private constructor(
    /** `<LISTEN_ADDRESS>:<port>`, as used in image references and auth-file keys. */
    public readonly host: string,
    private readonly child: ChildProcess,
    private readonly options: RegistryOptions,
    private readonly logFile: string,
  ) {}

  /** GETs a registry API path (with TLS trust and credentials when configured); resolves status, headers, body. */
  public async get(path: string, accept?: string): Promise<{ status: number; headers: { [k: string]: string }; body: Buffer }> {
    const headers: { [k: string]: string } = accept ? { accept } : {};
    if (!this.options.tls) {
      const response = await fetch(`http://${this.host}${path}`, { headers });
      return { status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(await response.arrayBuffer()) };
    }
    if (this.options.htpasswd) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.htpasswd.username}:${this.options.htpasswd.password}`).toString('base64')}`;
    }
    return new Promise((ok, fail) => {
      const req = httpsRequest(`https://${this.host}${path}`, { headers, ca: readFileSync(this.options.tls!.ca ?? this.options.tls!.cert) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => ok({ status: res.statusCode!, headers: res.headers as { [k: string]: string }, body: Buffer.concat(chunks) }));
      });
      req.on('error', fail);
      req.end();
    });
  }

  /** The repositories the registry holds (`/v2/_catalog`). */
  public async repositories(): Promise<string[]> {
    const response = await this.get('/v2/_catalog');
    return JSON.parse(response.body.toString()).repositories ?? [];
  }

  public async stop(): Promise<void> {
    await stopProcess(this.child);
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`registry on ${this.host} exited: ${readFileSync(this.logFile, 'utf8')}`);
      }
      try {
        const response = await this.get('/v2/');
        if (response.status === 200 && response.headers['docker-distribution-api-version'] === 'registry/2.0') {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise(ok => setTimeout(ok, 50));
    }
    throw new Error(`registry on ${this.host} did not become ready: ${readFileSync(this.logFile, 'utf8')}`);
  }
}

/** One request a `RecordingRegistry` received, with the `Authorization` header it carried. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
}

/**
 * A plain-http registry that records the `Authorization` header of every request: a small proxy on 127.0.0.1 in
 * front of its own Docker Distribution registry. With an `account` it acts like a basic-auth registry: a request
 * without exactly that account's `Basic` header is recorded, then answered 401 with a `WWW-Authenticate: Basic`
 * challenge (the way registries make clients send credentials). Without one it allows anonymous access but still
 * challenges the `/v2/` ping without an `Authorization` header, as a registry with optional authentication does:
 * a client holding any credential for it sends it from then on (and is recorded); an anonymous one goes on without.
 */
export class RecordingRegistry {
  public static async start(dir: string, name: string, account?: { username: string; password: string }): Promise<RecordingRegistry> {
    const backend = await Registry.start(dir, `${name}-backend`);
    const [backendHost, backendPort] = backend.host.split(':');
    const expected = account ? `Basic ${Buffer.from(`${account.username}:${account.password}`).toString('base64')}` : undefined;
    const requests: RecordedRequest[] = [];
    const server = createHttpServer((req, res) => {
      requests.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
      const ping = req.url === '/v2/' && req.headers.authorization === undefined;
      if (expected ? req.headers.authorization !== expected : ping) {
        req.resume();
        res.writeHead(401, {
          'www-authenticate': `Basic realm="${name}"`,
          'docker-distribution-api-version': 'registry/2.0',
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}\n');
        return;
      }
      // the Host header is forwarded, so the registry's Location headers point back at this proxy
      const target = { host: backendHost, port: Number(backendPort), method: req.method, path: req.url, headers: req.headers };
      const upstream = httpRequest(target, (response) => {
        res.writeHead(response.statusCode!, response.headers);
        response.pipe(res);
      });
      upstream.on('error', e => res.destroy(e));
      req.pipe(upstream);
    });
    await new Promise<void>(ok => server.listen(0, '127.0.0.1', ok));
    return new RecordingRegistry(`127.0.0.1:${(server.address() as AddressInfo).port}`, backend, server, requests);
  }

  private constructor(
    /** `127.0.0.1:<port>` of the recording proxy: use it in image references and credentials. */
    public readonly host: string,
    /** The registry behind the proxy (push fixtures there directly: they are not recorded). */
    public readonly backend: Registry,
    private readonly server: Server,
    /** Every request, in arrival order. */
    public readonly requests: RecordedRequest[],
  ) {}

  /**
   * The user names of every `Basic` header received (sorted, unique); other schemes appear whole. An empty
   * `Basic` (`:`, which skopeo and buildah send after a challenge when they hold no credential) is anonymous.
   */
  public users(): string[] {
    const users = new Set<string>();
    for (const { authorization } of this.requests) {
      const basic = /^Basic (.*)$/i.exec(authorization ?? '');
      const decoded = basic ? Buffer.from(basic[1], 'base64').toString('utf8') : authorization;
      if (decoded !== undefined && decoded !== ':') {
        users.add(basic ? decoded.split(':')[0] : decoded);
      }
    }
    return [...users].sort();
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(ok => this.server.close(() => ok()));
    await this.backend.stop();
  }
}

/**
 * An HTTP proxy on 127.0.0.1 that tunnels `CONNECT host:port` (how curl reaches an https URL through
 * `HTTPS_PROXY`) and records each tunnel's target; anything else is answered 405 and recorded too.
 */
export class TunnelProxy {
  public static async start(): Promise<TunnelProxy> {
    const proxy = new TunnelProxy(createHttpServer((req, res) => {
      proxy.requests.push(`${req.method} ${req.url}`);
      res.writeHead(405).end();
    }));
    proxy.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      proxy.requests.push(`CONNECT ${req.url}`);
      const [host, port] = req.url!.split(':');
      const upstream = connectSocket(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      proxy.tunnels.add(client).add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>(ok => proxy.server.listen(0, '127.0.0.1', ok));
    return proxy;
  }

  /** Every request, in arrival order: `CONNECT host:port` or `METHOD url`. */
  public readonly requests: string[] = [];
  private readonly tunnels = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  /** `http://127.0.0.1:<port>`, the value of HTTPS_PROXY. */
  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    for (const socket of this.tunnels) {
      socket.destroy();
    }
    this.server.closeAllConnections();
    await new Promise<void>(ok => this.server.close(() => ok()));
  }
}

/** What a file-server path does. */
export type Fault =
  | { kind: 'serve'; body: Buffer }
  | { kind: 'status-then-serve'; status: number; times: number; body: Buffer }
  | { kind: 'truncate'; body: Buffer };

/**
 * An HTTPS file server on 127.0.0.1 (the test CA's certificate) that serves files and injects faults per
 * path: answer a status N times then serve, or send half the announced body and cut the connection.
 * Unknown paths get 404. `serveLater` gives a URL whose port refuses connections until the test lets it listen.
 */
export class FileServer {
  public static async start(tls: { cert: string; key: string }): Promise<FileServer> {
    const server = new FileServer(tls);
    server.url = await server.listen(server.server, 0);
    return server;
  }

  /** Every request as `METHOD /path`, in arrival order. */
  public readonly requests: string[] = [];
  /** The base URL, `https://127.0.0.1:<port>`. */
  public url = '';
  private readonly routes = new Map<string, Fault>();
  private readonly served = new Map<string, number>();
  private readonly server: Server;
  private readonly late: Server[] = [];

  private constructor(private readonly tls: { cert: string; key: string }) {
    this.server = this.createServer();
  }

  /** Serves `body` at `path`; returns its URL. */
  public serve(path: string, body: Buffer): string {
    return this.route(path, { kind: 'serve', body });
  }

  /** Injects a fault at `path`; returns its URL. */
  public route(path: string, fault: Fault): string {
    this.routes.set(path, fault);
    return `${this.url}${path}`;
  }

  /** How many requests `path` received. */
  public count(path: string): number {
    return this.requests.filter(r => r.endsWith(` ${path}`)).length;
  }

  /**
   * A URL for `body` on a port that refuses connections until `listen()` is called (no timer: a test calls it
   * once the pod has logged a refused attempt, so the refusal is certain, never a race).
   */
  public async serveLater(path: string, body: Buffer): Promise<{ url: string; listen: () => void }> {
    const port = await freePort();
    const server = this.createServer();
    this.late.push(server);
    this.routes.set(path, { kind: 'serve', body });
    let listening = false;
    const listen = () => {
      if (!listening) {
        listening = true;
        void this.listen(server, port);
      }
    };
    return { url: `https://${LISTEN_ADDRESS}:${port}${path}`, listen };
  }

  public async stop(): Promise<void> {
    for (const s of [this.server, ...this.late]) {
      s.closeAllConnections();
      await new Promise<void>(ok => (s.listening ? s.close(() => ok()) : ok()));
    }
  }

  private createServer(): Server {
    return createHttpsServer({ cert: readFileSync(this.tls.cert), key: readFileSync(this.tls.key) }, (req, res) => this.handle(req, res));
  }

  private async listen(server: Server, port: number): Promise<string> {
    return new Promise((ok, fail) => {
      server.once('error', fail);
      server.listen(port, LISTEN_ADDRESS, () => ok(`https://${LISTEN_ADDRESS}:${(server.address() as AddressInfo).port}`));
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url!, 'http://x').pathname;
    this.requests.push(`${req.method} ${path}`);
    const fault = this.routes.get(path);
    const seen = this.served.get(path) ?? 0;
    this.served.set(path, seen + 1);
    if (!fault) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } else if (fault.kind === 'status-then-serve' && seen < fault.times) {
      res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`injected ${fault.status}\n`);
    } else if (fault.kind === 'truncate') {
      res.writeHead(200, { 'content-length': fault.body.length, 'content-type': 'application/gzip' });
      res.write(fault.body.subarray(0, Math.floor(fault.body.length / 2)), () => res.destroy());
    } else {
      res.writeHead(200, { 'content-length': fault.body.length, 'content-type': 'application/gzip' }).end(fault.body);
    }
  }
}

/** Removes a scratch directory unless E2E_KEEP=1 asks to keep it for debugging. */
export function removeScratch(dir: string): void {
  if (process.env.E2E_KEEP !== '1') {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A stand-in for an OCI Connector's proxy: plain http on 127.0.0.1, it accepts only requests carrying the
 * connector token (Basic auth, as the CSI-mounted config.json provides it), strips the path prefix
 * `/namespaces/<ns>/connectors/<name>` from repository paths, and forwards to the upstream registry over TLS
 * with the upstream's credentials, which the pod never sees. Location headers come back through the proxy.
 */
export class ConnectorProxy {
  public static async start(upstream: { host: string; ca: string; username: string; password: string }, prefix: string,
    token: { username: string; password: string }): Promise<ConnectorProxy> {
    const proxy = new ConnectorProxy(upstream, prefix, token);
    await new Promise<void>((ok, fail) => {
      proxy.server.once('error', fail);
      proxy.server.listen(0, LISTEN_ADDRESS, () => ok());
    });
    proxy.host = `${LISTEN_ADDRESS}:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** `127.0.0.1:<port>`. */
  public host = '';
  /** Every request as `METHOD path status`, in arrival order. */
  public readonly requests: string[] = [];
  private readonly server: Server;

  private constructor(private readonly upstream: { host: string; ca: string; username: string; password: string }, private readonly prefix: string,
    private readonly token: { username: string; password: string }) {
    this.server = createHttpServer((req, res) => this.handle(req, res));
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(ok => this.server.close(() => ok()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const expected = `Basic ${Buffer.from(`${this.token.username}:${this.token.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      this.requests.push(`${req.method} ${req.url} 401`);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="connector"', 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"connector token required"}]}\n');
      return;
    }
    const path = this.prefix && req.url!.startsWith(`/v2${this.prefix}/`) ? `/v2/${req.url!.slice(`/v2${this.prefix}/`.length)}` : req.url!;
    const headers = { ...req.headers };
    delete headers.authorization;
    headers.host = this.upstream.host;
    headers.authorization = `Basic ${Buffer.from(`${this.upstream.username}:${this.upstream.password}`).toString('base64')}`;
    const forward = httpsRequest(`https://${this.upstream.host}${path}`, { method: req.method, headers, ca: readFileSync(this.upstream.ca) }, (up) => {
      this.requests.push(`${req.method} ${req.url} ${up.statusCode}`);
      const out = { ...up.headers };
      if (typeof out.location === 'string') {
        const location = new URL(out.location, `https://${this.upstream.host}`);
        const repoPath = location.pathname.startsWith('/v2/') && location.pathname !== '/v2/' ? `/v2${this.prefix}/${location.pathname.slice(4)}` : location.pathname;
        out.location = `http://${this.host}${repoPath}${location.search}`;
      }
      res.writeHead(up.statusCode!, out);
      up.pipe(res);
    });
    forward.on('error', e => res.writeHead(502).end(`proxy: ${e.message}\n`));
    req.pipe(forward);
  }
}
