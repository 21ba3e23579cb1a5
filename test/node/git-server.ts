/**
 * A git server for the node tier: bare repositories served over https with git's smart HTTP protocol by
 * `git http-backend` (run as a CGI program per request), on the tier's listen address, so pods clone from it
 * the way kaniko clones a `git://` context (go-git speaks smart HTTP only).
 */
import { spawn, spawnSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer, Server } from 'https';
import { AddressInfo } from 'net';
import { dirname, join } from 'path';
import { LISTEN_ADDRESS } from '../e2e/fixtures';

/** A fixed author and committer: the same files give the same commit. */
const IDENTITY = Object.fromEntries(['AUTHOR', 'COMMITTER'].flatMap(role => [
  [`GIT_${role}_NAME`, 'node tier'],
  [`GIT_${role}_EMAIL`, 'node-tier@example.com'],
  [`GIT_${role}_DATE`, '2026-01-01T00:00:00Z'],
]));

/** Runs git with a fixed identity and no user or system configuration, failing with its output. */
function git(args: string[], cwd: string): void {
  const result = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', ...IDENTITY },
  });
  if (result.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed: ${result.stderr}${result.error ?? ''}`);
  }
}

/** Bare repositories served over https by `git http-backend`. */
export class GitServer {
  /** @param tls the server's certificate and key files */
  public static async start(root: string, tls: { cert: string; key: string }): Promise<GitServer> {
    mkdirSync(root, { recursive: true });
    const server = new GitServer(root, tls);
    await new Promise<void>(ok => server.server.listen(0, LISTEN_ADDRESS, ok));
    server.url = `https://${LISTEN_ADDRESS}:${(server.server.address() as AddressInfo).port}`;
    return server;
  }

  /** The base URL, `https://<listen address>:<port>`. */
  public url = '';
  /** Every request as `METHOD /path?query`, in arrival order. */
  public readonly requests: string[] = [];
  private readonly server: Server;

  private constructor(private readonly root: string, tls: { cert: string; key: string }) {
    this.server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (request, response) => {
      this.requests.push(`${request.method} ${request.url}`);
      const url = new URL(request.url ?? '/', 'https://git.invalid');
      const cgi = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env.PATH,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_PROJECT_ROOT: this.root,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: request.method ?? 'GET',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.replace(/^\?/, ''),
          CONTENT_TYPE: request.headers['content-type'] ?? '',
          HTTP_CONTENT_ENCODING: String(request.headers['content-encoding'] ?? ''),
          HTTP_GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
          REMOTE_ADDR: request.socket.remoteAddress ?? '',
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      request.pipe(cgi.stdin);
      const chunks: Buffer[] = [];
      cgi.stdout.on('data', d => chunks.push(d));
      cgi.on('close', () => {
        const out = Buffer.concat(chunks);
        const end = out.indexOf('\r\n\r\n') >= 0 ? out.indexOf('\r\n\r\n') : out.indexOf('\n\n');
        const separator = out.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
        if (end < 0) {
          response.writeHead(500).end('git http-backend wrote no headers');
          return;
        }
        let status = 200;
        const headers: { [name: string]: string } = {};
        for (const line of out.subarray(0, end).toString().split(/\r?\n/)) {
          const colon = line.indexOf(':');
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') {
            status = Number(value.split(' ')[0]);
          } else {
            headers[name] = value;
          }
        }
        response.writeHead(status, headers).end(out.subarray(end + separator));
      });
    });
  }

  /**
   * Creates the bare repository `<name>.git` with one commit of `files` on `branch`; returns its https URL.
   */
  public repository(name: string, files: { [path: string]: string }, branch = 'main'): string {
    const work = join(this.root, '..', `${name}-work`);
    mkdirSync(work, { recursive: true });
    git(['init', '-q', '-b', branch], work);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    git(['add', '-A'], work);
    git(['commit', '-q', '-m', `${name}: the build context`], work);
    git(['clone', '-q', '--bare', work, join(this.root, `${name}.git`)], this.root);
    return `${this.url}/${name}.git`;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(ok => this.server.close(() => ok()));
  }
}
