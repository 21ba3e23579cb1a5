import { cdk8s, DependencyType, javascript } from 'projen';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-image-jobs',
  description: 'cdk8s constructs that synthesize Kubernetes Jobs to build, push and promote container images (kaniko, skopeo) with digests you can trust and credentials that never leak.',
  author: 'cdk8s-image-jobs authors',
  authorAddress: 'maintainers@cdk8s-image-jobs.dev',
  repositoryUrl: 'https://github.com/cdk8s-image-jobs/cdk8s-image-jobs.git',
  license: 'Apache-2.0',
  keywords: ['cdk8s', 'kaniko', 'skopeo', 'harbor', 'kubernetes', 'container-image', 'job'],
  defaultReleaseBranch: 'main',

  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  cdk8sVersion: '2.70.106',
  constructsVersion: '10.8.1',
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  devDeps: [
    '@types/node@^20',
    'vitest@^4.1.12',
    'kubernetes-models@^5.1.0',
    'yaml@^2.9.1',
    'fast-check@^4',
    'ajv@^8.17.1',
  ],

  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  jest: false,
  sampleCode: false,
  github: false,
  buildWorkflow: false,
  release: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  vscode: false,

  // Node 20 is what the tests run on (the library's peers accept >= 16.20, but nothing older is tested).
  minNodeVersion: '20.0.0',

  // jsii's other languages: names only, nothing is published (no release workflow, github: false). CI generates
  // each binding's code (jsii-pacmak --code-only, task pacmak:code-only) so a name that breaks one fails the build.
  publishToPypi: { distName: 'cdk8s-image-jobs', module: 'cdk8s_image_jobs' },
  publishToGo: { moduleName: 'github.com/cdk8s-image-jobs/cdk8s-image-jobs-go', packageName: 'cdk8simagejobs' },
  publishToMaven: {
    javaPackage: 'io.github.cdk8simagejobs',
    mavenGroupId: 'io.github.cdk8s-image-jobs',
    mavenArtifactId: 'cdk8s-image-jobs',
  },
  publishToNuget: { dotNetNamespace: 'Cdk8sImageJobs', packageId: 'Cdk8sImageJobs' },
});

// The first release; projen writes 0.0.0 unless a release workflow bumps it, and release is off.
project.package.addVersion('0.1.0');

// Packaging builds the npm tarball only: the other languages' toolchains (pip, maven, dotnet, go) are not part
// of this project's CI, which generates their code instead (pacmak:code-only).
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);
project.addTask('pacmak:code-only', {
  description: 'Generate the Python, Go, Java and .NET bindings\' code into dist/ (no toolchain needed); fails on a name another language cannot take',
  exec: 'jsii-pacmak --code-only --target python --target go --target java --target dotnet',
});

// eslint-import-resolver-typescript 4.x depends on unrs-resolver, whose per-platform optional packages the npm
// registry these machines reach does not serve: package-lock.json then fails `npm ci`. 3.6 uses enhanced-resolve.
project.deps.removeDependency('eslint-import-resolver-typescript', DependencyType.BUILD);
project.deps.addDependency('eslint-import-resolver-typescript@~3.6.3', DependencyType.BUILD);

// jsii prints an end-of-life banner on Node 20, the newest Node these machines have.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');

// examples are type-checked with the tests; ESM-only kubernetes-models needs bundler resolution.
project.tsconfigDev.addInclude('../examples/**/*.ts');
project.tsconfigDev.file.addOverride('compilerOptions.module', 'preserve');
project.tsconfigDev.file.addOverride('compilerOptions.moduleResolution', 'bundler');
// test/install/main.ts is compiled inside the generated cdk8s init app (cdk8s-plus-33 and the tarball), not here.
project.tsconfigDev.addExclude('install/**');
project.eslint?.addIgnorePattern('test/install/');

// `lint` checks without rewriting sources (CI must see what was committed); projen's `eslint` task fixes in place.
project.eslint?.addLintPattern('examples');
const lint = project.addTask('lint', {
  description: 'Lint sources, tests and examples without changing them',
  env: { ESLINT_USE_FLAT_CONFIG: 'false', NODE_NO_WARNINGS: '1' },
  exec: 'eslint --ext .ts --no-error-on-unmatched-pattern src test examples .projenrc.ts',
});

// test = type-check + lint + vitest (which also runs shellcheck on every embedded script).
project.testTask.reset();
project.testTask.exec('tsc --noEmit -p test/tsconfig.json');
project.testTask.spawn(lint);
project.testTask.exec('vitest run --reporter=default --reporter=json --outputFile.json=test-reports/vitest.json', { receiveArgs: true });
project.addTask('test:watch', { description: 'Run vitest in watch mode', exec: 'vitest' });
project.addTask('test:update', {
  description: 'Re-record vitest snapshots on purpose',
  exec: 'vitest run --update',
});
// the e2e tier runs the synthesized Jobs for real (test/e2e/README.md: needs root and Debian tools); never part of `test`.
project.addTask('test:e2e', {
  description: 'Run the synthesized Jobs for real against local registries (test/e2e; root and the Debian tools in test/e2e/README.md)',
  exec: 'vitest run --config vitest.e2e.config.mts --reporter=default --reporter=json --outputFile.json=test-reports/vitest-e2e.json',
  receiveArgs: true,
});
project.addTask('test:install', {
  description: 'Install the npm tarball into an app made from today\'s cdk8s init template (cdk8s-plus-33) and type-check and synthesize every construct there (test/install; needs the npm registry and a compiled lib/)',
  exec: 'bash test/install/run.sh',
});
// the node tier runs the synthesized Jobs on a real single-node Kubernetes cluster inside a network namespace of its own
// (test/node/README.md: root, Debian packages, KUBE_BIN_DIR and the builder binaries); never part of `test`.
project.addTask('test:node', {
  description: 'Run the synthesized Jobs on a real single-node Kubernetes cluster (test/node; root, Debian packages and the binaries in test/node/README.md)',
  exec: 'test/node/in-netns.sh vitest run --config vitest.node.config.mts --reporter=default --reporter=json --outputFile.json=test-reports/vitest-node.json',
  receiveArgs: true,
});
project.addTask('synth:examples', {
  description: 'Synthesize every examples/*.ts into examples/dist/*.k8s.yaml',
  exec: 'ts-node --project projenrc/tsconfig.json examples/synth.ts',
});
project.addTask('bench', {
  description: 'Run the synthesis benchmark (bench/synth.ts)',
  exec: 'ts-node --project projenrc/tsconfig.json bench/synth.ts',
});

project.gitignore.exclude('/test-reports/', '/.e2e/');
project.npmignore?.exclude('/examples/', '/vitest.config.mts', '/vitest.e2e.config.mts', '/vitest.node.config.mts', '/bench/', '/.ci/', '/test-reports/', '/images/');

project.synth();
