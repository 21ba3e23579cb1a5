import { Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { checkInteger, checkLabelKey, checkLabelValue, checkOneOf, checkWholeSeconds, invalid } from './_validate';
import { Toleration, TolerationEffect, TolerationOperator } from './toleration';
import { ToolResources } from './tool-resources';

/*
 * The public props take plain structs and names, never cdk8s-plus classes: an app on another cdk8s-plus
 * version (today's `cdk8s init` installs cdk8s-plus-33) could not pass its objects into props typed with
 * cdk8s-plus-28's. These translate the structs into the cdk8s-plus-28 objects the constructs build with.
 */

/** `tolerations` as cdk8s-plus-28 taint queries, each checked the way the API server would. */
export function kplusTolerations(tolerations: Toleration[]): kplus.NodeTaintQuery[] {
  return tolerations.map((toleration, index) => {
    const prop = `tolerations[${index}]`;
    const operator = checkOneOf(`${prop}.match`, toleration.match ?? TolerationOperator.EQUAL, TolerationOperator);
    const effect = toleration.effect === undefined ? undefined : checkOneOf(`${prop}.effect`, toleration.effect, TolerationEffect);
    const key = toleration.key === undefined ? undefined : checkLabelKey(`${prop}.key`, toleration.key);
    const value = toleration.value === undefined ? undefined : checkLabelValue(`${prop}.value`, toleration.value);
    if (key === undefined && operator !== TolerationOperator.EXISTS) {
      invalid(`${prop}.key`, key, 'expected a taint key, or match TolerationOperator.EXISTS to tolerate every taint');
    }
    if (value !== undefined && operator === TolerationOperator.EXISTS) {
      invalid(`${prop}.value`, value, 'expected no value with match TolerationOperator.EXISTS, which matches every value');
    }
    if (toleration.evictAfter !== undefined) {
      if (effect !== TolerationEffect.NO_EXECUTE) {
        invalid(`${prop}.evictAfter`, `${toleration.evictAfter.toSeconds()}s`, 'expected only with effect TolerationEffect.NO_EXECUTE');
      }
      checkWholeSeconds(`${prop}.evictAfter`, toleration.evictAfter, 0);
    }
    const options = { effect: effect as string as kplus.TaintEffect | undefined, evictAfter: toleration.evictAfter };
    if (key === undefined) {
      return kplus.NodeTaintQuery.any();
    }
    return operator === TolerationOperator.EXISTS
      ? kplus.NodeTaintQuery.exists(key, options)
      : kplus.NodeTaintQuery.is(key, value as string, options);
  });
}

/** `resources` as cdk8s-plus-28 container resources, or `defaults` when not given. */
export function kplusResources(resources: ToolResources | undefined, defaults: kplus.ContainerResources): kplus.ContainerResources {
  if (resources === undefined) {
    return defaults;
  }
  const millicores = (prop: string, value: number | undefined) =>
    value === undefined ? undefined : kplus.Cpu.millis(checkInteger(`resources.${prop}`, value, 1, 1_000_000_000));
  const size = (prop: string, value: Size | undefined, unit: 'Mi' | 'Gi') => {
    if (value === undefined) {
      return undefined;
    }
    const bytes = kibibytes(value)! * 1024;
    const unitBytes = unit === 'Mi' ? 2 ** 20 : 2 ** 30;
    if (!Number.isInteger(bytes / unitBytes) || bytes <= 0) {
      invalid(`resources.${prop}`, `${kibibytes(value)}Ki`, `expected a positive whole number of ${unit === 'Mi' ? 'mebibytes' : 'gibibytes'}`);
    }
    return value;
  };
  const ordered = (name: string, request: number | undefined, limit: number | undefined) => {
    if (request !== undefined && limit !== undefined && request > limit) {
      invalid(`resources.${name}Request`, request, `expected at most ${name}Limit (${limit}): Kubernetes refuses a request above the limit`);
    }
  };
  ordered('cpu', resources.cpuRequestMillicores, resources.cpuLimitMillicores);
  ordered('memory', kibibytes(resources.memoryRequest), kibibytes(resources.memoryLimit));
  ordered('ephemeralStorage', kibibytes(resources.ephemeralStorageRequest), kibibytes(resources.ephemeralStorageLimit));
  return {
    cpu: {
      request: millicores('cpuRequestMillicores', resources.cpuRequestMillicores),
      limit: millicores('cpuLimitMillicores', resources.cpuLimitMillicores),
    },
    memory: {
      request: size('memoryRequest', resources.memoryRequest, 'Mi'),
      limit: size('memoryLimit', resources.memoryLimit, 'Mi'),
    },
    ephemeralStorage: {
      request: size('ephemeralStorageRequest', resources.ephemeralStorageRequest, 'Gi'),
      limit: size('ephemeralStorageLimit', resources.ephemeralStorageLimit, 'Gi'),
    },
  };
}

function kibibytes(size: Size | undefined): number | undefined {
  return size?.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
}
