import { execFileSync } from 'child_process';
import { checkInteger, invalid, TEMPLATE_FIELD } from './_validate';

/** Values for `ImageTag.fromTemplate()`. Anything not given is looked up in CI variables, then in git. */
export interface ImageTagValues {
  /**
   * The full commit SHA (`{{commitSha}}`, `{{shortSha}}`).
   *
   * @default - the first of GITHUB_SHA, CI_COMMIT_SHA, PULL_PULL_SHA, PULL_BASE_SHA, GIT_COMMIT, BUILD_SOURCEVERSION,
   * then `git rev-parse HEAD` in `gitDirectory`
   */
  readonly commitSha?: string;

  /**
   * The pull-request number (`{{prNumber}}`).
   *
   * @default - the first of PULL_NUMBER, CI_MERGE_REQUEST_IID, CHANGE_ID, GITHUB_REF (`refs/pull/<n>/…`)
   */
  readonly prNumber?: string;

  /**
   * The moment `{{date}}` (YYYYMMDD) and `{{time}}` (HHMMSS) describe, in UTC.
   *
   * @default - SOURCE_DATE_EPOCH when set, otherwise now (the YAML then changes from day to day)
   */
  readonly timestamp?: Date;

  /**
   * Values for `{{env:NAME}}`.
   *
   * @default - the process environment
   */
  readonly env?: { [name: string]: string };

  /**
   * The directory `git` runs in when no commit was given or found in CI variables.
   *
   * @default - the current working directory
   */
  readonly gitDirectory?: string;

  /**
   * How many leading characters of the commit `{{shortSha}}` keeps: Kyma's image builder keeps 7
   * (`v20210930-1234567`), as `git rev-parse --short` does in most repositories.
   *
   * @default 7
   */
  readonly shortShaLength?: number;
}

/** CI variables that carry the commit, most specific first (GitHub, GitLab, Prow, Jenkins, Azure). */
const COMMIT_VARIABLES = ['GITHUB_SHA', 'CI_COMMIT_SHA', 'PULL_PULL_SHA', 'PULL_BASE_SHA', 'GIT_COMMIT', 'BUILD_SOURCEVERSION'];
/** CI variables that carry the pull-request number (Prow, GitLab, Jenkins). */
const PR_VARIABLES = ['PULL_NUMBER', 'CI_MERGE_REQUEST_IID', 'CHANGE_ID'];
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SHA = /^[a-f0-9]{40}([a-f0-9]{24})?$/;

/**
 * A tag computed at synth time from a template, the way Kyma's image builder computes its default tags.
 *
 * Fields: `{{commitSha}}`, `{{shortSha}}` (its first `shortShaLength` characters, 7 by default as in Kyma), `{{prNumber}}`, `{{date}}` (YYYYMMDD, UTC),
 * `{{time}}` (HHMMSS, UTC) and `{{env:NAME}}`. Values come from `values` first, then CI variables, then `git`.
 * Use it in a destination: `` `harbor.example.com/platform/api:${ImageTag.push()}` ``.
 */
export class ImageTag {
  /** Kyma's default tag for pull-request builds. */
  public static readonly PULL_REQUEST_TEMPLATE = 'PR-{{prNumber}}';

  /** Kyma's default tag for push, schedule and manual builds. */
  public static readonly PUSH_TEMPLATE = 'v{{date}}-{{shortSha}}';

