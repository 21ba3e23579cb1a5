import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ImageTag } from '../src';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const WHEN = new Date(Date.UTC(2026, 10, 23, 7, 5, 9));
const CI_VARIABLES = ['GITHUB_SHA', 'CI_COMMIT_SHA', 'PULL_PULL_SHA', 'PULL_BASE_SHA', 'GIT_COMMIT', 'BUILD_SOURCEVERSION',
  'PULL_NUMBER', 'CI_MERGE_REQUEST_IID', 'CHANGE_ID', 'GITHUB_REF', 'SOURCE_DATE_EPOCH'];

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
    expect(tag.value).toBe(`20261123.070509-01234567-${SHA}-pr42-rc1`);
    expect(`${tag}`).toBe(tag.value);
    expect(tag.commitSha).toBe(SHA);
  });

  test('Kyma defaults: PR-{{prNumber}} and v{{date}}-{{shortSha}}', () => {
    expect(ImageTag.PULL_REQUEST_TEMPLATE).toBe('PR-{{prNumber}}');
    expect(ImageTag.PUSH_TEMPLATE).toBe('v{{date}}-{{shortSha}}');
    expect(ImageTag.pullRequest({ prNumber: '123' }).value).toBe('PR-123');
    expect(ImageTag.push({ commitSha: SHA, timestamp: WHEN }).value).toBe('v20261123-01234567');
  });

  test('a template without the commit reports no commit', () => {
    expect(ImageTag.fromTemplate('release-{{date}}', { timestamp: WHEN }).commitSha).toBeUndefined();
    expect(ImageTag.fromTemplate('1.4.0').value).toBe('1.4.0');
  });

  test('values come from CI variables when not given', () => {
    process.env.CI_COMMIT_SHA = SHA;
    process.env.GITHUB_REF = 'refs/pull/77/merge';
    process.env.SOURCE_DATE_EPOCH = String(WHEN.getTime() / 1000);
    expect(ImageTag.fromTemplate('{{shortSha}}-{{prNumber}}-{{date}}').value).toBe('01234567-77-20261123');
  });

  test('explicit values win over CI variables', () => {
    process.env.GITHUB_SHA = 'f'.repeat(40);
    process.env.PULL_NUMBER = '1';
    expect(ImageTag.fromTemplate('{{shortSha}}-{{prNumber}}', { commitSha: SHA, prNumber: '2' }).value).toBe('01234567-2');
  });

  test('the commit comes from git when neither values nor CI have it', () => {
    // GIVEN a real repository with one commit
    const dir = mkdtempSync(join(tmpdir(), 'tag-git-'));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
    git('init', '-q');
    writeFileSync(join(dir, 'f'), 'x');
    git('add', 'f');
    git('commit', '-q', '-m', 'c');
    // THEN
    expect(ImageTag.fromTemplate('{{commitSha}}', { gitDirectory: dir }).value).toBe(git('rev-parse', 'HEAD'));
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
      expect(() => ImageTag.fromTemplate('-{{shortSha}}', { commitSha: SHA })).toThrow(/rendered "-01234567"/);
    });

    test('braces are left over', () => {
      expect(() => ImageTag.fromTemplate('v{{date')).toThrow(/expected fields written as \{\{commitSha\}\}/);
    });

    test('the commit or PR number is malformed', () => {
      expect(() => ImageTag.fromTemplate('{{shortSha}}', { commitSha: 'main' })).toThrow(/^ImageTag.fromTemplate commitSha: got "main"/);
      expect(() => ImageTag.fromTemplate('PR-{{prNumber}}', { prNumber: '12a' })).toThrow(/^ImageTag.fromTemplate prNumber: got "12a"; expected a whole number$/);
    });
  });
});
