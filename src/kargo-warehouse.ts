import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { kargoMetadata } from './_objects';
import { checkInteger, checkOneOf, checkWholeSeconds, invalid, TEMPLATE_FIELD } from './_validate';
import { ImageReference } from './image-reference';
import { ImageTag } from './image-tag';
import { IKargoResource, KARGO_API_VERSION, KargoProject } from './kargo-project';

/**
 * How a Warehouse picks the newest image of a repository (`imageSelectionStrategy`).
 *
 * @see https://docs.kargo.io/user-guide/reference-docs/warehouses
 */
export enum KargoImageSelectionStrategy {
  /** The highest semantic version among the allowed tags (Kargo's default). */
  SEMVER = 'SemVer',
  /**
   * The most recently built image: Kargo reads the manifest annotation `org.opencontainers.image.created`, else
   * the config's `Created`. The builders write the annotation (`imageCreated`; buildah at run time by default).
   */
  NEWEST_BUILD = 'NewestBuild',
  /** The lexically greatest tag: for tags that sort by time, such as `v{{date}}-{{shortSha}}`. */
  LEXICAL = 'Lexical',
  /** Whatever digest one mutable tag (given in `constraint`) points to. */
  DIGEST = 'Digest',
}

/** Whether a Warehouse makes Freight by itself (`freightCreationPolicy`). */
export enum KargoFreightCreationPolicy {
  /** New Freight as soon as new artifacts are found. */
  AUTOMATIC = 'Automatic',
  /** Freight only when a person asks for it. */
  MANUAL = 'Manual',
}

/** Props of `KargoWarehouse`. */
export interface KargoWarehouseProps {
  /**
   * The Project whose namespace the Warehouse lives in.
   *
   * @default - the chart's namespace
   */
  readonly project?: KargoProject;

  /**
   * The images to subscribe to: one subscription per distinct repository (`registry/repository`; tags and
   * digests are dropped from the reference, the tag scheme decides). Pass the references a construct pushes,
   * e.g. `build.promotionDestinations` or `build.imageReferences`.
   */
  readonly images: ImageReference[];

  /**
   * `ImageTag` templates the pushed tags follow, e.g. `ImageTag.PUSH_TEMPLATE` (`v{{date}}-{{shortSha}}`): each
   * becomes an anchored `allowTagsRegexes` entry, so the Warehouse sees only tags the builds produce.
   *
   * @default - none
   */
  readonly tagTemplates?: string[];

  /**
   * More regular expressions a tag must match (`allowTagsRegexes`; Kargo reads them as Go RE2). The removed
   * `allowTags` is never emitted: Kargo v1.11 fails discovery with it.
   *
   * @default - none; with no `tagTemplates` either, every tag the strategy accepts is considered
   */
  readonly allowTagsRegexes?: string[];

  /**
   * How the newest image is picked.
   *
   * @default - KargoImageSelectionStrategy.LEXICAL with `tagTemplates` (their date-first tags sort by time),
   * otherwise Kargo's default, SemVer
   */
  readonly imageSelectionStrategy?: KargoImageSelectionStrategy;

  /**
   * The tag constraint: a semver range for SEMVER (`^1.4.0`), the mutable tag for DIGEST.
   *
   * @default - none (required by Kargo with DIGEST)
   */
  readonly constraint?: string;

  /**
   * How many images discovery keeps per subscription (1 to 100).
   *
   * @default - Kargo's default, 20
   */
  readonly discoveryLimit?: number;

  /**
   * How often the Warehouse looks for new images (`interval`). A webhook receiver refreshes it at once.
   *
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;

  /**
   * Whether new Freight is created automatically.
   *
   * @default KargoFreightCreationPolicy.AUTOMATIC
   */
  readonly freightCreationPolicy?: KargoFreightCreationPolicy;

  /**
   * The Warehouse's name.
   *
   * @default - a name cdk8s derives from the construct path
   */
  readonly name?: string;
}

/**
 * A Kargo `Warehouse` that subscribes to the repositories a construct pushes to, so each build becomes Freight.
 *
 * @see https://docs.kargo.io/user-guide/reference-docs/warehouses
 */
export class KargoWarehouse extends Construct implements IKargoResource {
  /** The Warehouse's name. */
  public readonly name: string;

  /** The `Warehouse` object. */
  public readonly apiObject: ApiObject;

  /** The repositories subscribed to (`repoURL`s), in order. */
  public readonly repoUrls: string[];

