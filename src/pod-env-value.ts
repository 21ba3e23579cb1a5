import * as kplus from 'cdk8s-plus-28';
import { checkObjectName, invalid } from './_validate';

/**
 * The value of an environment variable set on every container of a Job's pod (`ImageJobOptions.env`): a literal,
 * or a key of a Secret or ConfigMap that the kubelet reads when the pod starts.
 *
 * A plain class of this library rather than a cdk8s-plus `EnvValue`, so apps on any cdk8s-plus version can pass it.
 */
export class PodEnvValue {
  /**
   * A literal value, written into the Job as is (the kubelet's `$(VAR)` expansion is escaped).
   *
   * @param value e.g. `http://proxy.corp.example:3128`
   */
  public static fromValue(value: string): PodEnvValue {
    if (typeof value !== 'string') {
      invalid('PodEnvValue.fromValue value', value, 'expected a string');
    }
    return new PodEnvValue(() => kplus.EnvValue.fromValue(value));
  }

  /**
   * A key of a Secret in the Job's namespace (`secretKeyRef`): the value never appears in the YAML.
   *
   * @param secretName the Secret's name
   * @param key the key in the Secret
   */
  public static fromSecret(secretName: string, key: string): PodEnvValue {
    checkObjectName('PodEnvValue.fromSecret secretName', secretName);
    checkEnvKey('PodEnvValue.fromSecret key', key);
    return new PodEnvValue(scope => kplus.EnvValue.fromSecretValue({ secret: scope.secret(secretName), key }));
  }

  /**
   * A key of a ConfigMap in the Job's namespace (`configMapKeyRef`).
   *
   * @param configMapName the ConfigMap's name
   * @param key the key in the ConfigMap
   */
  public static fromConfigMap(configMapName: string, key: string): PodEnvValue {
    checkObjectName('PodEnvValue.fromConfigMap configMapName', configMapName);
    checkEnvKey('PodEnvValue.fromConfigMap key', key);
    return new PodEnvValue(scope => kplus.EnvValue.fromConfigMap(scope.configMap(configMapName), key));
  }

  private constructor(private readonly render: (scope: EnvValueScope) => kplus.EnvValue) {}

  /**
   * The cdk8s-plus value for a container of the pod.
   *
   * @internal
   */
  public _bind(scope: EnvValueScope): kplus.EnvValue {
    return this.render(scope);
  }
}

/**
 * What a `PodEnvValue` needs from the pod it is bound to.
 *
 * @internal
 */
export interface EnvValueScope {
  secret(name: string): kplus.ISecret;
  configMap(name: string): kplus.IConfigMap;
}

/** Secret and ConfigMap keys: letters, digits, `-`, `_` and `.` (what the API server allows). */
function checkEnvKey(prop: string, key: string): void {
  if (typeof key !== 'string' || !/^[-._a-zA-Z0-9]{1,253}$/.test(key)) {
    invalid(prop, key, 'expected a Secret or ConfigMap key: letters, digits, "-", "_" and "." (at most 253 characters)');
  }
}
