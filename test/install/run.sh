#!/usr/bin/env bash
# The README's install story, proven on today's `cdk8s init typescript-app` template: render the template of the
# newest cdk8s-cli as `cdk8s init` does, install its dependencies (cdk8s-plus-33 among them), add this library
# from its npm tarball with the README's install line, replace main.ts with test/install/main.ts (every
# construct, next to cdk8s-plus-33 objects), then run the template's own `npm run compile` (tsc) and
# `npm run synth` (cdk8s synth). Needs the npm registry and a compiled library (npx projen compile).
# `cdk8s init` would also run `cdk8s import`, which downloads Kubernetes schemas from GitHub; the app needs none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NPM_CONFIG_LOGLEVEL=error NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false NPM_CONFIG_UPDATE_NOTIFIER=false
start=$SECONDS
step() { echo "[install test, $((SECONDS - start))s] $*"; }

[ -f "$repo/lib/index.js" ] || { echo "lib/index.js is missing: run npx projen compile first"; exit 1; }
step "npm pack of this checkout"
tarball="$work/$(cd "$repo" && npm pack --pack-destination "$work" --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].filename)')"

step "the typescript-app template of the newest cdk8s-cli"
cli_version=$(npm view cdk8s-cli version)
(cd "$work" && npm pack "cdk8s-cli@$cli_version" --silent >/dev/null && tar xzf "cdk8s-cli-$cli_version.tgz" package/package.json package/templates/typescript-app)
# the values `cdk8s init` substitutes (cdk8s-cli lib/cli/cmds/init.js determineDeps): the newest cdk8s and
# cdk8s-plus-33, the CLI's own constructs range, and the CLI itself
app="$work/app"
mkdir "$app"
CDK8S_VERSION=$(npm view cdk8s version) PLUS_VERSION=$(npm view cdk8s-plus-33 version) CLI_VERSION=$cli_version \
  node - "$work/package" "$app" <<'NODE'
const fs = require('fs');
const path = require('path');
const [cli, app] = process.argv.slice(2);
const template = path.join(cli, 'templates', 'typescript-app');
const values = {
  '$base': 'app',
  cdk8s_core_version: process.env.CDK8S_VERSION,
  cdk8s_plus_version: process.env.PLUS_VERSION,
  constructs_version: require(path.join(cli, 'package.json')).dependencies.constructs.replace('^', ''),
  cdk8s_cli_spec: `^${process.env.CLI_VERSION}`,
};
const render = (text) => text.replace(/\{\{\s*([$\w]+)\s*\}\}/g, (all, key) => {
  if (!(key in values)) throw new Error(`unknown template value ${all}`);
  return values[key];
});
(function copy(from, to) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === '.hooks.sscaff.js') continue; // its steps run below, except `cdk8s import`
    const target = path.join(to, render(entry.name.replace(/^\{\{\}\}/, '')));
    if (entry.isDirectory()) { fs.mkdirSync(target); copy(path.join(from, entry.name), target); }
    else fs.writeFileSync(target, render(fs.readFileSync(path.join(from, entry.name), 'utf8')));
  }
})(template, app);
NODE
cd "$app"
echo "template: cdk8s-cli $cli_version; $(node -p 'const d = require("./package.json").dependencies; Object.entries(d).map(([n, v]) => n + " " + v).join(", ")')"

step "npm install (the template's dependencies)"
npm install --no-audit --no-fund >/dev/null
step "npm install cdk8s-image-jobs cdk8s-plus-28 (the README's line for a cdk8s init app, the tarball in place of the name)"
npm install --no-audit --no-fund "$tarball" cdk8s-plus-28 >/dev/null

cp "$here/main.ts" main.ts
mkdir -p contexts/api contexts/worker
printf 'FROM alpine:3.20\nCOPY . /app\n' > contexts/api/Dockerfile
printf 'FROM alpine:3.20\nRUN echo worker\n' > contexts/worker/Dockerfile

step "npm run compile (tsc --build, the template's TypeScript $(npx tsc --version))"
npm run --silent compile
step "npm run synth (cdk8s synth; its upgrade check is off, it asks a URL outside the npm registry)"
npm run --silent synth -- --no-check-upgrade >/dev/null

# every construct's Job is in the output, and the cdk8s-plus-33 ServiceAccount beside them
node - dist/app.k8s.yaml <<'NODE'
const fs = require('fs');
const yaml = fs.readFileSync(process.argv[2], 'utf8');
const kinds = [...yaml.matchAll(/^kind: (\w+)$/gm)].map(m => m[1]);
const count = (kind) => kinds.filter(k => k === kind).length;
const components = [...yaml.matchAll(/app\.kubernetes\.io\/component: ([\w-]+)/g)].map(m => m[1]);
console.log(`synthesized: ${count('Job')} Jobs (${[...new Set(components)].sort().join(', ')}), ${count('ServiceAccount')} ServiceAccount, ${count('Secret')} Secret, ${count('ConfigMap')} ConfigMaps, ${count('Role')} Role`);
const expected = 8; // one Job per construct (the batch is one Indexed Job)
if (count('Job') !== expected || new Set(components).size !== expected || count('ServiceAccount') !== 1) {
  console.error(`expected ${expected} Jobs of ${expected} kinds and the app's ServiceAccount`);
  process.exit(1);
}
if (!/serviceAccountName: image-builder/.test(yaml) || !/priorityClassName: image-builds/.test(yaml)) {
  console.error('expected serviceAccountName image-builder and the escape-hatch patch in the YAML');
  process.exit(1);
}
NODE
step "passed"
