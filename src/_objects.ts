import { ApiObject, Chart, JsonPatch } from 'cdk8s';

/** cdk8s stamps the chart's namespace on every object: a cluster-scoped kind (Project, ClusterAnalysisTemplate) must have none. */
export function dropNamespace(apiObject: ApiObject): void {
  if (Chart.of(apiObject).namespace !== undefined) {
    apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
