import { Duration } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { SkopeoPromoteJob, Toleration, TolerationEffect, TolerationOperator } from '../src';
import { newChart, synthJob } from './util';

/** The pod's tolerations for the given `tolerations` prop (synthJob also validates the Job's schema). */
function tolerationsOf(tolerations: Toleration[]): any[] {
  const chart = newChart();
  new SkopeoPromoteJob(chart, 'promote', { source: 'r.io/a:1', destinations: ['h.io/a:1'], tolerations });
  return synthJob(chart).spec.template.spec.tolerations;
}

describe('Toleration', () => {
  test('a key and value match with Equal, Kubernetes\' default operator', () => {
    expect(tolerationsOf([{ key: 'dedicated', value: 'image-builds', effect: TolerationEffect.NO_SCHEDULE }]))
      .toEqual([{ key: 'dedicated', operator: 'Equal', value: 'image-builds', effect: 'NoSchedule' }]);
  });

  test('EXISTS matches any value of the key', () => {
    expect(tolerationsOf([{ key: 'example.com/builds', match: TolerationOperator.EXISTS }]))
      .toEqual([{ key: 'example.com/builds', operator: 'Exists' }]);
  });

  test('EXISTS without a key tolerates every taint', () => {
    expect(tolerationsOf([{ match: TolerationOperator.EXISTS }])).toEqual([{ operator: 'Exists' }]);
  });

  test('a key without value under Equal matches the empty value, as in Kubernetes', () => {
    expect(tolerationsOf([{ key: 'spot', effect: TolerationEffect.PREFER_NO_SCHEDULE }]))
      .toEqual([{ key: 'spot', operator: 'Equal', effect: 'PreferNoSchedule' }]);
  });

  test('evictAfter renders tolerationSeconds on a NoExecute toleration', () => {
    expect(tolerationsOf([{ key: 'node.kubernetes.io/unreachable', match: TolerationOperator.EXISTS, effect: TolerationEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) }]))
      .toEqual([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]);
  });

  test('several tolerations keep their order', () => {
    expect(tolerationsOf([{ key: 'b', value: '1' }, { key: 'a', match: TolerationOperator.EXISTS }]).map(t => t.key)).toEqual(['b', 'a']);
  });

  describe('fails when', () => {
    test.each<[string, Toleration, RegExp]>([
      ['Equal has no key', { value: 'x' }, /^tolerations\[0\]\.key: got undefined; expected a taint key, or match TolerationOperator.EXISTS to tolerate every taint$/],
      ['EXISTS has a value', { key: 'a', match: TolerationOperator.EXISTS, value: 'x' }, /^tolerations\[0\]\.value: got "x"; expected no value with match TolerationOperator.EXISTS/],
      ['evictAfter is not on NoExecute', { key: 'a', effect: TolerationEffect.NO_SCHEDULE, evictAfter: Duration.seconds(30) }, /^tolerations\[0\]\.evictAfter: got "30s"; expected only with effect TolerationEffect.NO_EXECUTE$/],
      ['evictAfter has a fraction of a second', { key: 'a', effect: TolerationEffect.NO_EXECUTE, evictAfter: Duration.millis(1500) }, /^tolerations\[0\]\.evictAfter: got "1.5s"; expected a whole number of seconds/],
      ['the key is not a label key', { key: 'bad key' }, /^tolerations\[0\]\.key: got "bad key"; expected a Kubernetes label key/],
      ['the value is not a label value', { key: 'a', value: 'a b' }, /^tolerations\[0\]\.value: got "a b"; expected a Kubernetes label value/],
      ['the operator is unknown', { key: 'a', match: 'Matches' as TolerationOperator }, /^tolerations\[0\]\.match: got "Matches"; expected one of EQUAL, EXISTS$/],
      ['the effect is unknown', { key: 'a', effect: 'Evict' as TolerationEffect }, /^tolerations\[0\]\.effect: got "Evict"; expected one of NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE$/],
    ])('%s', (_, toleration, message) => {
      expect(() => tolerationsOf([{ key: 'ok', match: TolerationOperator.EXISTS }, toleration])).toThrow(new RegExp(message.source.replace('\\[0\\]', '\\[1\\]')));
    });
  });
});
