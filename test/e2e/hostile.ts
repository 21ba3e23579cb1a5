/**
 * Hostile input for the property-based e2e test: arbitraries that put shell metacharacters, quotes, newlines,
 * `$(…)`, backticks, unicode and very long strings into every string prop of each construct, and a harness that
 * executes the synthesized containers' scripts for real on the host, fast.
 *
 * The harness runs every container of the pod in order, like the runner but without namespaces: its
 * `command`/`args` with the environment of the YAML (kubelet `$(VAR)` expansion included), each volume's mount
 * path mapped to a directory of a scratch pod dir, as uid 65532 in that dir. Network targets are a closed
 * 127.0.0.1 port, so curl and skopeo fail at once; DOWNLOAD_RETRIES=0 and RETRY_TIMES=0 are added to every
 * container (the scripts' own knobs) so failures are not retried. `/kaniko/executor` and
 * `buildctl-daemonless.sh` are the e2e stand-ins. The payloads create a file named CANARY in the working
 * directory; after the run none may exist anywhere under the pod dir.
 */
import { spawn } from 'child_process';
import { chownSync, mkdirSync, readdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as fc from 'fast-check';
import { expand } from './kubelet';

/** Commands that create CANARY when the text around them is executed by a shell. */
export const PAYLOADS = [
  '$(touch CANARY)', '`touch CANARY`', ';touch CANARY', '; touch CANARY #', '&&touch CANARY', '|touch CANARY', '||touch CANARY',
  '\ntouch CANARY\n', '\r\ntouch CANARY', "'$(touch CANARY)'", '"$(touch CANARY)"', "';touch CANARY;'", '";touch CANARY;"',
  '${IFS}$(touch${IFS}CANARY)', '$(touch${IFS}CANARY)', '$((1))$(touch CANARY)', '\\$(touch CANARY)', '$$(touch CANARY)',
  '>CANARY', '< /dev/null >CANARY', '&touch CANARY&', '$(touch CANARY)\u0000', '\u202e$(touch CANARY)', '😀`touch CANARY`',
  // without white space, so that they pass validators that only refuse spaces (URLs)
  '`touch${IFS}CANARY`', ';touch${IFS}CANARY', '|touch${IFS}CANARY', '&&touch${IFS}CANARY', "'$(touch${IFS}CANARY)'", '">CANARY"', '$(>CANARY)',
];

/** A string built around a payload: random text (unicode included), the payload, random text; sometimes very long. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...PAYLOADS), fc.string({ unit: 'grapheme', maxLength: 8 })).map(p => p.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PAYLOADS), fc.integer({ min: 300, max: 5000 })).map(([p, n]) => `${'a'.repeat(n)}${p}`) },
);

/** A hostile variant of `valid`: a payload appended, inserted at one of `places`, or hostile text instead. */
export function hostile(valid: string, places: ((payload: string) => string)[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(hostileText, fc.nat()).map(([h, i]) => [(p: string) => `${valid}${p}`, ...places][i % (places.length + 1)](h)) },
    { weight: 1, arbitrary: hostileText },
  );
}

/**
 * Props that are `valid` except for one or two fields, picked at random, which take their hostile variant: so
 * that every field is attacked often while the others stay valid, and both outcomes are common.
 */
export function mixed<T extends object>(valid: T, variants: { [K in keyof T]?: fc.Arbitrary<T[K]> }): fc.Arbitrary<T & { hostile: string[] }> {
  const keys = Object.keys(variants) as (keyof T & string)[];
  return fc.record({ values: fc.record(variants as any), picked: fc.subarray(keys, { minLength: 1, maxLength: 2 }) })
    .map(({ values, picked }) => ({ ...valid, ...Object.fromEntries(picked.map(k => [k, (values as any)[k]])), hostile: picked }));
}

/** The outcome of synthesizing hostile props. */
export type Outcome = { rejected: string } | { objects: any[] };

/** Synthesizes, catching the constructor's error (which the property then checks). */
export function outcomeOf(synth: () => any[]): Outcome {
  try {
    return { objects: synth() };
  } catch (e) {
    return { rejected: (e as Error).message };
  }
}

/** The library's one-line validation error: `prop: got <json>; <what is allowed>`. */
export const ONE_LINE_ERROR = /^[^\n\r]+: got [^\n\r]*; [^\n\r]+$/;

