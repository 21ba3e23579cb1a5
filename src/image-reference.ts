import { canonicalRegistry, DOCKER_HUB, isRegistryHost } from './_registry';
import { invalid } from './_validate';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * A parsed container image reference: `registry[:port]/path[:tag][@sha256:<64 hex>]`.
 *
 * Parsing follows the grammar of the Docker Distribution `reference` package. Docker Hub short names are
 * normalized the way `docker pull` does it: `nginx` becomes `docker.io/library/nginx`, and the Docker Hub
 * hosts `index.docker.io` and `registry-1.docker.io` become `docker.io` (so `registry-1.docker.io/nginx` is
 * `docker.io/library/nginx`). A registry port must be 1 to 65535. Bracketed IPv6 hosts
 * (`[::1]:5000/app`) are not supported: name such a registry by a host name or IPv4 address. A reference
 * is immutable; `withTag()` and `withDigest()` return new references.
 *
 * @example ImageReference.parse('harbor.example.com/platform/api:1.4.0')
 */
export class ImageReference {
  /**
   * Parses and validates an image reference.
   *
   * @param ref the reference, for example `registry.internal:5000/build/api:1.4.0`,
   *   `nginx`, or `harbor.example.com/p/api@sha256:<64 hex>`
   * @throws if the reference does not follow the grammar; the message says which part is wrong
   */
  public static parse(ref: string): ImageReference {
    return ImageReference._parseFor('image reference', ref);
  }

  /**
   * Parses like `parse()`, naming `prop` in the error so it points at the construct prop that held the value.
   *
   * @internal
   */
  public static _parseFor(prop: string, ref: string): ImageReference {
    if (typeof ref !== 'string' || ref.length === 0) {
      invalid(prop, ref, 'expected an image reference such as "registry.example.com/team/app:1.0"');
    }
    let rest = ref;
    let digest: string | undefined;
    const at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.slice(at + 1);
      rest = rest.slice(0, at);
      if (!DIGEST.test(digest)) {
        invalid(prop, ref, 'expected the digest after "@" to be "sha256:" followed by 64 lower-case hexadecimal characters');
      }
    }
    let tag: string | undefined;
    const lastSlash = rest.lastIndexOf('/');
    const lastColon = rest.lastIndexOf(':');
    if (lastColon > lastSlash) {
      tag = rest.slice(lastColon + 1);
      rest = rest.slice(0, lastColon);
      if (!TAG.test(tag)) {
        invalid(prop, ref, 'expected a tag of at most 128 letters, digits, "_", "." or "-" that does not start with "." or "-"');
      }
    }
    const components = rest.split('/');
    let registry = DOCKER_HUB;
    const first = components[0];
    if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
      registry = components.shift()!;
      if (!isRegistryHost(registry)) {
        invalid(prop, ref, 'expected a registry host name with an optional ":port" (1-65535) before the first "/"; bracketed IPv6 hosts are not supported');
      }
      registry = canonicalRegistry(registry);
    } else if (components.length > 1 && first.toLowerCase() !== first) {
      // Docker's reference grammar reads such a first component as a registry host, never a Docker Hub namespace
      invalid(prop, ref, `expected a registry host with a "." or ":port" (or localhost), or a lower-case Docker Hub namespace; Docker reads "${first}" (it has upper-case letters) as a registry host`);
    }
    if (registry === DOCKER_HUB && components.length === 1) {
      components.unshift('library');
    }
    for (const component of components) {
      if (!PATH_COMPONENT.test(component)) {
        const hint = component.toLowerCase() !== component ? 'repository names must be lower-case' : 'each path component is lower-case letters and digits separated by ".", "_", "__" or "-"';
        invalid(prop, ref, `expected a repository path such as "team/app"; ${hint}`);
      }
    }
    const repository = components.join('/');
    if (registry.length + 1 + repository.length > 255) {
      invalid(prop, ref, 'expected a name (registry and repository) of at most 255 characters');
    }
    return new ImageReference(registry, repository, tag, digest);
  }

  /** The registry host, with its port when one was given, e.g. `registry.internal:5000` or `docker.io`. */
  public readonly registry: string;

  /** The repository path inside the registry, e.g. `platform/api` or `library/nginx`. */
  public readonly repository: string;

  /**
   * The tag, when the reference has one.
   *
   * @default - no tag
   */
  public readonly tag?: string;

  /**
   * The manifest digest `sha256:<64 hex>`, when the reference has one.
   *
   * @default - no digest
   */
  public readonly digest?: string;

  private constructor(registry: string, repository: string, tag?: string, digest?: string) {
    this.registry = registry;
    this.repository = repository;
    this.tag = tag;
    this.digest = digest;
  }

  /** `registry/repository`, without tag or digest. */
  public get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /**
   * A copy of this reference with another tag. The digest is kept.
   *
   * @param tag the new tag
   */
  public withTag(tag: string): ImageReference {
    if (!TAG.test(tag)) {
      invalid('tag', tag, 'expected at most 128 letters, digits, "_", "." or "-" that does not start with "." or "-"');
    }
    return new ImageReference(this.registry, this.repository, tag, this.digest);
  }

  /**
   * A copy of this reference pinned to a manifest digest. The tag is kept.
   *
   * @param digest `sha256:` followed by 64 lower-case hexadecimal characters
   */
  public withDigest(digest: string): ImageReference {
    if (!DIGEST.test(digest)) {
      invalid('digest', digest, 'expected "sha256:" followed by 64 lower-case hexadecimal characters');
    }
    return new ImageReference(this.registry, this.repository, this.tag, digest);
  }

  /** The normalized reference: `registry/repository[:tag][@digest]`. */
  public toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }
}
