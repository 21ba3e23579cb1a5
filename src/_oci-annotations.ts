import { checkNoNul, invalid } from './_validate';

/**
 * The OCI manifest annotations Kargo reads (`pkg/image` in akuity/kargo): `created` orders images for the
 * `NewestBuild` selection strategy, `source` and `revision` are linked in its UI. Kargo reads manifest
 * annotations, not config labels, so builders write them with their `--annotation` flag.
 */
export const OCI_CREATED = 'org.opencontainers.image.created';
export const OCI_REVISION = 'org.opencontainers.image.revision';
export const OCI_SOURCE = 'org.opencontainers.image.source';

/** What the annotations are made from, as the build props name it. */
export interface OciAnnotationInputs {
  readonly commitSha?: string;
  readonly sourceUrl?: string;
  readonly imageCreated?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The annotations in key order (created, revision, source), validated; `created` only when given (a builder
 * that can compute it at run time adds it itself).
 */
export function ociAnnotations(inputs: OciAnnotationInputs): [string, string][] {
  const annotations: [string, string][] = [];
  if (inputs.imageCreated !== undefined) {
    if (typeof inputs.imageCreated !== 'string' || !RFC3339.test(inputs.imageCreated)) {
      invalid('imageCreated', inputs.imageCreated, 'expected an RFC 3339 timestamp such as "2026-01-31T12:00:00Z"');
    }
    annotations.push([OCI_CREATED, inputs.imageCreated]);
  }
  if (inputs.commitSha !== undefined) {
    // withCommit checks the same value for the BUILD_COMMIT_SHA build arg
    if (typeof inputs.commitSha !== 'string' || !/^[a-f0-9]{7,64}$/.test(inputs.commitSha)) {
      invalid('commitSha', inputs.commitSha, 'expected a commit SHA of lower-case hexadecimal characters');
    }
    annotations.push([OCI_REVISION, inputs.commitSha]);
  }
  if (inputs.sourceUrl !== undefined) {
    annotations.push([OCI_SOURCE, checkSourceUrl(inputs.sourceUrl)]);
  }
  return annotations;
}

/** `--annotation=KEY=VALUE` for each annotation: kaniko, buildah and their stand-ins spell it alike. */
export function ociAnnotationFlags(inputs: OciAnnotationInputs): string[] {
  return ociAnnotations(inputs).map(([key, value]) => `--annotation=${key}=${value}`);
}

/**
 * BuildKit's image exporter attributes for the annotations (`annotation.<key>=<value>`), each a quoted CSV field of
 * `--output` (buildctl splits it as CSV; the values hold no quote).
 */
export function buildkitAnnotationAttributes(inputs: OciAnnotationInputs): string {
  return ociAnnotations(inputs).map(([key, value]) => `,"annotation.${key}=${value}"`).join('');
}

/** An absolute http(s) URL on one line, without credentials (it lands in the image and the YAML). */
function checkSourceUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(checkNoNul('sourceUrl', value)) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || /[\s"\u0000-\u001f\u007f-\u009f]/.test(value)) {
    return invalid('sourceUrl', value, 'expected an absolute https:// URL of the source repository without white space or quotes, such as "https://github.com/example/api"');
  }
  if (url.username || url.password) {
    return invalid('sourceUrl', value, 'expected a URL without user:password; it is written into the image and the Job YAML');
  }
  return value;
}
