/**
 * The services the e2e tests run against, all on 127.0.0.1 and all stopped by the test setup:
 * two Docker Distribution registries ("intermediate": plain http, no auth; "harbor": TLS with a
 * generated self-signed certificate and htpasswd bcrypt basic auth), an HTTP file server, and a
 * fault-injecting server. Scratch state lives in a temporary directory under the system temp directory (`cdk8s-image-jobs-e2e-*`).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'http';
import { createServer as createHttpsServer, request as httpsRequest } from 'https';
import { AddressInfo, createServer as createNetServer } from 'net';
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
  readonly tls?: { cert: string; key: string };
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
      const req = httpsRequest(`https://${this.host}${path}`, { headers, ca: readFileSync(this.options.tls!.cert) }, (res) => {
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
