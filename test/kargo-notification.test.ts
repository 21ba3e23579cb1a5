import { Duration } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { BuildContext, ContainerNaming, KanikoBuildJob, KargoNotification, ToolImages } from '../src';
import { CONSTRUCTS } from './constructs';
import { container, containerNames, envOf, newChart, RESTRICTED_SECURITY_CONTEXT, synth, volumeAt } from './util';
import { NOTIFY_KARGO_SCRIPT } from '../src/_scripts';

const WEBHOOK = KargoNotification.webhook({ secretName: 'kargo-webhook' });

describe('kargoNotification', () => {
  test.each(Object.keys(CONSTRUCTS))('%s: the tool containers run as init containers, then notify-kargo alone', name => {
    // GIVEN
    const plain = newChart();
    CONSTRUCTS[name](plain, {});
    const without = containerNames(synth(plain).find(o => o.kind === 'Job'));
    const chart = newChart();
    // WHEN
    CONSTRUCTS[name](chart, { kargoNotification: WEBHOOK });
    // THEN
    const job = synth(chart).find(o => o.kind === 'Job');
    expect(containerNames(job)).toEqual({ init: [...without.init, ...without.main], main: ['notify-kargo'] });
    // kubectl logs still shows the tool
    expect(job.spec.template.metadata.annotations['kubectl.kubernetes.io/default-container']).not.toBe('notify-kargo');
  });

  test('notify-kargo: curl image, restricted, the URL only as a Secret file, no service-account token', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', {
      context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
      destinations: ['r.io/a:1'],
      kargoNotification: KargoNotification.webhook({ secretName: 'kargo-webhook', urlKey: 'receiver-url', headerName: 'X-Api-Key', headerKey: 'api-key', timeout: Duration.seconds(5) }),
    });
    const job = synth(chart).find(o => o.kind === 'Job');
    const notify = container(job, 'notify-kargo');
    expect(notify.image).toBe(ToolImages.DOWNLOAD_HELPER);
    expect(notify.command).toEqual(['/bin/sh', '-c', NOTIFY_KARGO_SCRIPT]);
    expect(notify.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    expect(envOf(notify)).toEqual({
      KARGO_WEBHOOK_URL_FILE: '/kargo-webhook/url/url',
      ALLOW_INSECURE_HTTP: 'false',
      NOTIFY_TIMEOUT_SECONDS: '5',
      KARGO_WEBHOOK_HEADER_NAME: 'X-Api-Key',
      KARGO_WEBHOOK_HEADER_FILE: '/kargo-webhook/header/header',
    });
    expect(volumeAt(job, notify, '/kargo-webhook/url').volume.secret).toMatchObject({ secretName: 'kargo-webhook', items: [{ key: 'receiver-url', path: 'url' }] });
    expect(volumeAt(job, notify, '/kargo-webhook/header').volume.secret).toMatchObject({ secretName: 'kargo-webhook', items: [{ key: 'api-key', path: 'header' }] });
    expect(job.spec.template.spec.automountServiceAccountToken).toBe(false);
    // only notify-kargo mounts the webhook Secret
    for (const c of [...job.spec.template.spec.initContainers]) {
      expect((c.volumeMounts ?? []).map((m: any) => m.mountPath)).not.toContain('/kargo-webhook/url');
    }
  });

  test('the classic container names leave notify-kargo as it is', () => {
    const chart = newChart();
    new KanikoBuildJob(chart, 'api', {
      context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], containerNaming: ContainerNaming.CLASSIC, kargoNotification: WEBHOOK,
    });
    expect(containerNames(synth(chart).find(o => o.kind === 'Job')).main).toEqual(['notify-kargo']);
  });

  test('same input, byte-identical YAML', () => {
    const yaml = () => {
      const chart = newChart();
      CONSTRUCTS.SkopeoPromoteJob(chart, { kargoNotification: WEBHOOK });
      return JSON.stringify(synth(chart));
    };
    expect(yaml()).toBe(yaml());
  });

  describe('fails when', () => {
    test.each<[string, () => unknown, RegExp]>([
      ['a webhook notification has no Secret', () => KargoNotification.webhook({ secretName: undefined as any }),
        /^KargoNotification.webhook secretName: got undefined; expected the name of the Secret holding the webhook receiver's URL/],
      ['the Secret name is not a Kubernetes name', () => KargoNotification.webhook({ secretName: 'Kargo_Webhook' }), /^KargoNotification.webhook secretName: got "Kargo_Webhook"/],
      ['the URL key is not a Secret key', () => KargoNotification.webhook({ secretName: 's', urlKey: 'a/b' }), /^KargoNotification.webhook urlKey: got "a\/b"; expected a Secret key/],
      ['a header key without a header name', () => KargoNotification.webhook({ secretName: 's', headerKey: 'k' }), /^KargoNotification.webhook headerKey: got "k"; expected headerName as well/],
      ['the header name is not a token', () => KargoNotification.webhook({ secretName: 's', headerName: 'X Api' }), /^KargoNotification.webhook headerName: got "X Api"; expected an HTTP header name/],
      ['the header is one the request sets', () => KargoNotification.webhook({ secretName: 's', headerName: 'content-type' }), /^KargoNotification.webhook headerName: got "content-type"; expected a header the request does not set itself/],
      ['the header key is the URL key', () => KargoNotification.webhook({ secretName: 's', headerName: 'X-Key', headerKey: 'url' }), /^KargoNotification.webhook headerKey: got "url"; expected a key other than urlKey/],
      ['the timeout is not whole seconds', () => KargoNotification.webhook({ secretName: 's', timeout: Duration.millis(1500) }), /^KargoNotification.webhook timeout: got "1.5s"; expected a whole number of seconds/],
      ['kargoNotification is not a KargoNotification', () => CONSTRUCTS.TarPushJob(newChart(), { kargoNotification: { secretName: 's' } as any }),
        /^kargoNotification: got \{"secretName":"s"\}; expected KargoNotification.webhook\(\{ secretName: … \}\)$/],
    ])('%s', (_name, make, error) => {
      expect(make).toThrow(error);
    });
  });
});
