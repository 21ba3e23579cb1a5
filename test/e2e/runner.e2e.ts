/**
 * The Job runner itself: that it does what a kubelet does with the fields the constructs use, checked on
 * hand-written pod specs so that each behaviour is visible on its own.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, startEnvironment } from './environment';
import { expand, terminationMessage } from './kubelet';
import { PodResult } from './runner';

const CURL_IMAGE = 'docker.io/curlimages/curl:8.22.0';
const SKOPEO_IMAGE = 'quay.io/skopeo/stable:v1.22.3';

let env: E2eEnvironment;
beforeAll(async () => {
  env = await startEnvironment('runner');
});
afterAll(async () => {
  await env?.stop();
});

/** A Job with the given pod spec. */
function job(spec: object): any {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'runner-test' }, spec: { template: { spec: { restartPolicy: 'Never', ...spec } } } };
}

function sh(name: string, script: string, extra: object = {}): object {
  return { name, image: CURL_IMAGE, command: ['/bin/sh', '-c', script], ...extra };
}

async function runScript(script: string, extra: object = {}, podSpec: object = {}, objects: any[] = []): Promise<PodResult> {
  return env.runner.run([job({ containers: [sh('main', script, extra)], ...podSpec }), ...objects]);
}

describe('kubelet $(VAR) expansion', () => {
  test('matches the kubelet rules for defined, undefined, escaped and unterminated references', () => {
    const vars = new Map([['A', 'x'], ['EMPTY', '']]);
    expect(expand('$(A)-$(EMPTY)-$(MISSING)', vars)).toBe('x--$(MISSING)');
    expect(expand('$$(A) $$$$ $$', vars)).toBe('$(A) $$ $');
    expect(expand('$A $ $( $(A', vars)).toBe('$A $ $( $(A');
    expect(expand('cost: 5$', vars)).toBe('cost: 5$');
  });

  test('reaches the process argv: env values see earlier variables, args see all of them', async () => {
    // GIVEN
    const result = await runScript('printf "%s|" "$@"', {
      args: ['argv0', '$(GREETING)', '$$(GREETING)', '$(UNDEFINED)', 'a$$b'],
      env: [{ name: 'NAME', value: 'world' }, { name: 'GREETING', value: 'hello $(NAME) $(LATER)' }, { name: 'LATER', value: 'x' }],
    });
    // THEN
    const main = containerOf(result, 'main');
    expect(main.stdout).toBe('hello world $(LATER)|$(GREETING)|$(UNDEFINED)|a$b|');
    expect(main.processes.filter(p => !p.runner)[0].argv).toEqual(['/bin/sh', '-c', 'printf "%s|" "$@"', 'argv0',
      'hello world $(LATER)', '$(GREETING)', '$(UNDEFINED)', 'a$b']);
  });
});

describe('images', () => {
  test('the curl image runs busybox sh and applets, with curl from Debian', async () => {
    const result = await runScript('readlink /bin/sh; readlink "$(command -v tar)"; readlink "$(command -v sha256sum)"; command -v curl; curl --version | head -n 1');
    const lines = containerOf(result, 'main').stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['/bin/busybox', '/bin/busybox', '/bin/busybox']);
    expect(lines[3]).toBe('/usr/bin/curl');
    expect(lines[4]).toMatch(/^curl \d/);
  });

  test('an unknown image fails with its name instead of running something else', async () => {
    await expect(env.runner.run([job({ containers: [{ name: 'x', image: 'docker.io/library/alpine:3', command: ['true'] }] })]))
      .rejects.toThrow(/no local stand-in for image docker.io\/library\/alpine:3/);
  });
});

