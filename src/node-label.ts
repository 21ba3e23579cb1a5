import { checkLabelKey, checkLabelValue, invalid } from './_validate';

/**
 * How a node label is matched: the `operator` of a Kubernetes node selector requirement.
 *
 * @see https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#node-affinity
 */
export enum NodeLabelMatch {
  /** The node carries the label with one of the values (`In`). */
  ONE_OF = 'In',
  /** The node does not carry the label with any of the values, or not at all (`NotIn`). */
  NONE_OF = 'NotIn',
  /** The node carries the label, whatever its value (`Exists`). */
  PRESENT = 'Exists',
  /** The node does not carry the label (`DoesNotExist`). */
  ABSENT = 'DoesNotExist',
}

/**
 * One requirement on a node label, for `requiredNodeLabels` (the pod only runs on matching nodes) and
 * `preferredNodes` (the scheduler favours them): keep builds off spot or GPU nodes (`noneOf`, `absent`), onto
 * nodes a team labelled for builds (`present`), or in a pool (`oneOf`).
 *
 * @example NodeLabel.noneOf('node.kubernetes.io/lifecycle', ['spot'])
 */
export class NodeLabel {
  /**
   * The node carries `key` with one of `values`.
   *
   * @param key a label key, e.g. `node.corp.io/pool`
   * @param values the label values, at least one
   */
  public static oneOf(key: string, values: string[]): NodeLabel {
    return new NodeLabel(key, NodeLabelMatch.ONE_OF, checkValues('NodeLabel.oneOf', key, values));
  }

  /**
   * The node does not carry `key` with any of `values` (a node without the label matches).
   *
   * @param key a label key, e.g. `node.kubernetes.io/lifecycle`
   * @param values the label values, at least one
   */
  public static noneOf(key: string, values: string[]): NodeLabel {
    return new NodeLabel(key, NodeLabelMatch.NONE_OF, checkValues('NodeLabel.noneOf', key, values));
  }

  /**
   * The node carries `key`, whatever its value.
   *
   * @param key a label key, e.g. `node-role.corp.io/builder`
   */
  public static present(key: string): NodeLabel {
    return new NodeLabel(checkLabelKey('NodeLabel.present key', key), NodeLabelMatch.PRESENT, []);
  }

  /**
   * The node does not carry `key`.
   *
   * @param key a label key, e.g. `nvidia.com/gpu.present`
   */
  public static absent(key: string): NodeLabel {
    return new NodeLabel(checkLabelKey('NodeLabel.absent key', key), NodeLabelMatch.ABSENT, []);
  }

  /** The label key. */
  public readonly key: string;

  /** How the label is matched (named `match` because `operator` is reserved in C#). */
  public readonly match: NodeLabelMatch;

  /** The values for `ONE_OF` and `NONE_OF`, sorted and unique; empty for `PRESENT` and `ABSENT`. */
  public readonly values: string[];

  private constructor(key: string, match: NodeLabelMatch, values: string[]) {
    this.key = key;
    this.match = match;
    this.values = values;
  }
}

/** A soft node preference: the scheduler favours nodes that match every one of `labels`, by `weight`. */
export interface NodePreference {
  /** The labels a favoured node matches, all of them. */
  readonly labels: NodeLabel[];

  /**
   * How much a matching node is favoured against other preferences, from 1 to 100.
   *
   * @default 100
   */
  readonly weight?: number;
}

function checkValues(factory: string, key: string, values: string[]): string[] {
  checkLabelKey(`${factory} key`, key);
  if (!Array.isArray(values) || values.length === 0) {
    invalid(`${factory} values`, values, `expected a non-empty list of values of label ${key}`);
  }
  values.forEach((v, i) => checkLabelValue(`${factory} values[${i}]`, v));
  return [...new Set(values)].sort();
}
