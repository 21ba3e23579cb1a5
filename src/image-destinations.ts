import { combineDestinations } from './_refs';
import { invalid } from './_validate';

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
    if (!props.tags || props.tags.length === 0) {
      invalid('ImageDestinations.of tags', props.tags ?? [], 'expected at least one tag');
    }
    return combineDestinations(props.registries, props.repository, props.tags, { registries: 'ImageDestinations.of registries', references: 'ImageDestinations.of' });
  }

  private constructor() {}
}
