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
