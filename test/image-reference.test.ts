import { describe, expect, test } from 'vitest';
import { ImageReference } from '../src';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('ImageReference.parse', () => {
  test.each([
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined, 'docker.io/library/nginx'],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined, 'docker.io/library/nginx:1.27'],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined, 'docker.io/bitnami/redis:7'],
    ['index.docker.io/library/alpine:3', 'docker.io', 'library/alpine', '3', undefined, 'docker.io/library/alpine:3'],
    ['localhost/app:dev', 'localhost', 'app', 'dev', undefined, 'localhost/app:dev'],
    ['registry.internal:5000/build/api:1.4.0', 'registry.internal:5000', 'build/api', '1.4.0', undefined, 'registry.internal:5000/build/api:1.4.0'],
    ['127.0.0.1:5000/a/b/c:v1_2.3-x', '127.0.0.1:5000', 'a/b/c', 'v1_2.3-x', undefined, '127.0.0.1:5000/a/b/c:v1_2.3-x'],
    [`harbor.example.com/p/api@${DIGEST}`, 'harbor.example.com', 'p/api', undefined, DIGEST, `harbor.example.com/p/api@${DIGEST}`],
    [`harbor.example.com/p/api:1.0@${DIGEST}`, 'harbor.example.com', 'p/api', '1.0', DIGEST, `harbor.example.com/p/api:1.0@${DIGEST}`],
    ['my-registry.io/team/my_app__x.y-z:TAG', 'my-registry.io', 'team/my_app__x.y-z', 'TAG', undefined, 'my-registry.io/team/my_app__x.y-z:TAG'],
    ['registry-1.docker.io/nginx:1', 'docker.io', 'library/nginx', '1', undefined, 'docker.io/library/nginx:1'],
    ['registry-1.docker.io/bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined, 'docker.io/bitnami/redis:7'],
    ['index.docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined, 'docker.io/library/nginx'],
    ['registry.internal:65535/app:1', 'registry.internal:65535', 'app', '1', undefined, 'registry.internal:65535/app:1'],
  ])('parses %s', (ref, registry, repository, tag, digest, normalized) => {
    // WHEN
    const parsed = ImageReference.parse(ref);
    // THEN
    expect(parsed.registry).toBe(registry);
    expect(parsed.repository).toBe(repository);
    expect(parsed.tag).toBe(tag);
    expect(parsed.digest).toBe(digest);
    expect(parsed.toString()).toBe(normalized);
    expect(parsed.name).toBe(`${registry}/${repository}`);
  });

  test('withTag and withDigest return new references and keep the other part', () => {
    const ref = ImageReference.parse('harbor.example.com/p/api:1.0');
    expect(ref.withTag('2.0').toString()).toBe('harbor.example.com/p/api:2.0');
    expect(ref.withDigest(DIGEST).toString()).toBe(`harbor.example.com/p/api:1.0@${DIGEST}`);
    expect(ref.withDigest(DIGEST).withTag('x').toString()).toBe(`harbor.example.com/p/api:x@${DIGEST}`);
    expect(ref.toString()).toBe('harbor.example.com/p/api:1.0');
  });

  test('a tag of 128 characters is the longest allowed', () => {
    expect(ImageReference.parse(`r.io/a:${'t'.repeat(128)}`).tag).toHaveLength(128);
    expect(() => ImageReference.parse(`r.io/a:${'t'.repeat(129)}`)).toThrow(/tag of at most 128/);
  });

  test.each([
    ['', /expected an image reference/],
    ['Harbor.example.com/Team/App:1', /repository names must be lower-case/],
    ['registry.io/Team/app:1', /repository names must be lower-case/],
    ['registry.io/team/app:.bad', /tag of at most 128/],
    ['registry.io/team/app:-bad', /tag of at most 128/],
    ['registry.io/team/app:has space', /tag/],
    ['registry.io/team/app@sha256:abc', /64 lower-case hexadecimal/],
    [`registry.io/team/app@md5:${'a'.repeat(64)}`, /"sha256:"/],
    ['registry.io/team//app:1', /repository path/],
    ['registry.io/team/app-:1', /repository path/],
    ['-bad.io:5000/app:1', /registry host/],
    ['registry.io:port/app:1', /registry host|tag/],
    [`r.io/${'a'.repeat(260)}:1`, /at most 255 characters/],
    ['registry.internal:65536/app:1', /optional ":port" \(1-65535\)/],
    ['registry.internal:99999/app:1', /optional ":port" \(1-65535\)/],
    ['registry.internal:0/app:1', /optional ":port" \(1-65535\)/],
    ['[::1]:5000/app:1', /bracketed IPv6 hosts are not supported/],
    ['MyReg/foo:1', /; expected a registry host with a "\." or ":port" \(or localhost\), or a lower-case Docker Hub namespace; Docker reads "MyReg" \(it has upper-case letters\) as a registry host$/],
  ])('fails when the reference is %j', (ref, message) => {
    expect(() => ImageReference.parse(ref)).toThrow(message);
  });

  test('errors are one line naming the value', () => {
    expect(() => ImageReference.parse('Bad/Ref')).toThrow(/^image reference: got "Bad\/Ref"; [^\n]+$/);
  });

  test('fails when withTag or withDigest get invalid values', () => {
    const ref = ImageReference.parse('r.io/a:1');
    expect(() => ref.withTag('no/slash')).toThrow(/^tag: got "no\/slash"/);
    expect(() => ref.withDigest('sha256:123')).toThrow(/^digest: got "sha256:123"/);
  });
});
