import { createHash } from 'crypto';
import { ApiObject, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { checkObjectName, invalid } from './_validate';
import { JobName } from './job-name';

/** Hex digits of the content hash; with its "-" it takes 9 characters of the name. */
const HASH_DIGITS = 8;

/** The Job name length limit: it is copied into the `job-name` pod labels (63 characters). */
const MAX_JOB_NAME = 63;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Job spec fields an update may change in place (Kubernetes' ValidateJobSpecUpdate leaves them mutable): they
 * are left out of the hash. Every other field (the pod template, completions, completionMode,
 * podFailurePolicy, …) is immutable, so a change to it must give a new Job.
 */
const MUTABLE_JOB_FIELDS = ['activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'parallelism', 'suspend'];

/**
 * The longest Job name. An Indexed Job's pods are named `<job name>-<index>` and get that as their hostname,
 * which must be a 63-character DNS label, so the digits of the last index come off.
 */
function maxLength(indexedCompletions: number | undefined): number {
  return indexedCompletions === undefined ? MAX_JOB_NAME : MAX_JOB_NAME - 1 - String(indexedCompletions - 1).length;
}

function describe(naming: JobName): string {
  return naming._name === undefined ? `JobName.${naming._strategy}()` : `JobName.${naming._strategy}(${JSON.stringify(naming._name)})`;
}

/** The longest explicit name (or base) `naming` allows for a plain Job: 63, less the "-<hash>" suffix for `contentHashed`. */
export function explicitNameLimit(naming: JobName): number {
  return naming._strategy === 'contentHashed' ? MAX_JOB_NAME - 1 - HASH_DIGITS : MAX_JOB_NAME;
}

/** Checks that `ImageJobOptions.name` is a `JobName` (plain strings were accepted before content hashing). */
export function checkJobName(naming: JobName | undefined): JobName | undefined {
  if (naming !== undefined && !(naming instanceof JobName)) {
    invalid('name', naming, 'expected a JobName: JobName.contentHashed(base), JobName.stable() or JobName.exact(name)');
  }
  return naming;
}

/**
 * Checks `ImageJobOptions.name` and returns the `metadata.name` to create the Job with (`undefined`: cdk8s
 * generates one from the construct path). `indexedCompletions` is set for an Indexed Job.
 */
export function initialJobName(naming: JobName | undefined, indexedCompletions?: number): string | undefined {
  if (checkJobName(naming) === undefined || naming === undefined) {
    return undefined;
  }
  const max = maxLength(indexedCompletions);
  const indexed = indexedCompletions === undefined ? '' : ` for an Indexed Job of ${indexedCompletions} pods (hostnames "<name>-${indexedCompletions - 1}" must be DNS labels)`;
  const reserved = naming._strategy === 'contentHashed' ? 1 + HASH_DIGITS : 0;
  if (naming._name !== undefined) {
    checkObjectName('name', naming._name);
    if (naming._name.length > max - reserved || (indexedCompletions !== undefined && !DNS_LABEL.test(naming._name))) {
      invalid('name', describe(naming), `expected at most ${max - reserved} characters${reserved ? ` (${max} with the "-<hash>" suffix)` : ''}${indexedCompletions === undefined ? '' : ' and no "."'}${indexed}`);
    }
  }
  return naming._strategy === 'exact' ? naming._name : undefined;
}

/**
 * Applies the strategy once the Job exists: for `contentHashed`, `metadata.name` (and `job.name`) become
 * `<base>-<hash>`, the hash computed from the final rendered object whenever the name is read (so JSON patches
 * added later are covered); for `stable`, the generated name is checked against the Indexed hostname rule.
 */
export function applyJobName(job: kplus.Job, naming: JobName | undefined, indexedCompletions?: number): void {
  const strategy = naming?._strategy ?? 'contentHashed';
  const apiObject = ApiObject.of(job);
  const max = maxLength(indexedCompletions);
  if (strategy === 'stable') {
    if (apiObject.name.length > max || (indexedCompletions !== undefined && !DNS_LABEL.test(apiObject.name))) {
      invalid('name', 'JobName.stable()', `gives "${apiObject.name}", which an Indexed Job of ${indexedCompletions} pods cannot use (at most ${max} characters, no "."); use JobName.contentHashed() or JobName.exact(name)`);
    }
    return;
  }
  if (strategy !== 'contentHashed') {
    return;
  }
  const derived = naming?._name === undefined;
  const base = naming?._name ?? derivedBase(apiObject, max - 1 - HASH_DIGITS);
  let computing = false;
  const name = (): string => {
    if (computing) {
      return base; // the name is not part of what is hashed
    }
    computing = true;
    try {
      const spec = { ...apiObject.toJson().spec };
      for (const field of MUTABLE_JOB_FIELDS) {
        delete spec[field];
      }
      // the path tells apart two constructs with the same generated base and the same pod
      const hashed = { path: derived ? apiObject.node.path : undefined, spec };
      return `${base}-${createHash('sha256').update(canonicalJson(hashed)).digest('hex').slice(0, HASH_DIGITS)}`;
    } finally {
      computing = false;
    }
  };
  // cdk8s reads `name` from both when rendering and when asked (`job.name`); both now compute the final name.
  Object.defineProperty(apiObject, 'name', { get: name, configurable: true });
  Object.defineProperty(apiObject.metadata, 'name', { get: name, configurable: true });
}

/** The construct path as a DNS label of at most `maxLen` characters (cdk8s' form without its path hash). */
function derivedBase(apiObject: ApiObject, maxLen: number): string {
  const label = Names.toDnsLabel(apiObject, { includeHash: false, maxLen })
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return label === '' ? 'job' : label;
}

/** JSON with object keys sorted at every level and `undefined` members left out: the same value, the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(v => canonicalJson(v ?? null)).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort()
      .filter(k => (value as { [k: string]: unknown })[k] !== undefined)
      .map(k => `${JSON.stringify(k)}:${canonicalJson((value as { [k: string]: unknown })[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
