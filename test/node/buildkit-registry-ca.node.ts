/**
 * BuildkitBuildJob's private-CA path with the real BuildKit on the real node: a TLS registry whose certificate a
 * private CA issued (not the tier's test CA, which every tool image trusts, so no image trusts this one). With a
 * `RegistryCertificateAuthority` the `buildkitd.toml` the build script writes gets `ca = ["…"]` for that registry
 * and BuildKit pushes, rootless and privileged; without it BuildKit refuses the certificate and nothing is pushed.
 * Verification stays on: the registry is never in `insecureRegistries`.
 */
import { createHash } from 'crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeJob, JobRun, NodeEnvironment } from './node';
import { BuildContext, BuildkitBuildJob, BuildkitMode, RegistryCertificateAuthority } from '../../src';
import { synthesize } from '../e2e/environment';
import { caBundleObjects, privateCaCertificate, Registry } from '../e2e/fixtures';
import { tarGz } from '../e2e/oci';

const UNKNOWN_AUTHORITY = 'x509: certificate signed by unknown authority';

let env: NodeEnvironment;
let corp: Registry;
let pem: string;
/** A `--cert-dir` for the test's own skopeo holding only the private CA: it checks the registry with verification on. */
let corpCertDir: string;

beforeAll(async () => {
  env = await NodeEnvironment.start('buildkit-ca');
  const dir = join(env.dir, 'private-ca');
  mkdirSync(dir, { recursive: true });
  const tls = privateCaCertificate(dir);
  pem = readFileSync(tls.ca, 'utf8');
  corpCertDir = join(dir, 'certs.d');
  mkdirSync(corpCertDir);
  copyFileSync(tls.ca, join(corpCertDir, 'ca.crt'));
  corp = await Registry.start(env.dir, 'corp', { tls });
});
afterAll(async () => {
  await corp?.stop();
  await env?.stop();
});

/** Builds a RUN step on the tier's busybox and pushes to the private-CA registry, with `authority` or without a bundle. */
async function build(mode: BuildkitMode, repository: string, authority?: RegistryCertificateAuthority): Promise<JobRun> {
  const base = env.tier.images.busybox;
  const archive = tarGz({ 'Dockerfile': 'ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\nRUN echo "built: $(cat /app.txt)"\n', 'app.txt': `${repository}\n` });
  const sha256 = createHash('sha256').update(archive).digest('hex');
  let level = '';
  const objects = synthesize(chart => {
    level = new BuildkitBuildJob(chart, 'build', {
      mode,
      context: BuildContext.fromUrl(env.files.serve(`/contexts/${sha256}.tar.gz`, archive), { sha256 }),
      destinations: [`${corp.host}/${repository}:1.0.0`],
      // only the base image's plain-http registry; the private-CA registry keeps TLS verification
      insecureRegistries: [base.split('/')[0]],
      buildArgs: { BASE: base },
      certificateAuthorities: authority ? [authority] : undefined,
    }).podSecurityLevel;
  });
  return env.runJob(objects, level, caBundleObjects(pem), 400_000);
}

/** The digest the private-CA registry serves for `ref`, from the test's skopeo trusting only the private CA. */
function corpDigest(ref: string): string {
  return JSON.parse(env.skopeo(['inspect', '--cert-dir', corpCertDir, `docker://${ref}`])).Digest;
}

describe('BuildkitBuildJob with the real BuildKit and a registry behind a private CA', () => {
  const cases: [BuildkitMode, string, () => RegistryCertificateAuthority][] = [
    [BuildkitMode.ROOTLESS, 'ConfigMap, for every registry the Job names', () => RegistryCertificateAuthority.fromConfigMap('corp-ca')],
    [BuildkitMode.PRIVILEGED, 'Secret, listing the registry', () => RegistryCertificateAuthority.fromSecret('corp-tls', 'ca.crt', { registries: [corp.host] })],
  ];
  for (const [mode, bundle, authority] of cases) {
    test(`${mode}, bundle from a ${bundle}: BuildKit trusts it through buildkitd.toml and pushes; the reported digest is the registry's`, async () => {
      const repository = `buildkit-ca/${mode}`;
      const run = await build(mode, repository, authority());
      expect(run.phase, describeJob(run)).toBe('Complete');
      const buildContainer = containerOf(run, 'build');
      expect(buildContainer.log).toContain(`built: ${repository}`);
      const destination = `${corp.host}/${repository}:1.0.0`;
      expect(buildContainer.terminationMessage).toBe(`${destination}@${corpDigest(destination)}\n`);
    });
  }

  test(`rootless, the same Job without the bundle: Failed with "${UNKNOWN_AUTHORITY}", nothing pushed`, async () => {
    const run = await build(BuildkitMode.ROOTLESS, 'buildkit-ca/untrusted');
    expect(run.phase, describeJob(run)).toBe('Failed');
    const buildContainer = containerOf(run, 'build');
    expect(buildContainer.exitCode).toBe(1);
    // BuildKit prints its error to the log; the script's termination message points there
    expect(buildContainer.log).toMatch(new RegExp(`${corp.host.replace(/\./g, '\\.')}.*${UNKNOWN_AUTHORITY}`));
    expect(buildContainer.terminationMessage).toBe('error: buildctl build failed with exit code 1 (BuildKit\'s message above)\n');
    expect(await corp.repositories()).not.toContain('buildkit-ca/untrusted');
  });
});
