import { Duration } from 'cdk8s';
import type { ResolvedWebhookNotification } from './_kargo-notify';
import { checkObjectName, checkSecretKey, checkWholeSeconds, invalid } from './_validate';

/** Options of `KargoNotification.webhook()`. */
export interface KargoWebhookNotificationOptions {
  /**
   * The Secret, in the Job's namespace, holding the URL of the Project's generic webhook receiver (Kargo writes it
   * to the ProjectConfig's `status.webhookReceivers[].url`; see `KargoProject.addGenericWebhookReceiver`). The
   * URL is the receiver's credential, so it stays in the Secret: it never appears in the YAML, an argument or a log.
   */
  readonly secretName: string;

  /**
   * The Secret's key holding the URL.
   *
   * @default "url"
   */
  readonly urlKey?: string;

  /**
   * An HTTP header sent with the request, for a receiver behind a gateway that checks one (e.g. `X-Api-Key`).
   * Its value is read from `headerKey` of the same Secret.
   *
   * @default - no extra header (Kargo's generic receiver authenticates by its secret URL alone)
   */
  readonly headerName?: string;

  /**
   * The Secret's key holding the header's value; only with `headerName`.
   *
   * @default "header"
   */
  readonly headerKey?: string;

  /**
   * Accept a receiver URL with plain `http://` (a cluster-internal receiver). The URL is checked at run time,
   * since the YAML never holds it.
   *
   * @default false - only https
   */
  readonly allowInsecureHttp?: boolean;

  /**
   * How long one attempt may take (curl `--max-time`); curl retries twice.
   *
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
}

/**
 * Tells Kargo about a successful push at once, so Freight appears in seconds instead of after the Warehouse's
 * `interval`: set it as `kargoNotification` on any pushing construct (`KanikoBuildJob`, `BuildahBuildJob`,
 * `KanikoBuildBatch`, `SkopeoPromoteJob`, `TarPushJob`, `UnifiedImageJob`, `OciConnectorBuildJob`).
 *
 * The pod's tool containers then run as init containers, one after another, and a last container `notify-kargo`
 * (the download helper's curl image, restricted, no service-account token) runs once they all succeeded. A failed
 * notification never fails the Job: it is logged and noted in that container's termination message
 * (`kargo notification failed: …`), and the Warehouse still finds the image at its next interval.
 */
export class KargoNotification {
  /**
   * POST to the Project's generic webhook receiver (`KargoProject.addGenericWebhookReceiver`), whose action
   * refreshes the Warehouses it names. The URL comes from a Secret key.
   */
  public static webhook(options: KargoWebhookNotificationOptions): KargoNotification {
    const prop = 'KargoNotification.webhook';
    if (!options || typeof options.secretName !== 'string' || options.secretName === '') {
      invalid(`${prop} secretName`, options?.secretName, 'expected the name of the Secret holding the webhook receiver\'s URL (a webhook notification needs its Secret)');
    }
    checkObjectName(`${prop} secretName`, options.secretName);
    const urlKey = checkSecretKey(`${prop} urlKey`, options.urlKey ?? 'url');
    if (options.headerKey !== undefined && options.headerName === undefined) {
      invalid(`${prop} headerKey`, options.headerKey, 'expected headerName as well: the key holds that header\'s value');
    }
    const headerName = options.headerName === undefined ? undefined : checkHeaderName(`${prop} headerName`, options.headerName);
    const headerKey = headerName === undefined ? undefined : checkSecretKey(`${prop} headerKey`, options.headerKey ?? 'header');
    if (headerKey === urlKey) {
      invalid(`${prop} headerKey`, headerKey, `expected a key other than urlKey ("${urlKey}")`);
    }
    const timeoutSeconds = checkWholeSeconds(`${prop} timeout`, options.timeout ?? Duration.seconds(10), 1);
    return new KargoNotification({
      secretName: options.secretName, urlKey, headerName, headerKey, allowInsecureHttp: options.allowInsecureHttp ?? false, timeoutSeconds,
    });
  }

  /** @internal */
  public readonly _webhook: ResolvedWebhookNotification;

  private constructor(webhook: ResolvedWebhookNotification) {
    this._webhook = webhook;
  }
}

/** An HTTP header name (an RFC 9110 token) that is not one curl or the request already sets. */
function checkHeaderName(prop: string, name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
    invalid(prop, name, 'expected an HTTP header name such as "X-Api-Key" (letters, digits and !#$%&\'*+.^_`|~-)');
  }
  if (['content-type', 'content-length', 'host'].includes(name.toLowerCase())) {
    invalid(prop, name, 'expected a header the request does not set itself (Content-Type, Content-Length and Host are)');
  }
  return name;
}

