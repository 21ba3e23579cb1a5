import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { dropNamespace } from './_objects';
import { checkDnsLabel, checkEnvName, checkInteger, checkObjectName, invalid } from './_validate';
import { IImageJob, PodSecurityLevel } from './image-job';

/** An argument of an Argo Rollouts analysis template (`spec.args[]`). */
export interface AnalysisArgument {
  /**
   * The argument's name, referenced as `{{args.<name>}}`; Kargo passes it in `Stage.spec.verification.args`.
   *
   * @example "imageDigest"
   */
  readonly name: string;

  /**
   * A default value, used when the AnalysisRun does not pass one.
   *
   * @default - none: the argument is required
   */
  readonly value?: string;
}

/** Props of `JobAnalysisTemplate`. */
export interface JobAnalysisTemplateProps {
  /**
   * The construct whose Job the metric runs. Its pod is taken as rendered when the template is created (make
   * every change to `job` before), and its plain Job leaves the chart: Argo Rollouts creates the Job for each
   * AnalysisRun. The ConfigMaps, Secrets references and RBAC the construct adds stay. A construct that synthesizes
   * several Jobs (a `KanikoBuildJob` with `platforms`) is refused: the metric runs one Job.
   */
  readonly job: IImageJob;

  /**
   * The metric's name. Argo Rollouts names each Job `<analysisrun uid>.<metric>.<n>` and copies the name into
   * 63-character pod labels, so it is at most 20 characters: lower-case letters, digits and "-".
   *
   * @default "job"
   */
  readonly metricName?: string;

  /**
   * The arguments the template declares. Every argument an AnalysisRun passes (such as Kargo's
   * `verification.args`) must be declared here, or the run fails.
   *
   * @default - none
   */
  readonly args?: AnalysisArgument[];

  /**
   * Environment variables whose value becomes an argument, as `{ ENV_NAME: 'argName' }`: every container that
   * has `ENV_NAME` gets the value `{{args.argName}}`. This is how a Freight's image reaches the pod, e.g.
   * `{ SOURCE_IMAGE: 'sourceImage' }` on a `SkopeoPromoteJob`. The argument must be declared in `args`.
   *
   * @default - none: the pod runs as synthesized
   */
  readonly envFromArgs?: { [envName: string]: string };

  /**
   * A `ClusterAnalysisTemplate` (cluster-scoped, no namespace) instead of a namespaced `AnalysisTemplate`.
   *
   * @default false
   */
  readonly clusterScoped?: boolean;

  /**
   * The template's `metadata.name`, which Kargo's `verification.analysisTemplates[].name` references.
   *
   * @default - a name cdk8s derives from the construct path
   */
  readonly name?: string;

  /**
   * How many failed measurements the metric tolerates (`failureLimit`); with `count: 1`, 0 means the Job must
   * succeed.
   *
   * @default 0
   */
  readonly failureLimit?: number;
}

/**
 * An Argo Rollouts `AnalysisTemplate` (or `ClusterAnalysisTemplate`) whose one metric runs a construct's Job
 * (`provider.job`), so that a Kargo Stage can verify Freight by building, promoting or testing it.
 *
 * Argo Rollouts resolves `{{…}}` in the whole metric and fails the run on anything that is not a passed
 * argument, and it has no escape syntax. So every literal `{{` in the pod (scripts, args, env values, labels)
 * is written as `{{args.literalOpenBraces}}`, an argument declared with the value `{{`: after resolution the
 * pod is exactly the synthesized one.
 *
 * @see https://argoproj.github.io/argo-rollouts/analysis/job/
 */
export class JobAnalysisTemplate extends Construct {
  /** The argument that stands for a literal `{{`, declared only when the pod contains one. */
  public static readonly LITERAL_OPEN_BRACES_ARG = 'literalOpenBraces';

  /** The template object (`argoproj.io/v1alpha1`). */
  public readonly apiObject: ApiObject;

  /** The template's kind: `AnalysisTemplate` or `ClusterAnalysisTemplate`. */
  public readonly kind: string;

  /** The template's `metadata.name`. */
  public readonly name: string;

  /** The metric's name. */
  public readonly metricName: string;

  /** The names of the declared arguments, in order (with `literalOpenBraces` when the pod needs it). */
  public readonly argNames: string[];

  /**
   * The Pod Security Standards level the metric's pod fits (the `job` construct's): the namespace where Argo
   * Rollouts creates the Job (the AnalysisRun's) must allow it.
   */
  public readonly podSecurityLevel: PodSecurityLevel;

