import { describe, expect, test } from 'vitest';
import { ArchiveFormat, ImageArchive, ImageArchiveSource } from '../src';

describe('ImageArchive', () => {
  test('fromUrl defaults: https, format detected at run time, not verified', () => {
    const archive = ImageArchive.fromUrl('https://a.example.com/image.tar');
    expect(archive.source).toBe(ImageArchiveSource.URL);
    expect(archive.location).toBe('https://a.example.com/image.tar');
    expect(archive.format).toBe(ArchiveFormat.AUTO);
    expect(archive.sha256).toBeUndefined();
    expect(archive.allowInsecureHttp).toBe(false);
    expect(archive.claimName).toBeUndefined();
  });

  test('fromUrl with every option', () => {
    const archive = ImageArchive.fromUrl('http://a.internal/image.tar', { sha256: 'e'.repeat(64), format: ArchiveFormat.DOCKER_ARCHIVE, allowInsecureHttp: true });
    expect([archive.sha256, archive.format, archive.allowInsecureHttp]).toEqual(['e'.repeat(64), ArchiveFormat.DOCKER_ARCHIVE, true]);
  });

  test('fromPersistentVolumeClaim keeps the claim and the path', () => {
    const archive = ImageArchive.fromPersistentVolumeClaim('archives', 'team/api.tar', { format: ArchiveFormat.OCI_ARCHIVE });
    expect(archive.source).toBe(ImageArchiveSource.PERSISTENT_VOLUME_CLAIM);
    expect([archive.claimName, archive.location, archive.format]).toEqual(['archives', 'team/api.tar', ArchiveFormat.OCI_ARCHIVE]);
    expect(ImageArchive.fromPersistentVolumeClaim('archives', 'a.tar').format).toBe(ArchiveFormat.AUTO);
  });

  describe('fails when', () => {
    test.each<[string, () => unknown, RegExp]>([
      ['the URL is http without the opt-in', () => ImageArchive.fromUrl('http://a.example.com/i.tar'), /^ImageArchive.fromUrl url: got "http:\/\/a.example.com\/i.tar"; expected an https:\/\/ URL; plain http needs allowInsecureHttp: true$/],
      ['the URL holds an escape character', () => ImageArchive.fromUrl('https://a.example.com/i.tar#\u001b[31m'),
        /^ImageArchive.fromUrl url: got "https:\/\/a.example.com\/i.tar#\\u001b\[31m"; expected a URL without white space or control characters/],
      ['the URL is malformed', () => ImageArchive.fromUrl('not a url'), /^ImageArchive.fromUrl url: got "not a url"; expected an absolute https:\/\/ URL$/],
      ['the URL carries credentials', () => ImageArchive.fromUrl('https://u:p@a.example.com/i.tar'), /^ImageArchive.fromUrl url: got "https:\/\/\*\*\*@a.example.com\/i.tar"/],
      ['the sha256 is malformed', () => ImageArchive.fromUrl('https://a.example.com/i.tar', { sha256: 'abc' }), /^ImageArchive.fromUrl sha256: got "abc"; expected 64 lower-case hexadecimal characters/],
      ['the format is unknown', () => ImageArchive.fromUrl('https://a.example.com/i.tar', { format: 'tarball' as ArchiveFormat }), /^ImageArchive.fromUrl format: got "tarball"; expected one of auto, docker-archive, oci-archive$/],
      ['the claim name is invalid', () => ImageArchive.fromPersistentVolumeClaim('Archives', 'a.tar'), /^ImageArchive.fromPersistentVolumeClaim claimName: got "Archives"/],
      ['the path escapes the volume', () => ImageArchive.fromPersistentVolumeClaim('archives', '../etc/shadow'), /^ImageArchive.fromPersistentVolumeClaim path: got "..\/etc\/shadow"; expected a relative path/],
      ['the path is absolute', () => ImageArchive.fromPersistentVolumeClaim('archives', '/a.tar'), /^ImageArchive.fromPersistentVolumeClaim path: got "\/a.tar"/],
    ])('%s', (_, make, message) => {
      expect(make).toThrow(message);
    });
  });
});
