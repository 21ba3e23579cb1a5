import * as kplus from 'cdk8s-plus-28';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { NOTIFY_KARGO_SCRIPT } from './_scripts';
import { invalid } from './_validate';
import { KargoNotification } from './kargo-notification';

/** The checked settings of a webhook notification (`KargoNotification.webhook()`). */
export interface ResolvedWebhookNotification {
  readonly secretName: string;
  readonly urlKey: string;
  readonly headerName?: string;
  readonly headerKey?: string;
  readonly allowInsecureHttp: boolean;
  readonly timeoutSeconds: number;
}

/** The container's name, the same under every `containerNaming`. */
export const NOTIFY_CONTAINER = 'notify-kargo';

const WEBHOOK_DIR = '/kargo-webhook';

/** Fails unless `notification` is a KargoNotification (jsii callers can pass anything). */
export function checkKargoNotification(notification: KargoNotification | undefined): KargoNotification | undefined {
  if (notification !== undefined && !(notification instanceof KargoNotification)) {
    invalid('kargoNotification', notification, 'expected KargoNotification.webhook({ secretName: … })');
  }
  return notification;
}

/**
 * Adds the last container of a pushing pod: it runs after every tool container (all init containers then) and
 * tells Kargo. It mounts only the Secret keys it reads, never a service-account token, and always exits 0.
 */
export function addKargoNotification(pod: ImageJobPod, notification: KargoNotification): void {
  const webhook = notification._webhook;
  const value = kplus.EnvValue.fromValue;
  const mounts: Mount[] = [
    { path: `${WEBHOOK_DIR}/url`, volume: pod.secretFileVolume('kargo-webhook-url', webhook.secretName, webhook.urlKey, 'url'), readOnly: true },
  ];
  const env: [string, kplus.EnvValue][] = [
    ['KARGO_WEBHOOK_URL_FILE', value(`${WEBHOOK_DIR}/url/url`)],
    ['ALLOW_INSECURE_HTTP', value(String(webhook.allowInsecureHttp))],
    ['NOTIFY_TIMEOUT_SECONDS', value(String(webhook.timeoutSeconds))],
  ];
  if (webhook.headerName !== undefined) {
    mounts.push({
      path: `${WEBHOOK_DIR}/header`, volume: pod.secretFileVolume('kargo-webhook-header', webhook.secretName, webhook.headerKey!, 'header'), readOnly: true,
    });
    env.push(['KARGO_WEBHOOK_HEADER_NAME', value(webhook.headerName)], ['KARGO_WEBHOOK_HEADER_FILE', value(`${WEBHOOK_DIR}/header/header`)]);
  }
  pod.addContainer({
    name: NOTIFY_CONTAINER,
    image: pod.images.downloadHelper,
    script: NOTIFY_KARGO_SCRIPT,
    env,
    mounts,
    profile: ContainerProfile.RESTRICTED,
    resources: HELPER_RESOURCES,
  }, false);
}
