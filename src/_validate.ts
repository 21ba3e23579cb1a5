import { Duration } from 'cdk8s';

/**
 * Input checks shared by every construct. Each throws one line: the prop, the value received and what
 * is allowed, so a bad input fails at synth time instead of in the cluster.
 */

/** Throws the library's one-line validation error. */
export function invalid(prop: string, value: unknown, allowed: string): never {
  throw new Error(`${prop}: got ${JSON.stringify(value)}; ${allowed}`);
}

/** A `{{field}}` or `{{env:NAME}}` of a synth-time template (`ImageTag`, `KanikoBuildBatch.imageNameFor`); global, for `replace`. */
export const TEMPLATE_FIELD = /\{\{\s*([A-Za-z]+(?::[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}/g;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name that must also fit a label value (Jobs, Secrets, ConfigMaps, ServiceAccounts). */
export function checkObjectName(prop: string, value: string): string {
  if (value.length > 63 || !DNS_SUBDOMAIN.test(value)) {
    invalid(prop, value, 'expected a Kubernetes name of at most 63 characters: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit');
  }
  return value;
}

/** A DNS-1123 label (container names, volume names). */
export function checkDnsLabel(prop: string, value: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    invalid(prop, value, 'expected a DNS label of at most 63 characters: lower-case letters, digits and "-", starting and ending with a letter or digit');
  }
  return value;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An environment variable or build-arg name usable from POSIX shell. */
export function checkEnvName(prop: string, value: string): string {
  if (!ENV_NAME.test(value)) {
    invalid(prop, value, 'expected a name of letters, digits and "_" that does not start with a digit');
  }
  return value;
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/** A Kubernetes label or annotation key: optional DNS-subdomain prefix, "/", name of at most 63 characters. */
export function checkLabelKey(prop: string, key: string): string {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (!prefixOk || !LABEL_NAME.test(name)) {
    invalid(prop, key, 'expected a Kubernetes label key: an optional DNS-subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "."');
  }
  return key;
}

/** A Kubernetes label value: empty, or at most 63 letters, digits, "-", "_", "." starting and ending alphanumeric. */
export function checkLabelValue(prop: string, value: string): string {
  if (value !== '' && !LABEL_NAME.test(value)) {
    invalid(prop, value, 'expected a Kubernetes label value: empty, or at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');
  }
  return value;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** A key of a Secret (or ConfigMap): at most 253 letters, digits, "-", "_" and ".". */
export function checkSecretKey(prop: string, key: string): string {
  if (typeof key !== 'string' || !SECRET_KEY.test(key)) {
    invalid(prop, key, 'expected a Secret key: at most 253 letters, digits, "-", "_" and "."');
  }
  return key;
}

const SHA256_HEX = /^[a-f0-9]{64}$/;

/** A bare sha256 hex digest (64 lower-case hex characters), as `sha256sum` prints it. */
export function checkSha256(prop: string, value: string): string {
  if (!SHA256_HEX.test(value)) {
    invalid(prop, value, 'expected 64 lower-case hexadecimal characters, as printed by sha256sum');
  }
  return value;
}

/**
 * A download URL: https, or http only when the caller opted in. Credentials in the URL are refused because
 * the URL lands in the Job's YAML.
 */
export function checkDownloadUrl(prop: string, value: string, allowInsecureHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(prop, value, 'expected an absolute https:// URL');
  }
  if (url.protocol === 'http:' && !allowInsecureHttp) {
    invalid(prop, value, 'expected an https:// URL; plain http needs allowInsecureHttp: true');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    invalid(prop, value, 'expected an https:// URL (or http:// with allowInsecureHttp: true)');
  }
  if (url.username || url.password) {
    invalid(prop, redactUrl(value), 'expected a URL without user:password; credentials in a URL end up in the Job YAML');
  }
  // control characters would reach curl's argv raw (and NUL cannot travel in an env var at all)
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(value)) {
    invalid(prop, value, 'expected a URL without white space or control characters (percent-encode them)');
  }
  return value;
}

/**
 * A value that reaches a container's environment or argv: a NUL byte cannot travel there (execve ends the
 * string at it), so the container would fail to start or get a different value than the YAML says.
 */
export function checkNoNul(prop: string, value: string): string {
  if (value.includes('\u0000')) {
    invalid(prop, value, 'expected a value without NUL characters: environment variables and arguments cannot carry them');
  }
  return value;
}

function redactUrl(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

/** A whole number within [min, max]. */
export function checkInteger(prop: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    invalid(prop, value, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Every key of a string map, checked by `check`; returns the entries sorted by key for deterministic output. */
export function sortedEntries(
  prop: string,
  map: { [key: string]: string } | undefined,
  check: (prop: string, key: string) => string,
): [string, string][] {
  return Object.entries(map ?? {})
    .map(([key, value]) => {
      check(`${prop} key`, key);
      if (typeof value !== 'string') {
        invalid(`${prop}.${key}`, value, 'expected a string value');
      }
      checkNoNul(`${prop}.${key}`, value);
      return [key, value] as [string, string];
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A relative path inside a build context: no leading "/", no ".." segment, nothing a shell or kubelet expands. */
export function checkRelativePath(prop: string, path: string): string {
  const segments = path.split('/');
  if (path === '' || path.startsWith('/') || segments.includes('..') || /[\s$`\\]/.test(path)) {
    invalid(prop, path, 'expected a relative path inside the context, without "..", white space, "$", "`" or "\\"');
  }
  return path;
}

/** A Duration of whole seconds, at least `minSeconds`; returns the seconds. */
export function checkWholeSeconds(prop: string, duration: Duration, minSeconds: number): number {
  const millis = duration.toMilliseconds();
  if (millis % 1000 !== 0 || millis < minSeconds * 1000) {
    invalid(prop, `${millis / 1000}s`, `expected a whole number of seconds, at least ${minSeconds}`);
  }
  return millis / 1000;
}

const REGISTRY_HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/;

/** A registry host with an optional port, e.g. `registry.internal:5000`. */
export function checkRegistryHost(prop: string, host: string): string {
  if (typeof host !== 'string' || !REGISTRY_HOST.test(host)) {
    invalid(prop, host, 'expected a registry host with an optional port, e.g. "registry.internal:5000"');
  }
  return host;
}

/** A Dockerfile stage name (`--target`). */
export function checkTarget(prop: string, target: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(target)) {
    invalid(prop, target, 'expected a Dockerfile stage name: letters, digits, "_", "." and "-"');
  }
  return target;
}

/** One of an enum's values (JavaScript callers can pass anything). */
export function checkOneOf<T>(prop: string, value: T, allowed: { [name: string]: T }): T {
  const values = Object.values(allowed);
  if (!values.includes(value)) {
    invalid(prop, value, `expected one of ${Object.keys(allowed).join(', ')}`);
  }
  return value;
}
