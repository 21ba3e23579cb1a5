import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ImageTag } from '../src';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const WHEN = new Date(Date.UTC(2026, 10, 23, 7, 5, 9));
const CI_VARIABLES = ['GITHUB_SHA', 'CI_COMMIT_SHA', 'PULL_PULL_SHA', 'PULL_BASE_SHA', 'GIT_COMMIT', 'BUILD_SOURCEVERSION',
  'PULL_NUMBER', 'CI_MERGE_REQUEST_IID', 'CHANGE_ID', 'GITHUB_REF', 'SOURCE_DATE_EPOCH'];

/** A fresh git repository with one commit. */
function gitRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tag-git-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q');
  writeFileSync(join(dir, 'f'), 'x');
  git('add', 'f');
  git('commit', '-q', '-m', 'c');
  return dir;
}

describe('ImageTag', () => {
  // tests control the CI variables themselves, whatever CI runs them
  let saved: { [name: string]: string | undefined };
  beforeEach(() => {
    saved = Object.fromEntries(CI_VARIABLES.map(name => [name, process.env[name]]));
    CI_VARIABLES.forEach(name => delete process.env[name]);
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]; else process.env[name] = value;
    }
  });

  test('renders every field from explicit values', () => {
    const tag = ImageTag.fromTemplate('{{date}}.{{time}}-{{shortSha}}-{{commitSha}}-pr{{prNumber}}-{{env:STAGE}}', {
      commitSha: SHA, prNumber: '42', timestamp: WHEN, env: { STAGE: 'rc1' },
    });
    expect(tag.value).toBe(`20261123.070509-0123456-${SHA}-pr42-rc1`);
    expect(`${tag}`).toBe(tag.value);
    expect(tag.commitSha).toBe(SHA);
  });

  test('Kyma defaults: PR-{{prNumber}} and v{{date}}-{{shortSha}}', () => {
    expect(ImageTag.PULL_REQUEST_TEMPLATE).toBe('PR-{{prNumber}}');
    expect(ImageTag.PUSH_TEMPLATE).toBe('v{{date}}-{{shortSha}}');
    expect(ImageTag.pullRequest({ prNumber: '123' }).value).toBe('PR-123');
    expect(ImageTag.push({ commitSha: SHA, timestamp: WHEN }).value).toBe('v20261123-0123456');
  });

  test('shortShaLength sets how much of the commit {{shortSha}} keeps', () => {
    expect(ImageTag.push({ commitSha: SHA, timestamp: WHEN, shortShaLength: 8 }).value).toBe('v20261123-01234567');
    expect(ImageTag.fromTemplate('{{shortSha}}', { commitSha: SHA, shortShaLength: 12 }).value).toBe(SHA.slice(0, 12));
  });

  test('fails when shortShaLength is not a whole number from 4 to 40', () => {
    expect(() => ImageTag.push({ commitSha: SHA, timestamp: WHEN, shortShaLength: 3 }))
      .toThrow(/^ImageTagValues.shortShaLength: got 3; expected a whole number from 4 to 40$/);
    expect(() => ImageTag.push({ commitSha: SHA, timestamp: WHEN, shortShaLength: 7.5 })).toThrow(/shortShaLength: got 7.5/);
  });

  test('a template without the commit still reports the commit when one is known, and none otherwise', () => {
    const noGit = mkdtempSync(join(tmpdir(), 'no-git-'));
    // nothing known: no commit, no failure
    expect(ImageTag.fromTemplate('release-{{date}}', { timestamp: WHEN, gitDirectory: noGit }).commitSha).toBeUndefined();
    expect(ImageTag.fromTemplate('1.4.0', { gitDirectory: noGit }).value).toBe('1.4.0');
    // explicit
    expect(ImageTag.pullRequest({ prNumber: '7', commitSha: SHA, gitDirectory: noGit }).commitSha).toBe(SHA);
    // Prow's pull-request head, as README's seed-002 snippet relies on
    process.env.PULL_NUMBER = '7';
    process.env.PULL_PULL_SHA = SHA;
    const tag = ImageTag.pullRequest({ gitDirectory: noGit });
    expect(tag.value).toBe('PR-7');
    expect(tag.commitSha).toBe(SHA);
    // a malformed looked-up commit the template does not use is left out, not fatal
    process.env.PULL_PULL_SHA = 'main';
    expect(ImageTag.pullRequest({ gitDirectory: noGit }).commitSha).toBeUndefined();
  });

  test('a template without the commit reports git HEAD when no CI variable has it', () => {
    const dir = gitRepository();
    expect(ImageTag.pullRequest({ prNumber: '3', gitDirectory: dir }).commitSha).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim());
  });

  test('{{date}} and {{time}} describe one instant, read once per template', () => {
    // GIVEN: a clock that moves past midnight between two reads
    const RealDate = Date;
    const instants = [Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1, 0, 0, 0, 0)];
    let reads = 0;
    vi.stubGlobal('Date', class extends RealDate {
      constructor(...args: any[]) {
        if (args.length === 0) {
          super(instants[Math.min(reads++, instants.length - 1)]);
        } else {
          super(...(args as [number]));
        }
      }
    });
    try {
      // WHEN
      const tag = ImageTag.fromTemplate('{{date}}-{{time}}-{{date}}');

      // THEN
      expect(tag.value).toBe('20261231-235959-20261231');
      expect(reads).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  test('values come from CI variables when not given', () => {
    process.env.CI_COMMIT_SHA = SHA;
    process.env.GITHUB_REF = 'refs/pull/77/merge';
    process.env.SOURCE_DATE_EPOCH = String(WHEN.getTime() / 1000);
    expect(ImageTag.fromTemplate('{{shortSha}}-{{prNumber}}-{{date}}').value).toBe('0123456-77-20261123');
  });

  test('explicit values win over CI variables', () => {
    process.env.GITHUB_SHA = 'f'.repeat(40);
    process.env.PULL_NUMBER = '1';
    expect(ImageTag.fromTemplate('{{shortSha}}-{{prNumber}}', { commitSha: SHA, prNumber: '2' }).value).toBe('0123456-2');
  });

  test('the commit comes from git when neither values nor CI have it', () => {
    // GIVEN a real repository with one commit
    const dir = gitRepository();
    // THEN
    expect(ImageTag.fromTemplate('{{commitSha}}', { gitDirectory: dir }).value).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim());
  });

  describe('fails when', () => {
    test('a field has no value, naming the field', () => {
      expect(() => ImageTag.fromTemplate('PR-{{prNumber}}')).toThrow(/^ImageTag.fromTemplate template: got "PR-\{\{prNumber\}\}"; needs \{\{prNumber\}\}, which has no value: give values.prNumber/);
      expect(() => ImageTag.fromTemplate('{{shortSha}}', { gitDirectory: mkdtempSync(join(tmpdir(), 'no-git-')) })).toThrow(/needs \{\{commitSha\}\}, which has no value/);
      expect(() => ImageTag.fromTemplate('{{env:NOPE_NOT_SET}}', { env: {} })).toThrow(/needs \{\{env:NOPE_NOT_SET\}\}, which has no value: set NOPE_NOT_SET/);
    });

    test('a field is unknown', () => {
      expect(() => ImageTag.fromTemplate('{{branch}}')).toThrow(/has unknown field \{\{branch\}\}; expected commitSha, shortSha, prNumber, date, time or env:NAME$/);
    });

    test('the rendered tag is invalid', () => {
      expect(() => ImageTag.fromTemplate('{{env:REF}}', { env: { REF: 'feature/x' } })).toThrow(/rendered "feature\/x", which is not a tag/);
      expect(() => ImageTag.fromTemplate('-{{shortSha}}', { commitSha: SHA })).toThrow(/rendered "-0123456"/);
    });

    test('braces are left over', () => {
      expect(() => ImageTag.fromTemplate('v{{date')).toThrow(/expected fields written as \{\{commitSha\}\}/);
    });

    test('the commit or PR number is malformed', () => {
      expect(() => ImageTag.fromTemplate('{{shortSha}}', { commitSha: 'main' })).toThrow(/^ImageTag.fromTemplate commitSha: got "main"/);
      // an explicit commit is checked even when the template does not use it
      expect(() => ImageTag.pullRequest({ prNumber: '1', commitSha: 'main' })).toThrow(/^ImageTag.fromTemplate commitSha: got "main"; expected a full commit SHA/);
      expect(() => ImageTag.fromTemplate('PR-{{prNumber}}', { prNumber: '12a' })).toThrow(/^ImageTag.fromTemplate prNumber: got "12a"; expected a whole number$/);
    });
  });
});