/** Fixture content for the volumes a scripted pod mounts. */
function volumeFiles(volume: any): { [path: string]: string } {
  if (volume.configMap) {
    return { 'Dockerfile': 'FROM scratch\nCOPY app.txt /\n', 'app.txt': 'x\n' };
  }
  if (volume.secret) {
    return Object.fromEntries((volume.secret.items ?? [{ path: 'config.json' }]).map((i: any) => [i.path, '{"auths":{}}']));
  }
  if (volume.csi) {
    return volume.csi.volumeAttributes['configuration.names'] === 'buildkitd'
      ? { 'buildkitd.toml': '[registry."127.0.0.1"]\n  http = true\n' }
      : { 'config.json': '{"auths":{}}' };
  }
  return {};
}

/** Where the e2e stand-ins and their flag lists live for the host-level harness. */
export interface StandIns {
  readonly kanikoExecutor: string;
  readonly kanikoFlags: string;
  readonly buildctlBin: string;
  readonly buildctlFlags: string;
}

/** What one container of a scripted pod did. */
export interface ScriptedContainer {
  readonly name: string;
  readonly exitCode: number | null;
  readonly stderr: string;
}

/**
 * Runs the containers of the only Job in `objects` on the host as described above, in `podDir`; resolves what
 * each did.
 */
export async function runScripted(objects: any[], podDir: string, standIns: StandIns): Promise<ScriptedContainer[]> {
  const spec = objects.find(o => o.kind === 'Job').spec.template.spec;
  mkdirSync(podDir, { recursive: true });
  chownSync(podDir, 65532, 65532);
  const hostPaths = new Map<string, string>();
  for (const volume of spec.volumes ?? []) {
    const dir = join(podDir, 'volumes', volume.name);
    mkdirSync(dir, { recursive: true });
    for (const [path, content] of Object.entries(volumeFiles(volume))) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    chownSync(dir, 65532, 65532);
    hostPaths.set(volume.name, dir);
  }
  const results: ScriptedContainer[] = [];
  const run = async (c: any) => {
    // every mount path in env values and args points into the pod dir (longest first)
    const mounts = (c.volumeMounts ?? []).map((m: any) => [m.mountPath, hostPaths.get(m.name)!] as [string, string])
      .sort((a: [string, string], b: [string, string]) => b[0].length - a[0].length);
    const remap = (value: string) => {
      for (const [path, host] of mounts) {
        if (value === path) {
          return host;
        }
        if (value.includes(`${path}/`)) {
          return value.split(`${path}/`).join(`${host}/`);
        }
      }
      return value;
    };
    const defined = new Map<string, string>();
    for (const e of c.env ?? []) {
      defined.set(e.name, e.value !== undefined ? remap(expand(e.value, defined)) : e.valueFrom.secretKeyRef ? 'e2e-secret-value' : 'pod');
    }
    const env: { [k: string]: string } = {
      PATH: `${standIns.buildctlBin}:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: podDir,
      ...Object.fromEntries(defined),
      DOWNLOAD_RETRIES: '0',
      RETRY_TIMES: '0',
      TERMINATION_LOG: join(podDir, `termination-${c.name}`),
      KANIKO_EXECUTOR: standIns.kanikoExecutor,
      KANIKO_STAND_IN_FLAGS: standIns.kanikoFlags,
      BUILDCTL_STAND_IN_FLAGS: standIns.buildctlFlags,
    };
    let argv: string[] = [...c.command, ...(c.args ?? [])].map(a => remap(expand(a, defined)));
    if (argv[0] === '/kaniko/executor') {
      argv = [standIns.kanikoExecutor, ...argv.slice(1)];
    } else if (argv[0] === '/bin/sh') {
      argv = ['/bin/sh', ...argv.slice(1)];
    }
    const child = spawn(argv[0], argv.slice(1), { cwd: podDir, env, uid: 65532, gid: 65532, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
    const stderr: Buffer[] = [];
    child.stderr!.on('data', d => stderr.push(d));
    const exitCode = await new Promise<number | null>((ok, fail) => {
      child.once('error', fail);
      child.once('close', code => ok(code));
    });
    return { name: c.name, exitCode, stderr: Buffer.concat(stderr).toString() };
  };
  // unlike a kubelet, every container runs even after a failed init container (whose download hit the closed
  // port): each script must meet its hostile environment, not only the first one
  for (const c of spec.initContainers ?? []) {
    results.push(await run(c));
  }
  results.push(...await Promise.all(spec.containers.map(run)));
  return results;
}

/** Every path under `dir` whose name contains CANARY. */
export function canaries(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name.includes('CANARY')) {
      found.push(path);
    }
    if (entry.isDirectory()) {
      found.push(...canaries(path));
    }
  }
  return found;
}

/** Runs `task` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  }));
  return results;
}
