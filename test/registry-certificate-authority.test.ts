import { Chart, Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import {
  BuildahBuildJob, BuildContext, BuildkitBuildJob, CertificateAuthoritySource, ImageArchive, KanikoBuildJob, OciConnector, OciConnectorBuildJob,
  RegistryCertificateAuthority, SkopeoPromoteJob, TarPushJob,
} from '../src';
import { container, newChart, synth, synthJob, volumeAt } from './util';

const CORP_CA = RegistryCertificateAuthority.fromConfigMap('corp-ca');
const BASE_CA = RegistryCertificateAuthority.fromSecret('base-tls', 'bundle.pem', { registries: ['base.corp.io'] });

/** The mount paths of a container under `root`, with their volumes' sources. */
function caMounts(job: any, c: any, root: string): { [path: string]: any } {
  return Object.fromEntries(c.volumeMounts.filter((m: any) => m.mountPath.startsWith(root)).map((m: any) => {
    expect(m.readOnly).toBe(true);
    const volume = volumeAt(job, c, m.mountPath).volume;
    return [m.mountPath, volume.configMap ?? volume.secret];
  }));
}

describe('RegistryCertificateAuthority', () => {
  test('factories: ConfigMap or Secret, key "ca.crt" by default, registries canonical', () => {
    expect(CORP_CA).toMatchObject({ source: CertificateAuthoritySource.CONFIG_MAP, name: 'corp-ca', key: 'ca.crt', registries: undefined });
    expect(BASE_CA).toMatchObject({ source: CertificateAuthoritySource.SECRET, name: 'base-tls', key: 'bundle.pem', registries: ['base.corp.io'] });
  });

  test('skopeo: the bundle for every registry at /etc/containers/certs.d/<host> of the source and each destination, read-only', () => {
    const chart = newChart();
    new SkopeoPromoteJob(chart, 'promote', {
      source: 'staging.corp.io:5000/team/api:1',
      destinations: ['harbor.corp.io/platform/api:1'],
      certificateAuthorities: [CORP_CA, BASE_CA],
    });
    const objects = synth(chart);
    const job = objects.find(o => o.kind === 'Job');
    expect(caMounts(job, container(job, 'promote'), '/etc/containers/certs.d')).toEqual({
      '/etc/containers/certs.d/base.corp.io': { secretName: 'base-tls', items: [{ key: 'bundle.pem', path: 'ca.crt' }], defaultMode: 0o444 },
      '/etc/containers/certs.d/harbor.corp.io': { name: 'corp-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
      '/etc/containers/certs.d/staging.corp.io:5000': { name: 'corp-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
    });
  });

  test('a bundle with registries wins over the bundle for every registry', () => {
    const chart = newChart();
    new TarPushJob(chart, 'push', {
      archive: ImageArchive.fromUrl('https://artifacts.corp.io/app.tar', { sha256: 'a'.repeat(64) }),
      destinations: ['base.corp.io/platform/app:1'],
      certificateAuthorities: [CORP_CA, BASE_CA],
    });
    const job = synthJob(chart);
    expect(Object.keys(caMounts(job, container(job, 'push'), '/etc/containers/certs.d'))).toEqual(['/etc/containers/certs.d/base.corp.io']);
    expect(volumeAt(job, container(job, 'push'), '/etc/containers/certs.d/base.corp.io').volume.secret.secretName).toBe('base-tls');
  });

  test('kaniko: --registry-certificate <host>=<file> per registry, files mounted outside /workspace; the promoter gets certs.d', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', {
      context: BuildContext.fromUrl('https://artifacts.corp.io/api.tar.gz'),
      destinations: ['harbor.corp.io/build/api:1'],
      cache: {},
      certificateAuthorities: [CORP_CA],
      promotion: { destinations: ['prod.corp.io/platform/api:1'] },
    });
    const job = synthJob(chart);
    const build = container(job, 'build');
    expect(build.args.filter((a: string) => a.startsWith('--registry-certificate'))).toEqual([
      '--registry-certificate=harbor.corp.io=/etc/kaniko/registry-certs/harbor.corp.io/ca.crt',
    ]);
    expect(Object.keys(caMounts(job, build, '/etc/kaniko/registry-certs'))).toEqual(['/etc/kaniko/registry-certs/harbor.corp.io']);
    expect(Object.keys(caMounts(job, container(job, 'promote'), '/etc/containers/certs.d'))).toEqual([
      '/etc/containers/certs.d/harbor.corp.io', '/etc/containers/certs.d/prod.corp.io',
    ]);
  });

  test('buildah: certs.d for the destinations, the cache and the listed base-image registry', () => {
    const chart = newChart();
    new BuildahBuildJob(chart, 'api', {
      context: BuildContext.fromUrl('https://artifacts.corp.io/api.tar.gz'),
      destinations: ['harbor.corp.io/build/api:1'],
      cache: { repository: 'cache.corp.io/build/api-cache' },
      certificateAuthorities: [CORP_CA, BASE_CA],
    });
    const job = synthJob(chart);
    expect(Object.keys(caMounts(job, container(job, 'build'), '/etc/containers/certs.d'))).toEqual([
      '/etc/containers/certs.d/base.corp.io', '/etc/containers/certs.d/cache.corp.io', '/etc/containers/certs.d/harbor.corp.io',
    ]);
  });

  test('downloads: curl gets CURL_CA_BUNDLE only from a bundle that lists the download host', () => {
    const build = (authorities: RegistryCertificateAuthority[]) => {
      const chart = newChart();
      new KanikoBuildJob(chart, 'api', {
        context: BuildContext.fromUrl('https://artifacts.corp.io/api.tar.gz'),
        destinations: ['harbor.corp.io/build/api:1'],
        certificateAuthorities: authorities,
      });
      return synthJob(chart);
    };
    const listed = build([RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: ['artifacts.corp.io'] })]);
    const fetch = container(listed, 'fetch-context');
    expect(fetch.env.find((e: any) => e.name === 'CURL_CA_BUNDLE')).toEqual({ name: 'CURL_CA_BUNDLE', value: '/etc/download-ca/ca.crt' });
    expect(volumeAt(listed, fetch, '/etc/download-ca').volume.configMap.name).toBe('corp-ca');
    // the bundle for every registry is not used for downloads: curl would trust nothing else
    expect(container(build([CORP_CA]), 'fetch-context').env.map((e: any) => e.name)).not.toContain('CURL_CA_BUNDLE');
  });

  test('git contexts: kaniko trusts the bundle listing the git host through SSL_CERT_DIR, next to its image\'s own store', () => {
    const build = (authorities: RegistryCertificateAuthority[]) => {
      const chart = newChart();
      new KanikoBuildJob(chart, 'api', {
        context: BuildContext.fromGit('https://git.corp.io/platform/api.git', { ref: 'main' }),
        destinations: ['harbor.corp.io/build/api:1'],
        certificateAuthorities: authorities,
      });
      return synthJob(chart);
    };
    const listed = build([CORP_CA, RegistryCertificateAuthority.fromSecret('git-tls', 'ca.crt', { registries: ['git.corp.io'] })]);
    const kaniko = container(listed, 'build');
    expect(kaniko.env.find((e: any) => e.name === 'SSL_CERT_DIR')).toEqual({ name: 'SSL_CERT_DIR', value: '/kaniko/ssl/certs:/etc/kaniko/git-ca' });
    expect(caMounts(listed, kaniko, '/etc/kaniko/git-ca')).toEqual({
      '/etc/kaniko/git-ca': { secretName: 'git-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
    });
    // the registry keeps its own bundle through --registry-certificate
    expect(kaniko.args).toContain('--registry-certificate=harbor.corp.io=/etc/kaniko/registry-certs/harbor.corp.io/ca.crt');
    // the bundle for every registry is not the git host's: the image's trust store decides
    const unlisted = container(build([CORP_CA]), 'build');
    expect(unlisted.env.map((e: any) => e.name)).not.toContain('SSL_CERT_DIR');
    expect(unlisted.volumeMounts.map((m: any) => m.mountPath)).not.toContain('/etc/kaniko/git-ca');
  });

  test('git contexts: BuildKit cannot trust a CA for its clone, so a bundle listing the git host is refused', () => {
    const build = () => new BuildkitBuildJob(newChart(), 'api', {
      context: BuildContext.fromGit('https://git.corp.io/platform/api.git'),
      destinations: ['harbor.corp.io/build/api:1'],
      certificateAuthorities: [CORP_CA, RegistryCertificateAuthority.fromSecret('git-tls', 'ca.crt', { registries: ['git.corp.io'] })],
    });
    expect(build).toThrow(/^certificateAuthorities\[1\].registries: got "git.corp.io"; expected no git host with BuildkitBuildJob: BuildKit runs git with a fixed environment and no git config/);
    expect(() => new BuildkitBuildJob(newChart(), 'api', {
      context: BuildContext.fromGit('https://git.corp.io/platform/api.git'),
      destinations: ['harbor.corp.io/build/api:1'],
      certificateAuthorities: [CORP_CA],
    })).not.toThrow();
    // OciConnectorBuildJob's BuildKit clones the same way: only a context download may have a bundle
    expect(() => new OciConnectorBuildJob(new Chart(Testing.app(), 'test', { namespace: 'builds' }), 'abc', {
      connector: OciConnector.fromName('harbor'),
      context: BuildContext.fromGit('https://git.corp.io/platform/abc.git'),
      destinations: ['harbor.corp.io/test/abc:v1'],
      certificateAuthorities: [RegistryCertificateAuthority.fromSecret('git-tls', 'ca.crt', { registries: ['git.corp.io'] })],
    })).toThrow(/^certificateAuthorities\[0\]: got "git-tls"; expected a bundle whose registries list only the context download host/);
  });

  test('OciConnectorBuildJob: a bundle may only serve the context download; one BuildKit would ignore is refused', () => {
    const build = (authorities: RegistryCertificateAuthority[]) => () => new OciConnectorBuildJob(new Chart(Testing.app(), 'test', { namespace: 'builds' }), 'abc', {
      connector: OciConnector.fromName('harbor'),
      context: BuildContext.fromUrl('https://artifacts.corp.io/abc.tar.gz'),
      destinations: ['harbor.corp.io/test/abc:v1'],
      certificateAuthorities: authorities,
    });
    expect(build([RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: ['artifacts.corp.io'] })])).not.toThrow();
    expect(build([CORP_CA])).toThrow(/^certificateAuthorities\[0\]: got "corp-ca"; expected a bundle whose registries list only the context download host/);
    expect(build([BASE_CA])).toThrow(/^certificateAuthorities\[0\]: got "base-tls"/);
  });

  test('without certificateAuthorities nothing is mounted', () => {
    const chart = newChart();
    new SkopeoPromoteJob(chart, 'promote', { source: 'a.io/x:1', destinations: ['b.io/x:1'] });
    const job = synthJob(chart);
    expect(job.spec.template.spec.volumes?.filter((v: any) => v.name.startsWith('registry-ca')) ?? []).toEqual([]);
  });

  test.each([
    [() => RegistryCertificateAuthority.fromConfigMap('corp-ca', '../ca.crt'), /^RegistryCertificateAuthority.fromConfigMap key: got "..\/ca.crt"; expected a Secret key/],
    [() => RegistryCertificateAuthority.fromSecret('corp-tls', 'certs/ca.crt'), /^RegistryCertificateAuthority.fromSecret key: got "certs\/ca.crt"/],
    [() => RegistryCertificateAuthority.fromSecret('corp-tls', '..'), /^RegistryCertificateAuthority.fromSecret key: got "\.\."; expected a relative file name/],
    [() => RegistryCertificateAuthority.fromConfigMap('Corp_CA'), /^RegistryCertificateAuthority.fromConfigMap configMapName: got "Corp_CA"/],
    [() => RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: ['https://harbor.corp.io'] }),
      /^RegistryCertificateAuthority.fromConfigMap registries\[0\]: got "https:\/\/harbor.corp.io"; expected a lower-case registry host/],
    [() => RegistryCertificateAuthority.fromConfigMap('corp-ca', 'ca.crt', { registries: [] }), /registries: got \[\]; expected a non-empty list/],
    [() => new SkopeoPromoteJob(newChart(), 'p', { source: 'a.io/x:1', destinations: ['b.io/x:1'], certificateAuthorities: [CORP_CA, RegistryCertificateAuthority.fromSecret('other')] }),
      /^certificateAuthorities\[1\]: got "other"; expected registries: certificateAuthorities\[0\] is already the bundle for every registry$/],
    [() => new SkopeoPromoteJob(newChart(), 'p', {
      source: 'a.io/x:1', destinations: ['b.io/x:1'], certificateAuthorities: [BASE_CA, RegistryCertificateAuthority.fromConfigMap('x', 'ca.crt', { registries: ['base.corp.io'] })],
    }), /^certificateAuthorities\[1\].registries: got "base.corp.io"; expected each registry in one CA bundle only; it is also in certificateAuthorities\[0\] \("base-tls"\)$/],
    [() => new KanikoBuildJob(newChart(), 'k', {
      context: BuildContext.fromUrl('https://a.io/c.tar.gz'), destinations: ['b.io/x:1'], extraArgs: ['--registry-certificate=b.io=/x'],
    }), /^extraArgs\[0\]: got "--registry-certificate=b.io=\/x"; expected a flag this construct does not manage; --registry-certificate is set from certificateAuthorities$/],
  ])('bad input %#: one-line error', (build, message) => {
    expect(build).toThrow(message);
  });
});
