import { parseDestinations } from './_refs';
import { canonicalRegistry } from './_registry';
import { invalid } from './_validate';
import { ImageReference } from './image-reference';

/** Props of `ImageDestinations.of()`. */
export interface ImageDestinationsProps {
  /** Registry hosts, each with an optional port, e.g. `['harbor.example.com', 'europe-docker.pkg.dev']`. */
  readonly registries: string[];

  /** The repository path inside every registry, e.g. `platform/api`. */
  readonly repository: string;

  /** Tags, e.g. `['1.4.0', ImageTag.push().value]`. Every registry gets every tag. */
  readonly tags: string[];
}

/**
 * Destinations written the way release engineers think of them: registries × repository × tags.
 *
 * kaniko gets one `--destination` per reference; a promotion copies the digest to each.
 */
export class ImageDestinations {
  /**
   * Every `registry/repository:tag` combination, registry by registry, tags in the order given.
   *
   * @param props the registries, the repository and the tags
   */
  public static of(props: ImageDestinationsProps): string[] {
    if (!props.registries || props.registries.length === 0) {
      invalid('ImageDestinations.of registries', props.registries ?? [], 'expected at least one registry host');
    }
    if (!props.tags || props.tags.length === 0) {
      invalid('ImageDestinations.of tags', props.tags ?? [], 'expected at least one tag');
    }
    props.registries.forEach((registry, i) => {
      if (!registry || registry.includes('/')) {
        invalid(`ImageDestinations.of registries[${i}]`, registry, 'expected a registry host with an optional port, without a path');
      }
    });
    const refs = props.registries.flatMap(registry => props.tags.map(tag => `${registry}/${props.repository}:${String(tag)}`));
    return parseDestinations('ImageDestinations.of', refs).map((ref: ImageReference, i) => {
      const registry = props.registries[Math.floor(i / props.tags.length)];
      if (ref.registry !== canonicalRegistry(registry)) {
        invalid('ImageDestinations.of registries', registry, 'expected a registry host: a name with a "." or a ":port", or "localhost"');
      }
      return ref.toString();
    });
  }

  private constructor() {}
}
