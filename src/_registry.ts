import { invalid } from './_validate';

/** Docker Hub as image references name it. */
export const DOCKER_HUB = 'docker.io';

/** Hosts that all mean Docker Hub: the index, the registry API host and the short name. */
const DOCKER_HUB_ALIASES = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
/** A registry host name (letters, digits, "-", "."), with an optional port; bracketed IPv6 addresses are not supported. */
const HOST = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::([0-9]{1,5}))?$`);

/**
 * A registry host as `ImageReference` writes it: every Docker Hub alias (`index.docker.io`,
 * `registry-1.docker.io`) becomes `docker.io`, as `docker pull` does.
 */
export function canonicalRegistry(host: string): string {
  return DOCKER_HUB_ALIASES.includes(host.toLowerCase()) ? DOCKER_HUB : host;
}

/** Whether `host` is a host name with an optional port of 1 to 65535 (the case is not checked). */
export function isRegistryHost(host: string): boolean {
  const match = HOST.exec(host);
  return match !== null && (match[1] === undefined || (Number(match[1]) >= 1 && Number(match[1]) <= 65535));
}

/** A lower-case `host[:port]` naming a registry, returned canonical (Docker Hub aliases become `docker.io`). */
export function checkRegistryHost(prop: string, host: string): string {
  if (typeof host !== 'string' || host !== host.toLowerCase() || !isRegistryHost(host)) {
    invalid(prop, host, 'expected a lower-case registry host such as "private.corp.io" or "registry.internal:5000" (port 1-65535; no scheme, path or bracketed IPv6 address)');
  }
  return canonicalRegistry(host);
}

/**
 * What identifies a registry when two hosts are compared: host names are case-insensitive, and every Docker Hub
 * alias is `docker.io`.
 */
export function registryKey(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.includes(lower) ? DOCKER_HUB : lower;
}

/** A non-empty list of distinct registry hosts, returned canonical; `example` ends the error for a missing list. */
export function checkRegistryHosts(prop: string, hosts: string[], example: string): string[] {
  if (!Array.isArray(hosts) || hosts.length === 0) {
    invalid(prop, hosts, `expected a non-empty list of registry hosts such as ${example}`);
  }
  const checked = hosts.map((host, i) => checkRegistryHost(`${prop}[${i}]`, host));
  checked.forEach((host, i) => {
    if (checked.indexOf(host) !== i) {
      invalid(`${prop}[${i}]`, hosts[i], 'expected each registry once');
    }
  });
  return checked;
}
