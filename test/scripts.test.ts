import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { synthExample, EXAMPLES } from '../examples/synth';
import * as scripts from '../src/_scripts';

const SCRIPTS: { [name: string]: string } = { ...scripts };
const { COMPOSE_AUTH_SCRIPT, FETCH_CONTEXT_SCRIPT, PROMOTE_SCRIPT } = scripts;

describe('container scripts', () => {
  test.each(Object.keys(SCRIPTS))('%s passes shellcheck as POSIX sh', (name) => {
    // shellcheck is a test dependency (.ci/run installs it): a missing binary fails the test instead of skipping it.
    const result = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '-'], { input: SCRIPTS[name], encoding: 'utf8' });
    expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('every script in every example is one of the constant scripts: values never reach shell text', () => {
    const known = new Set(Object.values(SCRIPTS));
    let seen = 0;
    for (const name of Object.keys(EXAMPLES)) {
      for (const doc of parseAllDocuments(synthExample(name))) {
        const object = doc.toJS();
        const spec = object.spec?.template?.spec;
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
          if (c.command?.[0] === '/bin/sh') {
            expect(c.command).toHaveLength(3);
            expect(known.has(c.command[2]), `${name}/${c.name}`).toBe(true);
            seen++;
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  test('the compose script writes a 0600 config.json and never prints the password', () => {
    // GIVEN
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const password = 'pa$$ w0rd "quoted" \\ back';
    // WHEN
    const result = spawnSync('sh', ['-c', COMPOSE_AUTH_SCRIPT], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AUTH_FILE: join(dir, 'config.json'),
        AUTH_REGISTRIES: 'harbor.example.com registry.internal:5000',
        HARBOR_USERNAME: 'robot$ci',
        HARBOR_PASSWORD: password,
        TERMINATION_LOG: join(dir, 'termination-log'),
      },
    });
    // THEN
    expect(result.status).toBe(0);
    const file = join(dir, 'config.json');
    expect(statSync(file).mode.toString(8)).toMatch(/600$/);
    const config = JSON.parse(readFileSync(file, 'utf8'));
    const token = Buffer.from(`robot$ci:${password}`).toString('base64');
    expect(config).toEqual({ auths: { 'harbor.example.com': { auth: token }, 'registry.internal:5000': { auth: token } } });
    expect(result.stdout + result.stderr).not.toContain(password);
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  test('the compose script names the missing variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const result = spawnSync('sh', ['-c', COMPOSE_AUTH_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, AUTH_FILE: join(dir, 'c.json'), AUTH_REGISTRIES: 'r.io', TERMINATION_LOG: join(dir, 'termination-log') },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing required environment variable(s): HARBOR_USERNAME HARBOR_PASSWORD');
    expect(readFileSync(join(dir, 'termination-log'), 'utf8')).toContain('HARBOR_USERNAME HARBOR_PASSWORD');
  });

  test('the promote script refuses a malformed flag before calling skopeo', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promote-'));
    const result = spawnSync('sh', ['-c', PROMOTE_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TMPDIR: dir, TERMINATION_LOG: join(dir, 'termination-log'), SOURCE_IMAGE: 'r.io/a:1', PRESERVE_DIGESTS: 'yes' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("PRESERVE_DIGESTS must be true or false, got 'yes'");
  });

  test('the fetch script refuses plain http unless allowed, before any download', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-'));
    const result = spawnSync('sh', ['-c', FETCH_CONTEXT_SCRIPT], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        TERMINATION_LOG: join(dir, 'termination-log'),
        BUILD_CONTEXT_URL: 'http://127.0.0.1:9/ctx.tar.gz?token=hidden',
        CONTEXT_DIR: join(dir, 'context'),
        DOCKERFILE_PATH: 'Dockerfile',
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('refusing plain-http download of http://127.0.0.1:9/ctx.tar.gz; set ALLOW_INSECURE_HTTP=true');
    expect(result.stderr).not.toContain('token=hidden');
  });
});

