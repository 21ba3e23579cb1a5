import { Duration } from 'cdk8s';

/**
 * How a toleration compares its `value` with a taint's (`operator` of a Kubernetes toleration).
 *
 * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
 */
export enum TolerationOperator {
  /** The taint's key and value must both match. */
  EQUAL = 'Equal',
  /** Any taint with the key matches, whatever its value; with no key, every taint matches. */
  EXISTS = 'Exists',
}

/** The taint effect a toleration matches. */
export enum TolerationEffect {
  /** New pods are not scheduled on the node. */
  NO_SCHEDULE = 'NoSchedule',
  /** The scheduler avoids the node when it can. */
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  /** Running pods are evicted and new ones not scheduled. */
  NO_EXECUTE = 'NoExecute',
}

/**
 * A taint the Job's pod tolerates, for example a dedicated build node pool.
 *
 * A plain struct, so it works the same whichever cdk8s-plus version your app uses. It renders one entry of
 * the pod's `tolerations`, with the fields Kubernetes documents.
 *
 * @example { key: 'dedicated', value: 'image-builds', effect: TolerationEffect.NO_SCHEDULE }
 * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
 */
export interface Toleration {
  /**
   * The taint key to match (a label key, such as `dedicated` or `example.com/builds`).
   *
   * @default - every key; only with `match: TolerationOperator.EXISTS` (tolerates every taint)
   */
  readonly key?: string;

  /**
   * How the taint is matched: the toleration's `operator` (named `match` here because `operator` is reserved
   * in C#).
   *
   * @default TolerationOperator.EQUAL (Kubernetes' default)
   */
  readonly match?: TolerationOperator;

  /**
   * The taint value to match, with `TolerationOperator.EQUAL`.
   *
   * @default - the empty value: with `EQUAL`, only a taint whose value is empty matches
   */
  readonly value?: string;

  /**
   * The taint effect to match.
   *
   * @default - every effect
   */
  readonly effect?: TolerationEffect;

  /**
   * How long the pod stays on a node after a matching `NoExecute` taint appears (`tolerationSeconds`).
   * Only with `effect: TolerationEffect.NO_EXECUTE`, whole seconds.
   *
   * @default - the pod is never evicted for this taint
   */
  readonly evictAfter?: Duration;
}
