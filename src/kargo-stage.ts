import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { kargoMetadata } from './_objects';
import { invalid } from './_validate';
import { JobAnalysisTemplate } from './job-analysis-template';
import { IKargoResource, KARGO_API_VERSION, KargoProject } from './kargo-project';
import { KargoWarehouse } from './kargo-warehouse';

/** An argument a Stage passes to its verification (`verification.args[]`). */
export interface KargoVerificationArgument {
  /** The argument's name: it must be declared by every verification template. */
  readonly name: string;

  /**
   * The value; Kargo expressions such as `${{ imageFrom("harbor.example.com/team/api").Digest }}` are resolved
   * per Freight.
   */
  readonly value: string;
}

/** Props of `KargoStage`. */
export interface KargoStageProps {
  /**
   * The Project whose namespace the Stage lives in.
   *
   * @default - the chart's namespace
   */
  readonly project?: KargoProject;

  /** The Warehouse whose Freight the Stage requests. */
  readonly warehouse: KargoWarehouse;

  /**
   * Upstream Stages the Freight must have been verified in first.
   *
   * @default - none: Freight comes directly from the Warehouse
   */
  readonly upstreamStages?: KargoStage[];

  /**
   * The templates that verify Freight after each promotion (`verification.analysisTemplates`), e.g. a
   * `JobAnalysisTemplate` running a build or test Job.
   *
   * @default - no verification
   */
  readonly verification?: JobAnalysisTemplate[];

  /**
   * The arguments passed to every verification template; each must be declared by each template.
   *
   * @default - none
   */
  readonly verificationArgs?: KargoVerificationArgument[];

  /**
   * The Stage's name.
   *
   * @default - a name cdk8s derives from the construct path
   */
  readonly name?: string;
}

/**
 * A Kargo `Stage` that requests Freight from a Warehouse (or upstream Stages) and verifies it with analysis
 * templates. Promotion steps are not modelled: add them with
 * `ApiObject.of(stage.apiObject).addJsonPatch(JsonPatch.add('/spec/promotionTemplate', …))`.
 *
 * @see https://docs.kargo.io/user-guide/reference-docs/stages
 */
export class KargoStage extends Construct implements IKargoResource {
  /** The Stage's name. */
  public readonly name: string;

  /** The `Stage` object. */
  public readonly apiObject: ApiObject;

  /**
   * @param scope the chart or construct to add the Stage to
   * @param id the construct id; it is part of the generated name
   * @param props where Freight comes from and how it is verified
   */
  constructor(scope: Construct, id: string, props: KargoStageProps) {
    super(scope, id);
    const templates = props.verification ?? [];
    const args = props.verificationArgs ?? [];
    args.forEach((arg, i) => {
      if (args.findIndex(a => a.name === arg.name) !== i) {
        invalid(`verificationArgs[${i}].name`, arg.name, 'expected each argument passed once');
      }
      for (const template of templates) {
        if (!template.argNames.includes(arg.name)) {
          invalid(`verificationArgs[${i}].name`, arg.name,
            `expected an argument declared by ${template.kind} "${template.name}" (declared: ${template.argNames.join(', ') || 'none'}); Argo Rollouts fails the run otherwise`);
        }
      }
    });
    if (args.length > 0 && templates.length === 0) {
      invalid('verificationArgs', args.map(a => a.name), 'expected verification templates to pass them to');
    }
    const upstream = props.upstreamStages ?? [];
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: KARGO_API_VERSION,
      kind: 'Stage',
      metadata: kargoMetadata(props.name, props.project?.name),
      spec: {
        requestedFreight: [{
          origin: { kind: 'Warehouse', name: props.warehouse.name },
          sources: upstream.length > 0 ? { stages: upstream.map(s => s.name) } : { direct: true },
        }],
        ...(templates.length > 0 ? {
          verification: {
            analysisTemplates: templates.map(t => ({ name: t.name, ...(t.kind === 'ClusterAnalysisTemplate' ? { kind: t.kind } : {}) })),
            ...(args.length > 0 ? { args: args.map(a => ({ name: a.name, value: a.value })) } : {}),
          },
        } : {}),
      },
    });
    this.name = this.apiObject.name;
  }
}
