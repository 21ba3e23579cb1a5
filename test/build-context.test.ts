import { describe, expect, test } from 'vitest';
import { BuildContext, BuildContextSource } from '../src';

describe('BuildContext', () => {
  test('fromUrl keeps the URL and is https by default', () => {
    const context = BuildContext.fromUrl('https://a.example.com/ctx.tar.gz?sig=abc');
    expect(context.source).toBe(BuildContextSource.URL);
    expect(context.location).toBe('https://a.example.com/ctx.tar.gz?sig=abc');
  });

  test('fromUrl allows http only on request', () => {
    expect(BuildContext.fromUrl('http://a.internal/ctx.tar.gz', { allowInsecureHttp: true }).location).toBe('http://a.internal/ctx.tar.gz');
  });

  test('fromGit keeps the repository URL', () => {
    const context = BuildContext.fromGit('https://github.com/acme/api.git', { ref: 'v1.4.0' });
    expect(context.source).toBe(BuildContextSource.GIT);
    expect(context.location).toBe('https://github.com/acme/api.git');
  });

  test('fromConfigMap keeps the ConfigMap name', () => {
    const context = BuildContext.fromConfigMap('dockerfile');
    expect(context.source).toBe(BuildContextSource.CONFIG_MAP);
    expect(context.location).toBe('dockerfile');
  });

  describe('fails when', () => {
    test.each<[string, () => unknown, RegExp]>([
      ['the URL is http without the opt-in', () => BuildContext.fromUrl('http://a.example.com/c.tar.gz'),
        /^BuildContext.fromUrl url: got "http:\/\/a.example.com\/c.tar.gz"; expected an https:\/\/ URL; plain http needs allowInsecureHttp: true$/],
      ['the URL holds a control character', () => BuildContext.fromUrl('https://a.example.com/c.tar.gz?v=\u0000x'),
        /^BuildContext.fromUrl url: got "https:\/\/a.example.com\/c.tar.gz\?v=\\u0000x"; expected a URL without white space or control characters/],
      ['the URL holds white space', () => BuildContext.fromUrl('https://a.example.com/c.tar.gz?v=a\tb'), /^BuildContext.fromUrl url: .*without white space/],
      ['the URL is not a URL', () => BuildContext.fromUrl('artifacts/c.tar.gz'), /^BuildContext.fromUrl url: got "artifacts\/c.tar.gz"; expected an absolute https:\/\/ URL$/],
      ['the URL uses another scheme', () => BuildContext.fromUrl('ftp://a.example.com/c.tar.gz'), /^BuildContext.fromUrl url: .*expected an https:\/\/ URL/],
      ['the URL carries credentials', () => BuildContext.fromUrl('https://user:pw@a.example.com/c.tar.gz'),
        /^BuildContext.fromUrl url: got "https:\/\/\*\*\*@a.example.com\/c.tar.gz"; expected a URL without user:password/],
      ['the sha256 is malformed', () => BuildContext.fromUrl('https://a.example.com/c.tar.gz', { sha256: 'ABC' }),
        /^BuildContext.fromUrl sha256: got "ABC"; expected 64 lower-case hexadecimal characters/],
      ['the sha256 is upper-case', () => BuildContext.fromUrl('https://a.example.com/c.tar.gz', { sha256: 'F'.repeat(64) }), /sha256: got "F{64}"/],
      ['the git URL is not https', () => BuildContext.fromGit('git@github.com:acme/api.git'), /^BuildContext.fromGit url: got "git@github.com:acme\/api.git"/],
      ['the git URL is http', () => BuildContext.fromGit('http://github.com/acme/api.git'), /^BuildContext.fromGit url: .*https/],
      ['the git URL carries a fragment', () => BuildContext.fromGit('https://github.com/acme/api.git#main'), /^BuildContext.fromGit url: .*without "#"/],
      ['the git ref is invalid', () => BuildContext.fromGit('https://github.com/acme/api.git', { ref: 'main#evil' }), /^BuildContext.fromGit ref: got "main#evil"/],
      ['the git ref has ..', () => BuildContext.fromGit('https://github.com/acme/api.git', { ref: 'a..b' }), /^BuildContext.fromGit ref: got "a..b"/],
      ['the git sub path escapes', () => BuildContext.fromGit('https://github.com/acme/api.git', { subPath: 'a/../../b' }), /^BuildContext.fromGit subPath: got "a\/..\/..\/b"/],
      ['the ConfigMap name is not a Kubernetes name', () => BuildContext.fromConfigMap('Docker_File'),
        /^BuildContext.fromConfigMap name: got "Docker_File"; expected a Kubernetes name of at most 63 characters/],
    ])('%s', (_, make, message) => {
      expect(make).toThrow(message);
    });
  });
});
