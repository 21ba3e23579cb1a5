import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { dropNamespace } from './_objects';
import { checkDnsLabel, checkObjectName, invalid } from './_validate';

/** Kargo's API version for every kind this library renders. */
export const KARGO_API_VERSION = 'kargo.akuity.io/v1alpha1';

/** Props of `KargoProject`. */
export interface KargoProjectProps {
  /**
   * The Project's name, which is also the namespace Kargo creates for it and where its Warehouses, Stages and
   * ProjectConfig live.
   *
   * @default - a name cdk8s derives from the construct path
   */
  readonly name?: string;
}

/** Something a promotion policy or a webhook receiver can name: a Kargo Stage or Warehouse. */
export interface IKargoResource {
  /** The object's `metadata.name`. */
  readonly name: string;
}

/** A Kargo webhook receiver of the generic kind: a POST to its URL refreshes Warehouses at once. */
export interface KargoGenericWebhookReceiverOptions {
  /** The receiver's name, unique in the Project. */
  readonly name: string;

  /**
   * The Secret in the Project's namespace whose `secret` key Kargo uses to derive the receiver's hard-to-guess
   * URL. Kargo reads it; nothing here does.
   */
  readonly secretName: string;

  /** The Warehouses a request refreshes. */
  readonly warehouses: IKargoResource[];
}

/**
 * A Kargo `Project` (cluster-scoped: no namespace, even in a namespaced chart) and, once a promotion policy or
 * webhook receiver is added, its `ProjectConfig` (same name, in the Project's namespace).
 *
 * @see https://docs.kargo.io/user-guide/how-to-guides/working-with-projects
 */
export class KargoProject extends Construct {
  /** The Project's name, which is also its namespace. */
  public readonly name: string;

  /** The `Project` object. */
  public readonly apiObject: ApiObject;

  private readonly policies: { stage: IKargoResource; autoPromotionEnabled: boolean }[] = [];
  private readonly receivers: KargoGenericWebhookReceiverOptions[] = [];
  private config?: ApiObject;

  /**
   * @param scope the chart or construct to add the Project to
   * @param id the construct id; it is part of the generated name
   * @param props the Project's name
   */
  constructor(scope: Construct, id: string, props: KargoProjectProps = {}) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: KARGO_API_VERSION,
      kind: 'Project',
      metadata: props.name !== undefined ? { name: checkDnsLabel('name', props.name) } : undefined,
    });
    dropNamespace(this.apiObject);
    this.name = this.apiObject.name;
  }

  /**
   * Whether Freight reaching `stage` is promoted into it automatically (`ProjectConfig.spec.promotionPolicies`).
   *
   * @param stage the Stage
   * @param autoPromotionEnabled true to promote new Freight without a person approving it
   */
  public addPromotionPolicy(stage: IKargoResource, autoPromotionEnabled: boolean): void {
    if (this.policies.some(p => p.stage.name === stage.name)) {
      invalid('addPromotionPolicy stage', stage.name, 'expected one promotion policy per Stage');
    }
    this.policies.push({ stage, autoPromotionEnabled });
    this.projectConfig();
  }

  /**
   * A generic webhook receiver that refreshes Warehouses (`ProjectConfig.spec.webhookReceivers`): a build can
   * tell Kargo about a push at once instead of waiting for the Warehouse's interval. Kargo derives the receiver's
   * URL from the Secret and reports it in the ProjectConfig's `status.webhookReceivers[].url`; put that URL in a
   * Secret in the Jobs' namespace and give the pushing constructs `kargoNotification: KargoNotification.webhook(…)`.
   */
  public addGenericWebhookReceiver(options: KargoGenericWebhookReceiverOptions): void {
    checkDnsLabel('addGenericWebhookReceiver name', options.name);
    if (this.receivers.some(r => r.name === options.name)) {
      invalid('addGenericWebhookReceiver name', options.name, 'expected a receiver name unique in the Project');
    }
    checkObjectName('addGenericWebhookReceiver secretName', options.secretName);
    if (options.warehouses.length === 0) {
      invalid('addGenericWebhookReceiver warehouses', [], 'expected at least one Warehouse to refresh');
    }
    this.receivers.push(options);
    this.projectConfig();
  }

  private projectConfig(): void {
    if (this.config) {
      return;
    }
    this.config = new ApiObject(this, 'Config', {
      apiVersion: KARGO_API_VERSION,
      kind: 'ProjectConfig',
      metadata: { name: this.name, namespace: this.name },
      spec: Lazy.any({
        produce: () => ({
          ...(this.policies.length > 0 ? {
            promotionPolicies: this.policies.map(p => ({ stage: p.stage.name, autoPromotionEnabled: p.autoPromotionEnabled })),
          } : {}),
          ...(this.receivers.length > 0 ? {
            webhookReceivers: this.receivers.map(r => ({
              name: r.name,
              generic: {
                secretRef: { name: r.secretName },
                actions: [{
                  action: 'Refresh',
                  targetSelectionCriteria: r.warehouses.map(w => ({ kind: 'Warehouse', name: w.name })),
                }],
              },
            })),
          } : {}),
        }),
      }),
    });
  }
}