  /** The tag regexes every subscription allows. */
  public readonly allowTagsRegexes: string[];

  /**
   * @param scope the chart or construct to add the Warehouse to
   * @param id the construct id; it is part of the generated name
   * @param props the images and how to pick them
   */
  constructor(scope: Construct, id: string, props: KargoWarehouseProps) {
    super(scope, id);
    if (!props.images || props.images.length === 0) {
      invalid('images', props.images ?? [], 'expected at least one image reference to subscribe to');
    }
    this.repoUrls = [...new Set(props.images.map(image => image.name))];
    const templates = props.tagTemplates ?? [];
    this.allowTagsRegexes = [
      ...templates.map((t, i) => tagTemplateRegex(`tagTemplates[${i}]`, t)),
      ...(props.allowTagsRegexes ?? []).map((r, i) => checkRegex(`allowTagsRegexes[${i}]`, r)),
    ];
    const strategy = props.imageSelectionStrategy ?? (templates.length > 0 ? KargoImageSelectionStrategy.LEXICAL : undefined);
    if (strategy !== undefined) {
      checkOneOf('imageSelectionStrategy', strategy, KargoImageSelectionStrategy);
    }
    if (strategy === KargoImageSelectionStrategy.DIGEST && !props.constraint) {
      invalid('constraint', props.constraint, 'expected the mutable tag to follow with KargoImageSelectionStrategy.DIGEST');
    }
    const interval = checkWholeSeconds('interval', props.interval ?? Duration.minutes(5), 1);
    const policy = props.freightCreationPolicy ?? KargoFreightCreationPolicy.AUTOMATIC;
    checkOneOf('freightCreationPolicy', policy, KargoFreightCreationPolicy);
    const image = {
      ...(strategy !== undefined ? { imageSelectionStrategy: strategy } : {}),
      ...(props.constraint !== undefined ? { constraint: props.constraint } : {}),
      ...(this.allowTagsRegexes.length > 0 ? { allowTagsRegexes: this.allowTagsRegexes } : {}),
      ...(props.discoveryLimit !== undefined ? { discoveryLimit: checkInteger('discoveryLimit', props.discoveryLimit, 1, 100) } : {}),
    };
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: KARGO_API_VERSION,
      kind: 'Warehouse',
      metadata: kargoMetadata(props.name, props.project?.name),
      spec: {
        interval: `${interval}s`,
        freightCreationPolicy: policy,
        subscriptions: this.repoUrls.map(repoURL => ({ image: { repoURL, ...image } })),
      },
    });
    this.name = this.apiObject.name;
  }
}

/** The RE2 pattern each `ImageTag` field renders to. */
const FIELD_PATTERNS: { [field: string]: string } = {
  commitSha: '[a-f0-9]{40}',
  shortSha: '[a-f0-9]{4,40}', // ImageTagValues.shortShaLength: 7 by default, 4 to 40
  prNumber: '[0-9]+',
  date: '[0-9]{8}',
  time: '[0-9]{6}',
};

/** An `ImageTag` template as an anchored regex: fields become their patterns, the rest is literal. */
function tagTemplateRegex(prop: string, template: string): string {
  // rendering with sample values checks the template the way ImageTag does (unknown fields, tag syntax)
  try {
    ImageTag.fromTemplate(template, { commitSha: '0'.repeat(40), prNumber: '1', timestamp: new Date(0), env: new Proxy({}, { get: () => 'x' }) });
  } catch (e) {
    throw new Error(`${prop}: ${(e as Error).message}`);
  }
  let regex = '';
  let last = 0;
  for (const match of template.matchAll(TEMPLATE_FIELD)) {
    regex += escapeRegex(template.slice(last, match.index));
    const field = match[1];
    regex += field.startsWith('env:') ? '[A-Za-z0-9_.-]+' : FIELD_PATTERNS[field] ?? invalid(prop, template, `has unknown field {{${field}}}`);
    last = match.index! + match[0].length;
  }
  return `^${regex}${escapeRegex(template.slice(last))}$`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regex that compiles (as JavaScript; the RE2 subset Kargo uses is stricter about lookarounds and backreferences). */
function checkRegex(prop: string, regex: string): string {
  try {
    new RegExp(regex);
  } catch (e) {
    invalid(prop, regex, `expected a regular expression that compiles (${(e as Error).message})`);
  }
  if (/\(\?[=!<]|\\[1-9]/.test(regex)) {
    invalid(prop, regex, 'expected a Go RE2 expression: no lookarounds or backreferences');
  }
  return regex;
}
