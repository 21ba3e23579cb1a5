import { Duration } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { OciConnector, ProxyAddressing, RegistryConfigName, VolumeAttributeStyle } from '../src';

describe('OciConnector', () => {
  test('defaults', () => {
    // WHEN
    const connector = OciConnector.fromName('harbor');

    // THEN
    expect(connector.name).toBe('harbor');
    expect(connector.namespace).toBeUndefined();
    expect(connector.proxyHost).toBeUndefined();
    expect(connector.registry).toBeUndefined();
    expect(connector.tokenExpiration).toBeUndefined();
    expect(connector.addressing).toBe(ProxyAddressing.PATH_PREFIX);
    expect(connector.registryConfigName).toBe(RegistryConfigName.REGISTRY_CONFIG);
    expect(connector.volumeAttributeStyle).toBe(VolumeAttributeStyle.BOTH);
  });

  test('all options', () => {
    // WHEN
    const connector = OciConnector.fromName('harbor', {
      namespace: 'ci',
      proxyHost: 'proxy.ci.svc:8080',
      addressing: ProxyAddressing.HOST_ONLY,
      registry: 'harbor.example.com',
      registryConfigName: RegistryConfigName.DOCKER_CONFIG,
      tokenExpiration: Duration.hours(3),
      volumeAttributeStyle: VolumeAttributeStyle.LEGACY,
    });

    // THEN
    expect(connector.namespace).toBe('ci');
    expect(connector.proxyHost).toBe('proxy.ci.svc:8080');
    expect(connector.addressing).toBe(ProxyAddressing.HOST_ONLY);
    expect(connector.registry).toBe('harbor.example.com');
    expect(connector.registryConfigName).toBe('docker-config');
    expect(connector.tokenExpiration?.toMinutes()).toBe(180);
    expect(connector.volumeAttributeStyle).toBe('connector.name');
  });

  test('URLs as the status and spec show them are reduced to host and port', () => {
    const connector = OciConnector.fromName('harbor', {
      proxyHost: 'http://c-harbor.default.svc.cluster.local',
      registry: 'https://harbor.example.com:8443/',
    });
    expect(connector.proxyHost).toBe('c-harbor.default.svc.cluster.local');
    expect(connector.registry).toBe('harbor.example.com:8443');
  });

  describe('fails when', () => {
    test.each<[string, () => unknown, RegExp]>([
      ['the name is not a DNS label', () => OciConnector.fromName('Harbor.Prod'),
        /^OciConnector.fromName name: got "Harbor.Prod"; expected a DNS label of at most 63 characters/],
      ['the name is empty', () => OciConnector.fromName(''), /^OciConnector.fromName name: got ""; expected a DNS label/],
      ['the name is too long', () => OciConnector.fromName('a'.repeat(64)), /^OciConnector.fromName name: got "a{64}"/],
      ['the namespace is not a DNS label', () => OciConnector.fromName('harbor', { namespace: 'CI' }), /^OciConnector.fromName namespace: got "CI"/],
      ['the proxy host is not a host', () => OciConnector.fromName('harbor', { proxyHost: 'c harbor' }),
        /^OciConnector.fromName proxyHost: got "c harbor"; expected a registry host with an optional port/],
      ['the proxy URL has a path', () => OciConnector.fromName('harbor', { proxyHost: 'http://proxy.svc/v2' }),
        /^OciConnector.fromName proxyHost: got "http:\/\/proxy.svc\/v2"; expected a URL with nothing after the host and port$/],
      ['the registry URL carries credentials', () => OciConnector.fromName('harbor', { registry: 'https://u:p@harbor.example.com' }),
        /^OciConnector.fromName registry: .*nothing after the host and port$/],
      ['the token expiration is under a minute', () => OciConnector.fromName('harbor', { tokenExpiration: Duration.seconds(30) }),
        /^OciConnector.fromName tokenExpiration: got "30s"; expected a whole number of seconds, at least 60$/],
      ['the token expiration is not whole minutes', () => OciConnector.fromName('harbor', { tokenExpiration: Duration.seconds(90) }),
        /^OciConnector.fromName tokenExpiration: got "90s"; expected whole minutes/],
    ])('%s', (_, make, message) => {
      expect(make).toThrow(message);
    });
  });
});
