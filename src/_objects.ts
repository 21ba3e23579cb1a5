import { ApiObject, ApiObjectMetadata, Chart, JsonPatch } from 'cdk8s';
import { checkObjectName } from './_validate';

/** cdk8s stamps the chart's namespace on every object: a cluster-scoped kind (Project, ClusterAnalysisTemplate) must have none. */
export function dropNamespace(apiObject: ApiObject): void {
  if (Chart.of(apiObject).namespace !== undefined) {
    apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}

/** The metadata of a namespaced Kargo object: an optional checked name, and the Project's namespace when given. */
export function kargoMetadata(name: string | undefined, projectName: string | undefined): ApiObjectMetadata {
  return {
    ...(name !== undefined ? { name: checkObjectName('name', name) } : {}),
    ...(projectName !== undefined ? { namespace: projectName } : {}),
  };
}
