import { Duration } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { ArgoCd, ArgoCdHookDeletePolicy, ArgoCdHookPhase, ArgoCdSyncOption, ImageJobOptions, JobName } from '../src';
import { CONSTRUCTS } from './constructs';
import { newChart, synthJob } from './util';

describe.each(Object.keys(CONSTRUCTS))('Argo CD delivery of %s', (name) => {
  const make = (options: ImageJobOptions = {}) => {
    const chart = newChart();
    CONSTRUCTS[name](chart, options);
    return synthJob(chart);
  };

  test('a PreSync hook by default, deleted before it is created again, with no TTL', () => {
    const job = make({ argoCd: ArgoCd.hook() });
    expect(job.metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    });
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    // the annotations are on the Job only: they neither reach the pod nor change the content-hashed name
    expect(job.spec.template.metadata.annotations?.['argocd.argoproj.io/hook']).toBeUndefined();
    expect(job.metadata.name).toBe(make().metadata.name);
  });

  test('hook phase, delete policies and sync wave', () => {
    const job = make({
      argoCd: ArgoCd.hook({
        phase: ArgoCdHookPhase.POST_SYNC,
        deletePolicies: [ArgoCdHookDeletePolicy.HOOK_SUCCEEDED, ArgoCdHookDeletePolicy.BEFORE_HOOK_CREATION],
        syncWave: -2,
      }),
    });
    expect(job.metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'PostSync',
      'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded,BeforeHookCreation',
      'argocd.argoproj.io/sync-wave': '-2',
    });
  });

  test('a synced resource with Force=true,Replace=true and a stable name', () => {
    const argoCd = ArgoCd.syncedResource({ syncOptions: [ArgoCdSyncOption.REPLACE, ArgoCdSyncOption.FORCE], syncWave: 1 });
    const job = make({ name: JobName.stable(), argoCd });
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-options': 'Force=true,Replace=true', 'argocd.argoproj.io/sync-wave': '1' });
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
  });

  test('a synced resource with no option carries no annotation; an explicit TTL is kept', () => {
    const job = make({ argoCd: ArgoCd.syncedResource(), ttlAfterFinished: Duration.hours(2) });
    expect(job.metadata.annotations).toBeUndefined();
    expect(job.spec.ttlSecondsAfterFinished).toBe(7200);
    expect(make({ argoCd: ArgoCd.syncedResource({ syncOptions: [ArgoCdSyncOption.REPLACE] }) }).metadata.annotations)
      .toEqual({ 'argocd.argoproj.io/sync-options': 'Replace=true' });
  });
});

describe('ArgoCd fails when', () => {
  test.each<[string, () => unknown, RegExp]>([
    ['Force comes without Replace', () => ArgoCd.syncedResource({ syncOptions: [ArgoCdSyncOption.FORCE] }),
      /^argoCd.syncOptions: got \["Force=true"\]; expected ArgoCdSyncOption.FORCE only together with ArgoCdSyncOption.REPLACE \(Force=true,Replace=true\)$/],
    ['the sync wave is not a whole number', () => ArgoCd.hook({ syncWave: 1.5 }), /^argoCd.syncWave: got 1.5; expected a whole number/],
    ['the phase is unknown', () => ArgoCd.hook({ phase: 'PreDelete' as ArgoCdHookPhase }), /^argoCd.phase: got "PreDelete"; expected one of PRE_SYNC, SYNC, POST_SYNC, SYNC_FAIL$/],
    ['no delete policy is given', () => ArgoCd.hook({ deletePolicies: [] }), /^argoCd.deletePolicies: got \[\]; expected at least one/],
    ['a sync option is unknown', () => ArgoCd.syncedResource({ syncOptions: ['ServerSideApply=true' as ArgoCdSyncOption] }), /^argoCd.syncOptions\[0\]: got "ServerSideApply=true"; expected one of REPLACE, FORCE, PRUNE_DISABLED$/],
    ['argoCd is not an ArgoCd', () => CONSTRUCTS.KanikoBuildJob(newChart(), { argoCd: { annotations: {} } as unknown as ArgoCd }), /^argoCd: got \{"annotations":\{\}\}; expected ArgoCd.hook\(...\) or ArgoCd.syncedResource\(...\)$/],
  ])('%s', (_, make, message) => {
    expect(make).toThrow(message);
  });
});
