import { invalid } from './_validate';

/** `os/arch[/variant]`, as BuildKit, buildah and the OCI image index spell a platform. */
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

/** Fails unless every platform is `os/arch[/variant]` and listed once; returns them in the given order. */
export function checkPlatforms(platforms: string[]): string[] {
  if (!Array.isArray(platforms)) {
    invalid('platforms', platforms, 'expected a list of os/arch[/variant] such as ["linux/amd64", "linux/arm64"]');
  }
  return platforms.map((platform, i) => {
    if (typeof platform !== 'string' || !PLATFORM.test(platform)) {
      invalid(`platforms[${i}]`, platform, 'expected os/arch[/variant] such as "linux/amd64" or "linux/arm/v7"');
    }
    if (platforms.indexOf(platform) !== i) {
      invalid(`platforms[${i}]`, platform, 'expected each platform once; this one is listed twice');
    }
    return platform;
  });
}