describe('security context', () => {
  test('runAsUser, runAsGroup and fsGroup set the process ids; drop ALL leaves no capabilities', async () => {
    const result = await runScript('id -u; id -g; id -G; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status', {
      securityContext: { runAsUser: 65532, runAsGroup: 1234, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }, { securityContext: { fsGroup: 4321 } });
    const out = containerOf(result, 'main').stdout;
    expect(out).toMatch(/^65532\n1234\n1234 4321\n/);
    expect(out).toMatch(/CapEff:\s+0{16}/);
    expect(out).toMatch(/CapBnd:\s+0{16}/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
  });

  test('runAsNonRoot refuses a root user like the kubelet', async () => {
    await expect(runScript('true', { securityContext: { runAsUser: 0, runAsNonRoot: true } }))
      .rejects.toThrow(/container has runAsNonRoot and image will run as root/);
  });

  test('readOnlyRootFilesystem makes / read-only while volumes stay writable', async () => {
    const result = await runScript('touch /should-fail 2>&1 || echo refused; touch /scratch/ok && echo written', {
      securityContext: { readOnlyRootFilesystem: true, runAsUser: 65532 },
      volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
    }, { volumes: [{ name: 'scratch', emptyDir: {} }] });
    expect(containerOf(result, 'main').stdout).toMatch(/Read-only file system\nrefused\nwritten\n$/);
  });
});

describe('volumes', () => {
  test('emptyDirs are shared between init and main containers; medium Memory is a tmpfs', async () => {
    const spec = {
      securityContext: { fsGroup: 65532 },
      initContainers: [sh('writer', 'echo from-init > /mem/file; echo from-init > /disk/file; stat -c "%a %g" /mem /disk', {
        securityContext: { runAsUser: 1000 },
        volumeMounts: [{ name: 'mem', mountPath: '/mem' }, { name: 'disk', mountPath: '/disk' }],
      })],
      containers: [sh('reader', 'cat /mem/file /disk/file; grep " /mem " /proc/mounts | cut -d " " -f 3', {
        securityContext: { runAsUser: 2000 },
        volumeMounts: [{ name: 'mem', mountPath: '/mem', readOnly: true }, { name: 'disk', mountPath: '/disk' }],
      })],
      volumes: [{ name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }, { name: 'disk', emptyDir: {} }],
    };
    const result = await env.runner.run([job(spec)]);
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(containerOf(result, 'writer').stdout).toBe('3777 65532\n2777 65532\n');
    expect(containerOf(result, 'reader').stdout).toBe('from-init\nfrom-init\ntmpfs\n');
  });

  test('a readOnly mount refuses writes', async () => {
    const result = await runScript('echo x > /data/file', {
      volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
    }, { volumes: [{ name: 'data', emptyDir: {} }] });
    expect(containerOf(result, 'main').exitCode).not.toBe(0);
    expect(containerOf(result, 'main').stderr).toMatch(/Read-only file system/);
  });

  test('Secret volumes honour items, keys, defaultMode and fsGroup; env reads secretKeyRef and configMapKeyRef', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: Buffer.from('A').toString('base64'), b: Buffer.from('B').toString('base64') } };
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'from-config-map' } };
    const result = await runScript('ls -A /s; stat -L -c "%a %U %G" /s/dir/file.json; cat /s/dir/file.json; echo; echo "$S $C"; echo x > /s/new', {
      securityContext: { runAsUser: 65532 },
      env: [
        { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'a' } } },
        { name: 'C', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
      ],
      volumeMounts: [{ name: 'secret', mountPath: '/s' }],
    }, {
      securityContext: { fsGroup: 65532 },
      volumes: [{ name: 'secret', secret: { secretName: 's', items: [{ key: 'b', path: 'dir/file.json' }], defaultMode: 0o400 } }],
    }, [secret, configMap]);
    const main = containerOf(result, 'main');
    const [listing, ...rest] = main.stdout.split('\n..data\ndir\n');
    expect(listing).toMatch(/^\.\.\d{4}_/);
    expect(rest.join('')).toBe('440 root nonroot\nB\nA from-config-map\n');
    expect(main.stderr).toMatch(/Read-only file system/);
  });

  test('a missing Secret key fails like the kubelet', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: {} };
    await expect(runScript('true', { env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'missing' } } }] }, {}, [secret]))
      .rejects.toThrow(/couldn't find key missing in Secret s/);
  });
});