  /**
   * @param scope the chart or construct to add the template to
   * @param id the construct id; it is part of the generated name
   * @param props the Job to run and the arguments it takes
   */
  constructor(scope: Construct, id: string, props: JobAnalysisTemplateProps) {
    super(scope, id);
    this.metricName = props.metricName ?? 'job';
    if (this.metricName.length > 20) {
      invalid('metricName', this.metricName, 'expected at most 20 characters: Argo Rollouts puts "<uid>.<metric>.<n>" in 63-character pod labels');
    }
    checkDnsLabel('metricName', this.metricName);
    const args = props.args ?? [];
    const declared = new Set<string>();
    args.forEach((arg, i) => {
      if (!ARG_NAME.test(arg.name ?? '') || arg.name === JobAnalysisTemplate.LITERAL_OPEN_BRACES_ARG) {
        invalid(`args[${i}].name`, arg.name, `expected letters, digits, "_" and "-", starting with a letter, other than "${JobAnalysisTemplate.LITERAL_OPEN_BRACES_ARG}"`);
      }
      if (declared.has(arg.name)) {
        invalid(`args[${i}].name`, arg.name, 'expected each argument declared once');
      }
      declared.add(arg.name);
    });

    this.podSecurityLevel = props.job.podSecurityLevel;
    const source = ApiObject.of(props.job.job);
    const otherJobs = props.job.node.findAll().filter(c => ApiObject.isApiObject(c) && c.kind === 'Job' && c !== source);
    if (otherJobs.length > 0) {
      invalid('job', props.job.node.path, `expected a construct with one Job: it synthesizes ${otherJobs.length + 1} (a KanikoBuildJob with platforms fans out), `
        + 'and an Argo Rollouts metric runs one; verify with a single-platform build, or with a SkopeoPromoteJob of the pushed index');
    }
    const job = source.toJson();
    // Argo Rollouts creates the Job: the plain one leaves the chart
    source.node.scope!.node.tryRemoveChild(source.node.id);
    const needsLiteral = JSON.stringify(job).includes('{{');
    // escape first: only the arguments set below are real references
    const spec = escapeOpenBraces(job.spec);
    for (const [envName, argName] of Object.entries(props.envFromArgs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      checkEnvName('envFromArgs key', envName);
      if (!declared.has(argName)) {
        invalid(`envFromArgs.${envName}`, argName, `expected an argument declared in args (declared: ${[...declared].join(', ') || 'none'})`);
      }
      if (!setEnv(spec.template.spec, envName, `{{args.${argName}}}`)) {
        invalid('envFromArgs key', envName, 'expected an environment variable with a plain value in one of the pod\'s containers');
      }
    }
    const declaredArgs = [
      ...args.map(a => (a.value === undefined ? { name: a.name } : { name: a.name, value: a.value })),
      ...(needsLiteral ? [{ name: JobAnalysisTemplate.LITERAL_OPEN_BRACES_ARG, value: '{{' }] : []),
    ];
    this.argNames = declaredArgs.map(a => a.name);

    this.kind = props.clusterScoped ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: this.kind,
      metadata: props.name !== undefined ? { name: checkObjectName('name', props.name) } : undefined,
      spec: {
        ...(declaredArgs.length > 0 ? { args: declaredArgs } : {}),
        metrics: [{
          name: this.metricName,
          count: 1,
          failureLimit: checkInteger('failureLimit', props.failureLimit ?? 0, 0, 100),
          provider: {
            job: {
              metadata: escapeOpenBraces({ labels: job.metadata.labels, annotations: job.metadata.annotations }),
              spec,
            },
          },
        }],
      },
    });
    this.name = this.apiObject.name;
    if (props.clusterScoped) {
      dropNamespace(this.apiObject);
    }
  }
}

const ARG_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

const LITERAL = `{{args.${JobAnalysisTemplate.LITERAL_OPEN_BRACES_ARG}}}`;

/** Every string with each literal `{{` written as the argument that resolves to it. */
function escapeOpenBraces<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'string' ? v.replace(/\{\{/g, LITERAL) : v)));
}

/** Sets a plain env var's value in every container that defines it; true if any did. */
function setEnv(pod: any, name: string, value: string): boolean {
  let found = false;
  for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    for (const env of container.env ?? []) {
      if (env.name === name && env.valueFrom === undefined) {
        env.value = value;
        found = true;
      }
    }
  }
  return found;
}
