import { describe, expect, test } from 'vitest';
import { CredentialsSource, RegistryCredentials } from '../src';

describe('RegistryCredentials', () => {
  test('fromDockerConfigSecret defaults to the .dockerconfigjson key', () => {
    const creds = RegistryCredentials.fromDockerConfigSecret('push');
    expect(creds.source).toBe(CredentialsSource.DOCKER_CONFIG_SECRET);
    expect(creds.secretName).toBe('push');
    expect(creds.dockerConfigKey).toBe('.dockerconfigjson');
    expect(creds.usernameKey).toBeUndefined();
  });

  test('fromDockerConfigSecret takes another key (Opaque Secrets)', () => {
    expect(RegistryCredentials.fromDockerConfigSecret('push', 'config.json').dockerConfigKey).toBe('config.json');
  });

  test('fromUsernamePassword defaults to seed 000 keys', () => {
    const creds = RegistryCredentials.fromUsernamePassword('harbor-credentials');
    expect(creds.source).toBe(CredentialsSource.USERNAME_PASSWORD_SECRET);
    expect(creds.usernameKey).toBe('username');
    expect(creds.passwordKey).toBe('password');
    expect(creds.dockerConfigKey).toBeUndefined();
  });

  test('fromUsernamePassword takes other keys', () => {
    const creds = RegistryCredentials.fromUsernamePassword('robot', { usernameKey: 'name', passwordKey: 'secret' });
    expect([creds.usernameKey, creds.passwordKey]).toEqual(['name', 'secret']);
  });

  test('fromUsernamePassword takes additional registries for private base images, Docker Hub aliases canonical', () => {
    const creds = RegistryCredentials.fromUsernamePassword('robot', { additionalRegistries: ['private.corp.io', 'registry.internal:5000', 'registry-1.docker.io'] });
    expect(creds.additionalRegistries).toEqual(['private.corp.io', 'registry.internal:5000', 'docker.io']);
    expect(RegistryCredentials.fromUsernamePassword('robot').additionalRegistries).toEqual([]);
    expect(RegistryCredentials.fromDockerConfigSecret('push').additionalRegistries).toEqual([]);
  });

  test('anonymous names no Secret', () => {
    const creds = RegistryCredentials.anonymous();
    expect(creds.source).toBe(CredentialsSource.ANONYMOUS);
    expect(creds.secretName).toBeUndefined();
  });

  describe('fails when', () => {
    test('the Secret name is not a Kubernetes name', () => {
      expect(() => RegistryCredentials.fromDockerConfigSecret('Harbor_Creds')).toThrow(/^RegistryCredentials.fromDockerConfigSecret secretName: got "Harbor_Creds"; expected a Kubernetes name/);
      expect(() => RegistryCredentials.fromUsernamePassword('x'.repeat(64))).toThrow(/^RegistryCredentials.fromUsernamePassword secretName: got "x{64}"/);
    });

    test('a key is not a Secret key', () => {
      expect(() => RegistryCredentials.fromDockerConfigSecret('s', 'a/b')).toThrow(/^RegistryCredentials.fromDockerConfigSecret key: got "a\/b"; expected a Secret key/);
      expect(() => RegistryCredentials.fromUsernamePassword('s', { usernameKey: '' })).toThrow(/usernameKey: got ""/);
      expect(() => RegistryCredentials.fromUsernamePassword('s', { passwordKey: 'p w' })).toThrow(/passwordKey: got "p w"/);
    });

    test.each([
      ['https://private.corp.io'],
      ['private.corp.io/base'],
      ['Private.Corp.io'],
      ['private.corp.io:65536'],
      ['[::1]:5000'],
      [''],
    ])('an additional registry is %j', host => {
      const make = () => RegistryCredentials.fromUsernamePassword('s', { additionalRegistries: [host] });
      expect(make).toThrow(/^RegistryCredentials.fromUsernamePassword additionalRegistries\[0\]: got .*; expected a lower-case registry host such as "private.corp.io" [^\n]+$/);
      expect(make).toThrow(`got ${JSON.stringify(host)};`);
    });

    test('username and password share a key', () => {
      expect(() => RegistryCredentials.fromUsernamePassword('s', { usernameKey: 'k', passwordKey: 'k' })).toThrow(/^RegistryCredentials.fromUsernamePassword passwordKey: got "k"; expected a key other than usernameKey$/);
    });
  });
});
