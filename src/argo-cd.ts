import { checkInteger, checkOneOf, invalid } from './_validate';

/**
 * The sync phase an Argo CD hook runs in (`argocd.argoproj.io/hook`).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/
 */
export enum ArgoCdHookPhase {
  /** Before the application's resources are applied: build the image the rest of the sync deploys. */
  PRE_SYNC = 'PreSync',
  /** With the application's resources, after every PreSync hook succeeded. */
  SYNC = 'Sync',
  /** After every resource of the sync is applied and healthy: build or promote once the rest is up. */
  POST_SYNC = 'PostSync',
  /** Only when the sync failed. */
  SYNC_FAIL = 'SyncFail',
}

/**
 * When Argo CD deletes a hook Job (`argocd.argoproj.io/hook-delete-policy`).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/#hook-deletion-policies
 */
export enum ArgoCdHookDeletePolicy {
  /** Before the hook is created again on the next sync: the finished Job and its logs stay until then. */
  BEFORE_HOOK_CREATION = 'BeforeHookCreation',
  /** As soon as the Job succeeded. */
  HOOK_SUCCEEDED = 'HookSucceeded',
  /** As soon as the Job failed. */
  HOOK_FAILED = 'HookFailed',
}

/**
 * An Argo CD sync option for a Job that is a plain synced resource (`argocd.argoproj.io/sync-options`).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
 */
export enum ArgoCdSyncOption {
  /**
   * `Replace=true`: `kubectl replace` instead of apply. A changed Job with the same name (`JobName.stable()`)
   * is still refused if the old one exists, because its pod template is immutable: pair it with `FORCE`.
   */
  REPLACE = 'Replace=true',
  /** `Force=true` (with `REPLACE` only): delete and recreate, so a changed Job under the same name runs again. */
  FORCE = 'Force=true',
  /** `Prune=false`: Argo CD never deletes the Job when it leaves the application (keeps its logs). */
  PRUNE_DISABLED = 'Prune=false',
}

/** Options of `ArgoCd.hook()`. */
export interface ArgoCdHookOptions {
  /**
   * When the hook runs.
   *
   * @default ArgoCdHookPhase.PRE_SYNC
   */
  readonly phase?: ArgoCdHookPhase;

  /**
   * When Argo CD deletes the Job.
   *
   * @default [ArgoCdHookDeletePolicy.BEFORE_HOOK_CREATION] - Argo CD's own default, written out
   */
  readonly deletePolicies?: ArgoCdHookDeletePolicy[];

  /**
   * The sync wave (`argocd.argoproj.io/sync-wave`): lower waves run first, each must be healthy before the next.
   *
   * @default - no annotation: wave 0
   */
  readonly syncWave?: number;
}

/** Options of `ArgoCd.syncedResource()`. */
export interface ArgoCdSyncedResourceOptions {
  /**
   * Sync options, e.g. `[ArgoCdSyncOption.REPLACE, ArgoCdSyncOption.FORCE]` with `JobName.stable()`.
   *
   * @default - none: Argo CD applies the Job like any resource
   */
  readonly syncOptions?: ArgoCdSyncOption[];

  /**
   * The sync wave (`argocd.argoproj.io/sync-wave`): lower waves run first, each must be healthy before the next.
   *
   * @default - no annotation: wave 0
   */
  readonly syncWave?: number;
}

/**
 * How Argo CD delivers a construct's Job (`ImageJobOptions.argoCd`): as a resource hook or as a plain synced
 * resource. Both leave out `ttlSecondsAfterFinished` unless `ttlAfterFinished` is given: when Kubernetes
 * deletes a finished Job that Argo CD manages, the application turns OutOfSync, and an automated sync with
 * self-heal recreates it, which runs the build again. Argo CD deletes hooks by their delete policy, and prunes
 * a synced Job once it leaves the application (a new content-hashed name does that with every change).
 *
 * Argo CD's health of a Job: Progressing while it runs (the sync waits for it in its wave or hook phase),
 * Healthy once it completed, Degraded once it failed (a failed hook fails the sync), Suspended while
 * `spec.suspend` is true.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/
 */
export class ArgoCd {
  /**
   * A resource hook: the Job runs in `phase` on every sync (not during a selective sync), whatever its name.
   */
  public static hook(options: ArgoCdHookOptions = {}): ArgoCd {
    const phase = options.phase ?? ArgoCdHookPhase.PRE_SYNC;
    checkOneOf('argoCd.phase', phase, ArgoCdHookPhase);
    const policies = options.deletePolicies ?? [ArgoCdHookDeletePolicy.BEFORE_HOOK_CREATION];
    if (policies.length === 0) {
      invalid('argoCd.deletePolicies', policies, 'expected at least one ArgoCdHookDeletePolicy, or leave it out for BeforeHookCreation');
    }
    policies.forEach((p, i) => checkOneOf(`argoCd.deletePolicies[${i}]`, p, ArgoCdHookDeletePolicy));
    return new ArgoCd([
      ['argocd.argoproj.io/hook', phase],
      ['argocd.argoproj.io/hook-delete-policy', [...new Set(policies)].join(',')],
      ...syncWave(options.syncWave),
    ]);
  }

  /**
   * A plain synced resource: applied when the application syncs, pruned when it leaves it. With the default
   * content-hashed name a changed build is a new Job, so no sync option is needed.
   */
  public static syncedResource(options: ArgoCdSyncedResourceOptions = {}): ArgoCd {
    const syncOptions = [...new Set(options.syncOptions ?? [])];
    syncOptions.forEach((o, i) => checkOneOf(`argoCd.syncOptions[${i}]`, o, ArgoCdSyncOption));
    if (syncOptions.includes(ArgoCdSyncOption.FORCE) && !syncOptions.includes(ArgoCdSyncOption.REPLACE)) {
      invalid('argoCd.syncOptions', syncOptions, 'expected ArgoCdSyncOption.FORCE only together with ArgoCdSyncOption.REPLACE (Force=true,Replace=true)');
    }
    const ordered = [ArgoCdSyncOption.FORCE, ArgoCdSyncOption.REPLACE, ArgoCdSyncOption.PRUNE_DISABLED].filter(o => syncOptions.includes(o));
    return new ArgoCd([
      ...(ordered.length > 0 ? [['argocd.argoproj.io/sync-options', ordered.join(',')] as [string, string]] : []),
      ...syncWave(options.syncWave),
    ]);
  }

  /** The annotations this delivery puts on the Job's metadata (not on the pod: they do not change the Job name). */
  public readonly annotations: { [key: string]: string };

  private constructor(annotations: [string, string][]) {
    this.annotations = Object.fromEntries(annotations);
  }
}

function syncWave(wave: number | undefined): [string, string][] {
  return wave === undefined ? [] : [['argocd.argoproj.io/sync-wave', String(checkInteger('argoCd.syncWave', wave, -1_000_000, 1_000_000))]];
}