describe('termination and failure', () => {
  test('the termination message is captured (its last 4096 bytes), with the exit code; later init containers do not run', async () => {
    const spec = {
      initContainers: [
        sh('first', 'printf "%05000d" 0 > /dev/termination-log; echo end >> /dev/termination-log; exit 3'),
        sh('second', 'echo never'),
      ],
      containers: [sh('main', 'echo never')],
    };
    const result = await env.runner.run([job(spec)]);
    expect(result.phase).toBe('Failed');
    expect(result.containers.map(c => c.name)).toEqual(['first']);
    const first = containerOf(result, 'first');
    expect(first.exitCode).toBe(3);
    expect(first.terminationMessage).toHaveLength(4096);
    expect(first.terminationMessage.endsWith('0end\n')).toBe(true);
  });

  test('FallbackToLogsOnError: the kubelet rules for when the log replaces the file, and how much of it', () => {
    const log = Buffer.from(Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
    const fallback = terminationMessage(Buffer.alloc(0), 'FallbackToLogsOnError', 1, log);
    // the last 80 lines (20 to 99), all within 2048 bytes
    expect(fallback.split('\n').slice(0, 2)).toEqual(['line 20', 'line 21']);
    expect(fallback.endsWith('line 99\n')).toBe(true);
    expect(terminationMessage(Buffer.alloc(0), 'FallbackToLogsOnError', 1, Buffer.from('a\nno newline'))).toBe('a\nno newline');
    const long = Buffer.from(`${'x'.repeat(3000)}\nend\n`);
    expect(terminationMessage(Buffer.alloc(0), 'FallbackToLogsOnError', 1, long)).toBe(long.subarray(long.length - 2048).toString());
    // a written message wins; a success and the File policy never read the log
    expect(terminationMessage(Buffer.from('error: own\n'), 'FallbackToLogsOnError', 1, log)).toBe('error: own\n');
    expect(terminationMessage(Buffer.alloc(0), 'FallbackToLogsOnError', 0, log)).toBe('');
    expect(terminationMessage(Buffer.alloc(0), 'File', 1, log)).toBe('');
    expect(terminationMessage(Buffer.alloc(0), undefined, 1, log)).toBe('');
  });

  test('FallbackToLogsOnError reaches the run: a failed container without a message reports its log, stdout and stderr in order', async () => {
    const failed = await runScript('echo out; sleep 0.2; echo err >&2; exit 2', { terminationMessagePolicy: 'FallbackToLogsOnError' });
    expect(failed.phase).toBe('Failed');
    expect(containerOf(failed, 'main').terminationMessage).toBe('out\nerr\n');
    const succeeded = await runScript('echo out', { terminationMessagePolicy: 'FallbackToLogsOnError' });
    expect(containerOf(succeeded, 'main').terminationMessage).toBe('');
    await expect(runScript('true', { terminationMessagePolicy: 'Logs' })).rejects.toThrow(/runner does not support terminationMessagePolicy Logs \(container main\)/);
  });

  test('every process is recorded, including short-lived ones', async () => {
    const result = await runScript('for i in 1 2 3; do true "$i"; /bin/echo "run-$i" >/dev/null; done');
    const argv = containerOf(result, 'main').processes.filter(p => !p.runner).map(p => p.argv.join(' '));
    expect(argv).toEqual(['/bin/sh -c for i in 1 2 3; do true "$i"; /bin/echo "run-$i" >/dev/null; done', '/bin/echo run-1', '/bin/echo run-2', '/bin/echo run-3']);
  });

  test('the leak check catches a secret in an argv, a log or a termination message', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'hunter2 x' } };
    const run = (script: string) => runScript(script, { env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } }] }, {}, [secret]);
    const clean = await run('printf %s "$P" | base64 >/dev/null');
    expectNoSecretLeak(clean, ['hunter2 x']);
    for (const leaky of ['/bin/echo "$P" >/dev/null', 'printf "%s" "$P" >&2', 'printf "user:%s" "$P" | base64 > /dev/termination-log']) {
      const result = await run(leaky);
      expect(() => expectNoSecretLeak(result, ['hunter2 x'], 'user'), leaky).toThrow(/exposes a secret/);
    }
  });

  test('a Debian-mapped image sees the pod, not the host: its own pid namespace and root', async () => {
    // `$$$$` is what a literal `$$` looks like after the kubelet's expansion.
    const result = await env.runner.run([job({ containers: [{ name: 'main', image: SKOPEO_IMAGE, command: ['/bin/sh', '-c', 'echo $$$$; ls /; skopeo --version'] }] })]);
    const out = containerOf(result, 'main').stdout;
    expect(out).toMatch(/^1\n/);
    expect(out).not.toMatch(/\bwork\b|\bhome\b/);
    expect(out).toMatch(/skopeo version 1\./);
  });
});
