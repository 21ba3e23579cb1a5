import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative, resolve } from 'path';
import * as ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import * as library from '../src';
import { validateObjects } from './util';

const ROOT = resolve(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const REPOSITORY = 'https://github.com/cdk8s-image-jobs/cdk8s-image-jobs';

/** Every ```ts block of the README, in order. */
const SNIPPETS = [...README.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(m => m[1]);

/**
 * A snippet as a module: complete programs (with imports) as pasted; the others continue the first one, so they
 * get its `app` and `chart`, every export of the library and of cdk8s they may name, and `app.synth()`.
 */
function program(snippet: string): string {
  const source = /^import /m.test(snippet) ? snippet : [
    'import { ApiObject, App, Chart, Duration, JsonPatch, Size } from \'cdk8s\';',
    `import { ${Object.keys(library).sort().join(', ')} } from 'cdk8s-image-jobs';`,
    'const app = new App();',
    'const chart = new Chart(app, \'images\', { namespace: \'image-builds\' });',
    snippet,
    'app.synth();',
  ].join('\n');
  return source.replace(/from 'cdk8s-image-jobs'/g, `from '${relative(SNIPPET_DIR, join(ROOT, 'src')).replace(/\\/g, '/')}'`);
}

// inside the checkout, so the snippets resolve cdk8s from its node_modules; test-reports/ is ignored by git
const SNIPPET_DIR = join(ROOT, 'test-reports', 'readme-snippets');
const files = SNIPPETS.map((_, i) => join(SNIPPET_DIR, `snippet-${i + 1}.ts`));

describe('README', () => {
  beforeAll(() => {
    rmSync(SNIPPET_DIR, { recursive: true, force: true });
    mkdirSync(SNIPPET_DIR, { recursive: true });
    SNIPPETS.forEach((snippet, i) => writeFileSync(files[i], program(snippet)));
  });

  test('has a TypeScript snippet for every construct, the first one complete', () => {
    for (const construct of ['KanikoBuildJob', 'BuildahBuildJob', 'KanikoBuildBatch', 'SkopeoPromoteJob', 'TarPushJob', 'UnifiedImageJob', 'OciConnectorBuildJob']) {
      expect(SNIPPETS.some(s => s.includes(`new ${construct}(`)), construct).toBe(true);
    }
    expect(SNIPPETS[0]).toMatch(/^import .* from 'cdk8s-image-jobs';$/m);
  });

  test('every snippet type-checks (strict, as a cdk8s init app compiles)', () => {
    const options: ts.CompilerOptions = {
      strict: true,
      noImplicitReturns: true,
      noFallthroughCasesInSwitch: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      types: ['node'],
      experimentalDecorators: true,
    };
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram(files, options))
      .filter(d => d.file === undefined || d.file.fileName.startsWith(SNIPPET_DIR))
      .map(d => ts.formatDiagnostic(d, { getCanonicalFileName: f => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }));
    expect(diagnostics).toEqual([]);
  }, 60_000);

  describe('every snippet synthesizes valid objects', () => {
    const cwd = process.cwd();
    const environment = { ...process.env };
    let workspace: string;
    beforeAll(() => {
      // the relative directories the snippets read, and a commit for ImageTag.push() outside a git checkout
      workspace = mkdtempSync(join(tmpdir(), 'readme-'));
      // a monorepo as the batch snippet describes it: kaniko's lower-case `dockerfile`, a context whose Dockerfile
      // the overrides name, and a directory of docs the snippet skips
      for (const file of ['Docker/ObjToObjScaleOffsetContext/Dockerfile', 'Docker/Py3DTilers/dockerfile', 'Docker/Legacy/build/Dockerfile.old', 'images/ginkgo/Dockerfile']) {
        mkdirSync(join(workspace, dirname(file)), { recursive: true });
        writeFileSync(join(workspace, file), 'FROM alpine:3.20\n');
      }
      mkdirSync(join(workspace, 'Docker/docs'));
      writeFileSync(join(workspace, 'Docker/docs/README.md'), '# contexts\n');
      process.env.GITHUB_SHA = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
      delete process.env.PULL_NUMBER;
      process.chdir(workspace);
    });
    afterAll(() => {
      process.chdir(cwd);
      process.env = environment;
      rmSync(workspace, { recursive: true, force: true });
    });

    test.each(SNIPPETS.map((_, i) => i + 1))('snippet %i', async (n) => {
      const outdir = join(workspace, `dist-${n}`);
      process.env.CDK8S_OUTDIR = outdir;
      await import(files[n - 1]);
      const objects = readdirSync(outdir).flatMap(f => parseAllDocuments(readFileSync(join(outdir, f), 'utf8')).map(d => d.toJS()));
      // every snippet renders a Job, or a Job embedded in an Argo Rollouts analysis template
      expect(objects.filter(o => o.kind === 'Job' || /AnalysisTemplate$/.test(o.kind)).length).toBeGreaterThan(0);
      validateObjects(objects);
    });
  });

  test('every relative link names a file the npm tarball contains', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const shipped = new Set<string>(packed[0].files.map((f: { path: string }) => f.path));
    const relativeLinks = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1])
      .filter(link => !/^(https?:|mailto:|#)/.test(link))
      .map(link => link.replace(/#.*$/, '').replace(/^\.\//, ''));
    expect(relativeLinks.length).toBeGreaterThan(0);
    expect(relativeLinks.filter(link => !shipped.has(link))).toEqual([]);
  });

  test('every link into the repository names a file or directory of this checkout', () => {
    const links = [...README.matchAll(new RegExp(`\\]\\(${REPOSITORY}/(?:blob|tree)/main/([^)#\\s]+)`, 'g'))].map(m => m[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter(path => !existsSync(join(ROOT, path)))).toEqual([]);
  });
});
