/** Docker Hub as image references name it. */
export const DOCKER_HUB = 'docker.io';

/** Hosts that all mean Docker Hub: the index, the registry API host and the short name. */
const DOCKER_HUB_ALIASES = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** A registry host as `ImageReference` writes it: `index.docker.io` becomes `docker.io` (as `docker pull` does). */
export function canonicalRegistry(host: string): string {
  return host === 'index.docker.io' ? DOCKER_HUB : host;
}

/**
 * What identifies a registry when two hosts are compared: host names are case-insensitive, and every Docker Hub
 * alias is `docker.io`.
 */
export function registryKey(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.includes(lower) ? DOCKER_HUB : lower;
}