  /**
   * Renders `template` and validates the result as a tag.
   *
   * @param template e.g. `v{{date}}-{{shortSha}}` or `{{env:RELEASE}}-{{shortSha}}`
   * @param values explicit values; anything missing is looked up
   * @throws if a field is unknown, has no value, or the result is not a valid tag
   */
  public static fromTemplate(template: string, values: ImageTagValues = {}): ImageTag {
    const resolver = new Resolver(template, values);
    const value = template.replace(TEMPLATE_FIELD, (_, field: string) => resolver.field(field));
    if (value.includes('{{') || value.includes('}}')) {
      invalid('ImageTag.fromTemplate template', template, 'expected fields written as {{commitSha}}, {{shortSha}}, {{prNumber}}, {{date}}, {{time}} or {{env:NAME}}');
    }
    if (!TAG.test(value)) {
      invalid('ImageTag.fromTemplate template', template, `rendered "${value}", which is not a tag: at most 128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
    }
    const usedCommit = resolver.commitSha !== undefined;
    return new ImageTag(value, usedCommit ? resolver.commitSha : resolver.knownCommit(), usedCommit);
  }

  /**
   * Kyma's pull-request tag, `PR-{{prNumber}}`.
   *
   * @param values explicit values; anything missing is looked up
   */
  public static pullRequest(values: ImageTagValues = {}): ImageTag {
    return ImageTag.fromTemplate(ImageTag.PULL_REQUEST_TEMPLATE, values);
  }

  /**
   * Kyma's push tag, `v{{date}}-{{shortSha}}`.
   *
   * @param values explicit values; anything missing is looked up
   */
  public static push(values: ImageTagValues = {}): ImageTag {
    return ImageTag.fromTemplate(ImageTag.PUSH_TEMPLATE, values);
  }

  /** The rendered tag. */
  public readonly value: string;

  /**
   * The commit being built, whether or not the template uses it: `values.commitSha`, else the first CI
   * variable that holds a full SHA, else `git rev-parse HEAD` in `values.gitDirectory`. Pass it on as
   * `commitSha` so the builder gets a `BUILD_COMMIT_SHA` build arg. A template that uses the commit fails
   * without one; otherwise a missing or malformed looked-up commit just leaves this undefined.
   *
   * @default - no commit was given, found in CI variables or in git
   */
  public readonly commitSha?: string;

  /**
   * Whether the template rendered `{{commitSha}}` or `{{shortSha}}`.
   *
   * @internal
   */
  public readonly _usesCommit: boolean;

  private constructor(value: string, commitSha: string | undefined, usesCommit: boolean) {
    this.value = value;
    this.commitSha = commitSha;
    this._usesCommit = usesCommit;
  }

  /** The rendered tag. */
  public toString(): string {
    return this.value;
  }
}

/** Looks each field up once: explicit values, then CI variables, then git. */
class Resolver {
  /** The commit, once a field needed it. */
  public commitSha?: string;
  /** The moment, computed once so `{{date}}` and `{{time}}` describe the same instant. */
  private moment?: Date;

  constructor(private readonly template: string, private readonly values: ImageTagValues) {}

  public field(field: string): string {
    if (field.startsWith('env:')) {
      const name = field.slice(4);
      return this.need(name === '' ? undefined : (this.values.env ?? process.env)[name], field, `set ${name} or give values.env`);
    }
    switch (field) {
      case 'commitSha': return this.commit();
      case 'shortSha': return this.commit().slice(0, checkInteger('ImageTagValues.shortShaLength', this.values.shortShaLength ?? 7, 4, 40));
      case 'prNumber': return this.pullRequest();
      case 'date': return this.timestamp().toISOString().slice(0, 10).replace(/-/g, '');
      case 'time': return this.timestamp().toISOString().slice(11, 19).replace(/:/g, '');
      default:
        return invalid('ImageTag.fromTemplate template', this.template, `has unknown field {{${field}}}; expected commitSha, shortSha, prNumber, date, time or env:NAME`);
    }
  }

  private commit(): string {
    if (!this.commitSha) {
      const sha = this.values.commitSha ?? firstVariable(COMMIT_VARIABLES) ?? gitHead(this.values.gitDirectory);
      this.commitSha = checkSha(this.need(sha, 'commitSha', `give values.commitSha, set one of ${COMMIT_VARIABLES.join(', ')}, or synthesize in a git checkout`));
    }
    return this.commitSha;
  }

  /**
   * The commit for a template that does not use it: an explicit `values.commitSha` must be valid; a looked-up
   * one that is missing or malformed gives undefined, since nothing was rendered from it.
   */
  public knownCommit(): string | undefined {
    if (this.values.commitSha !== undefined) {
      return checkSha(this.values.commitSha);
    }
    const sha = firstVariable(COMMIT_VARIABLES) ?? gitHead(this.values.gitDirectory);
    return sha !== undefined && SHA.test(sha) ? sha : undefined;
  }

  private pullRequest(): string {
    const fromRef = /^refs\/pull\/(\d+)\//.exec(process.env.GITHUB_REF ?? '')?.[1];
    const pr = this.need(this.values.prNumber ?? firstVariable(PR_VARIABLES) ?? fromRef, 'prNumber', `give values.prNumber or set one of ${PR_VARIABLES.join(', ')}`);
    if (!/^\d+$/.test(pr)) {
      invalid('ImageTag.fromTemplate prNumber', pr, 'expected a whole number');
    }
    return pr;
  }

  private timestamp(): Date {
    if (!this.moment) {
      const epoch = process.env.SOURCE_DATE_EPOCH;
      this.moment = this.values.timestamp ?? (epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date());
    }
    return this.moment;
  }

  private need(value: string | undefined, field: string, hint: string): string {
    if (value === undefined || value === '') {
      invalid('ImageTag.fromTemplate template', this.template, `needs {{${field}}}, which has no value: ${hint}`);
    }
    return value;
  }
}

function checkSha(sha: string): string {
  if (!SHA.test(sha)) {
    invalid('ImageTag.fromTemplate commitSha', sha, 'expected a full commit SHA of 40 (or 64) lower-case hexadecimal characters');
  }
  return sha;
}

function firstVariable(names: string[]): string | undefined {
  return names.map(name => process.env[name]).find(value => value !== undefined && value !== '');
}

function gitHead(directory: string | undefined): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: directory, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
