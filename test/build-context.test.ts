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

  test('fromUrl takes .tar.gz and .tgz paths (any case, query aside), and any path with assumeTarGz', () => {
    expect(BuildContext.fromUrl('https://a.example.com/ctx.TGZ').location).toBe('https://a.example.com/ctx.TGZ');
    expect(BuildContext.fromUrl('https://s3.example.com/b/ctx.tar.gz?X-Amz-Signature=ab.zip').source).toBe(BuildContextSource.URL);
    expect(BuildContext.fromUrl('https://ci.example.com/artifacts/42/download', { assumeTarGz: true }).location).toBe('https://ci.example.com/artifacts/42/download');
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

  test.each<[string, BuildContext, BuildContextSource, string]>([
    ['fromPersistentVolumeClaim', BuildContext.fromPersistentVolumeClaim('sources', { subPath: 'api' }), BuildContextSource.PERSISTENT_VOLUME_CLAIM, 'sources'],
    ['fromS3', BuildContext.fromS3('s3://acme-contexts/api.tar.gz'), BuildContextSource.S3, 's3://acme-contexts/api.tar.gz'],
    ['fromGcs', BuildContext.fromGcs('gs://acme_contexts/api.tar.gz'), BuildContextSource.GCS, 'gs://acme_contexts/api.tar.gz'],
  ])('%s keeps its source and location', (_, context, source, location) => {
    expect(context.source).toBe(source);
    expect(context.location).toBe(location);
  });

  describe('fails when', () => {
    test.each<[string, () => unknown, RegExp]>([
      ['the URL is http without the opt-in', () => BuildContext.fromUrl('http://a.example.com/c.tar.gz'),
        /^BuildContext.fromUrl url: got "http:\/\/a.example.com\/c.tar.gz"; expected an https:\/\/ URL; plain http needs allowInsecureHttp: true$/],
      ['the URL holds a control character', () => BuildContext.fromUrl('https://a.example.com/c.tar.gz?v=\u0000x'),
        /^BuildContext.fromUrl url: got "https:\/\/a.example.com\/c.tar.gz\?v=\\u0000x"; expected a URL without white space or control characters/],
      ['the URL holds white space', () => BuildContext.fromUrl('https://a.example.com/c.tar.gz?v=a\tb'), /^BuildContext.fromUrl url: .*without white space/],
      ['the URL path is not a .tar.gz or .tgz', () => BuildContext.fromUrl('https://a.example.com/context.zip'),
        /^BuildContext.fromUrl url: got "https:\/\/a.example.com\/context.zip"; expected a path ending in .tar.gz or .tgz \(a gzip-compressed tar archive\); if the URL serves one under another name, set assumeTarGz: true$/],
      ['the URL is a plain tar', () => BuildContext.fromUrl('https://a.example.com/c.tar?x=.tar.gz'), /^BuildContext.fromUrl url: .*expected a path ending in .tar.gz or .tgz/],
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
      ['the git token Secret is not a name', () => BuildContext.fromGit('https://github.com/acme/api.git', { tokenSecret: 'Git_Token' }), /^BuildContext.fromGit tokenSecret: got "Git_Token"; expected a Kubernetes name/],
      ['a git username comes without a token', () => BuildContext.fromGit('https://github.com/acme/api.git', { username: 'oauth2' }),
        /^BuildContext.fromGit tokenSecret: got undefined; expected a tokenSecret with tokenKey or username$/],
      ['the git username has a colon', () => BuildContext.fromGit('https://github.com/acme/api.git', { tokenSecret: 't', username: 'a:b' }), /^BuildContext.fromGit username: got "a:b"/],
      ['the claim name is not a Kubernetes name', () => BuildContext.fromPersistentVolumeClaim('My Claim'), /^BuildContext.fromPersistentVolumeClaim claimName: got "My Claim"; expected a Kubernetes name/],
      ['the claim sub path escapes', () => BuildContext.fromPersistentVolumeClaim('c', { subPath: '../x' }), /^BuildContext.fromPersistentVolumeClaim subPath: got "..\/x"; expected a relative path/],
      ['the S3 URI has another scheme', () => BuildContext.fromS3('https://acme.s3.amazonaws.com/c.tar.gz'),
        /^BuildContext.fromS3 uri: got "https:\/\/acme.s3.amazonaws.com\/c.tar.gz"; expected s3:\/\/<bucket>\/<key of a .tar.gz>/],
      ['the S3 URI has no key', () => BuildContext.fromS3('s3://acme-contexts'), /^BuildContext.fromS3 uri: got "s3:\/\/acme-contexts"; expected s3:/],
      ['the S3 bucket is upper-case', () => BuildContext.fromS3('s3://Acme/c.tar.gz'), /^BuildContext.fromS3 uri: got "s3:\/\/Acme\/c.tar.gz"/],
      ['the S3 key has white space', () => BuildContext.fromS3('s3://acme/a b.tar.gz'), /^BuildContext.fromS3 uri: got "s3:\/\/acme\/a b.tar.gz"/],
      ['the S3 region is not a region', () => BuildContext.fromS3('s3://acme/c.tar.gz', { region: 'Europe' }), /^BuildContext.fromS3 region: got "Europe"; expected an AWS region/],
      ['the S3 endpoint is http', () => BuildContext.fromS3('s3://acme/c.tar.gz', { endpoint: 'http://minio:9000' }), /^BuildContext.fromS3 endpoint: got "http:\/\/minio:9000"; expected an https:\/\/ URL/],
      ['an S3 credentials key comes without a Secret', () => BuildContext.fromS3('s3://acme/c.tar.gz', { credentialsKey: 'creds' }),
        /^BuildContext.fromS3 credentialsKey: got "creds"; expected credentialsSecret as well$/],
      ['the GCS URI is malformed', () => BuildContext.fromGcs('gs:/acme/c.tar.gz'), /^BuildContext.fromGcs uri: got "gs:\/acme\/c.tar.gz"; expected gs:\/\/<bucket>\/<object of a .tar.gz>/],
      ['the GCS credentials key is not a key', () => BuildContext.fromGcs('gs://acme/c.tar.gz', { credentialsSecret: 'sa', credentialsKey: 'a/b' }),
        /^BuildContext.fromGcs credentialsKey: got "a\/b"; expected a Secret key/],
      ['a ConfigMap context is given a subPath', () => BuildContext.fromConfigMap('dockerfile', { subPath: 'api' }),
        /^BuildContext.fromConfigMap subPath: got "api"; expected no subPath: ConfigMap keys cannot contain "\/", so the mounted ConfigMap has no sub-directories; for a context with directories use BuildContext.fromLocalDirectory\(\) or fromPersistentVolumeClaim\(claim, \{ subPath \}\)$/],
      ['a ConfigMap context is given an unknown option', () => BuildContext.fromConfigMap('dockerfile', { items: [] } as any),
        /^BuildContext.fromConfigMap options: got \["items"\]; expected no options: a ConfigMap context is the ConfigMap, mounted read-only$/],
      ['the ConfigMap name is not a Kubernetes name', () => BuildContext.fromConfigMap('Docker_File'),
        /^BuildContext.fromConfigMap name: got "Docker_File"; expected a Kubernetes name of at most 63 characters/],
    ])('%s', (_, make, message) => {
      expect(make).toThrow(message);
    });
  });
});
