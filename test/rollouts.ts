/** What the Argo Rollouts controller does to an analysis template's metric before it creates the Job. */

/**
 * Argo Rollouts' argument resolution (utils/template ResolveArgs over fasttemplate "{{" "}}"): every tag must be
 * `args.<name>` of a passed argument, and a "{{" without "}}" is an error too.
 */
export function resolveArgs(text: string, args: { [name: string]: string }): string {
  let out = '';
  let rest = text;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      return out + rest;
    }
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) {
      throw new Error(`cannot find end tag="}}" in "${rest.slice(open, open + 40)}"`);
    }
    const tag = rest.slice(open + 2, close).trim();
    const name = tag.startsWith('args.') ? tag.slice(5) : undefined;
    if (name === undefined || !(name in args)) {
      throw new Error(`failed to resolve {{${tag}}}`);
    }
    out += rest.slice(0, open) + args[name];
    rest = rest.slice(close + 2);
  }
}

/** What the Rollouts controller does with the metric before creating the Job: resolve it with the arguments. */
export function resolvedMetric(template: any, passed: { [name: string]: string } = {}): any {
  const defaults = Object.fromEntries((template.spec.args ?? []).filter((a: any) => a.value !== undefined).map((a: any) => [a.name, a.value]));
  return JSON.parse(resolveArgs(JSON.stringify(template.spec.metrics[0]), { ...defaults, ...passed }));
}
