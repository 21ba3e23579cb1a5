import { readFileSync } from 'fs';
import { join } from 'path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateObjects } from './util';
import { EXAMPLES, synthExample } from '../examples/synth';

describe('examples', () => {
  test.each(Object.keys(EXAMPLES))('%s synthesizes valid objects and matches its committed YAML', (name) => {
    // WHEN
    const yaml = synthExample(name);
    // THEN
    validateObjects(parseAllDocuments(yaml).map(doc => doc.toJS()));
    const committed = readFileSync(join(__dirname, '..', 'examples', 'dist', `${name}.k8s.yaml`), 'utf8');
    expect(yaml, `examples/dist/${name}.k8s.yaml is stale: run npx projen synth:examples`).toBe(committed);
  });

  test('the seed-000 example builds with kaniko and promotes to Harbor by digest', () => {
    const job = parseAllDocuments(synthExample('build-from-context')).map(d => d.toJS()).find(o => o.kind === 'Job');
    const spec = job.spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['compose-promotion-auth', 'fetch-context', 'build']);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['promote']);
  });

  test('same input, byte-identical YAML', () => {
    for (const name of Object.keys(EXAMPLES)) {
      expect(synthExample(name)).toBe(synthExample(name));
    }
  });
});
