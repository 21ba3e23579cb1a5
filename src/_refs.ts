import { canonicalRegistry } from './_registry';
import { invalid } from './_validate';
import { ImageReference } from './image-reference';

/**
 * Parses a destination: a reference that carries a tag and no digest (a push needs a tag to write).
 */
export function parseDestination(prop: string, ref: string): ImageReference {
  const parsed = ImageReference._parseFor(prop, ref);
  if (parsed.digest) {
    invalid(prop, ref, 'expected a destination without "@sha256:"; a push writes a tag, and the registry computes the digest');
  }
  if (!parsed.tag) {
    invalid(prop, ref, 'expected a destination with an explicit tag such as ":1.4.0"; an implicit ":latest" is never assumed');
  }
  return parsed;
}

/**
 * Parses a list of destinations; at least one, no duplicates.
 */
export function parseDestinations(prop: string, refs: readonly string[] | undefined): ImageReference[] {
  if (!refs || refs.length === 0) {
    invalid(prop, refs ?? [], 'expected at least one image reference with a tag');
  }
  const parsed = refs.map((ref, i) => parseDestination(`${prop}[${i}]`, ref));
  const seen = new Set<string>();
  parsed.forEach((ref, i) => {
    if (seen.has(ref.toString())) {
      invalid(`${prop}[${i}]`, refs[i], 'expected each destination once; this one is listed twice');
    }
    seen.add(ref.toString());
  });
  return parsed;
}

/** The props a destination combination's errors name: `ImageDestinations.of`'s, or the construct's own. */
export interface CombinationNames {
  /** The prop holding the registry hosts. */
  readonly registries: string;
  /** How to name the combined references. */
  readonly references: string;
}

/** Every `registry/repository:tag`, registry by registry, tags in the order given; errors name `names`' props. */
export function combineDestinations(registries: string[] | undefined, repository: string, tags: string[], names: CombinationNames): string[] {
  if (!registries || registries.length === 0) {
    invalid(names.registries, registries ?? [], 'expected at least one registry host');
  }
  registries.forEach((registry, i) => {
    if (!registry || registry.includes('/')) {
      invalid(`${names.registries}[${i}]`, registry, 'expected a registry host with an optional port, without a path');
    }
  });
  const refs = registries.flatMap(registry => tags.map(tag => `${registry}/${repository}:${String(tag)}`));
  return parseDestinations(names.references, refs).map((ref, i) => {
    const index = Math.floor(i / tags.length);
    if (ref.registry !== canonicalRegistry(registries[index])) {
      invalid(`${names.registries}[${index}]`, registries[index], 'expected a registry host: a name with a "." or a ":port", or "localhost"');
    }
    return ref.toString();
  });
}

/** The kubelet's limit on a termination message. */
export const TERMINATION_MESSAGE_BYTES = 4096;

/** "@sha256:" and 64 hex digits, and the newline a script writes after each line. */
const DIGEST_LINE_SUFFIX = '@'.length + 'sha256:'.length + 64 + '\n'.length;

/**
 * Fails unless a termination message of one `<line>@sha256:<64 hex>` per line of `lines` fits the kubelet's 4096
 * bytes (a longer message would lose lines at run time); `prop` and `value` name what made the lines.
 */
export function checkTerminationMessage(prop: string, value: unknown, lines: string[], what: string): void {
  const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line) + DIGEST_LINE_SUFFIX, 0);
  if (bytes > TERMINATION_MESSAGE_BYTES) {
    invalid(prop, value, `expected fewer or shorter ${prop}: their termination message (${what}) needs ${bytes} bytes, over the kubelet's ${TERMINATION_MESSAGE_BYTES}`);
  }
}
