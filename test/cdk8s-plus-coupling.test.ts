import { join, resolve } from 'path';
import * as ts from 'typescript';
import { describe, expect, test } from 'vitest';

/**
 * Apps on another cdk8s-plus version (today's `cdk8s init` installs cdk8s-plus-33) cannot pass their objects
 * where cdk8s-plus-28 classes are expected, so no input of the public API may name a cdk8s-plus type: not a
 * struct property, not a constructor or method parameter. Outputs (the `job`, `jobs` and `role` escape
 * hatches) are cdk8s-plus-28 on purpose.
 */
const program = ts.createProgram([resolve(__dirname, '..', 'src', 'index.ts')], {
  strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, noEmit: true,
});
const checker = program.getTypeChecker();
const PLUS = `${join('node_modules', 'cdk8s-plus-')}`;

/** The cdk8s-plus types `type` names, directly or as an element of an array or union. */
function plusTypes(type: ts.Type): string[] {
  if (type.isUnion() || type.isIntersection()) {
    return type.types.flatMap(plusTypes);
  }
  if (type.symbol?.name === 'Array' || type.symbol?.name === 'ReadonlyArray') {
    return checker.getTypeArguments(type as ts.TypeReference).flatMap(plusTypes);
  }
  const declarations = (type.aliasSymbol ?? type.symbol)?.declarations ?? [];
  return declarations.some(d => d.getSourceFile().fileName.includes(PLUS)) ? [checker.typeToString(type)] : [];
}

/** `<export>.<member>: <cdk8s-plus type>` for every input, and separately every output, of the public API. */
function publicApi(): { inputs: string[]; outputs: string[] } {
  const index = program.getSourceFile(resolve(__dirname, '..', 'src', 'index.ts'))!;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const record = (list: string[], where: string, type: ts.Type) => list.push(...plusTypes(type).map(t => `${where}: ${t}`));
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(index)!)) {
    const symbol = exported.declarations?.some(ts.isExportSpecifier) ? checker.getAliasedSymbol(exported) : exported;
    for (const declaration of symbol.declarations ?? []) {
      if (ts.isInterfaceDeclaration(declaration)) {
        // structs are inputs; behavioural interfaces (IXxx) describe what constructs expose
        const list = /^I[A-Z]/.test(symbol.name) ? outputs : inputs;
        for (const property of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
          record(list, `${symbol.name}.${property.name}`, checker.getTypeOfSymbolAtLocation(property, declaration));
        }
      } else if (ts.isClassDeclaration(declaration)) {
        for (const member of declaration.members) {
          const name = member.name && ts.isIdentifier(member.name) ? member.name.text : 'constructor';
          const modifiers = ts.canHaveModifiers(member) ? ts.getModifiers(member) ?? [] : [];
          const hidden = name.startsWith('_')
            || modifiers.some(m => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
          if (hidden) {
            continue;
          }
          if (ts.isConstructorDeclaration(member) || ts.isMethodDeclaration(member)) {
            for (const parameter of member.parameters) {
              record(inputs, `${symbol.name}.${name}(${parameter.name.getText()})`, checker.getTypeAtLocation(parameter));
            }
          } else if (ts.isPropertyDeclaration(member)) {
            record(outputs, `${symbol.name}.${name}`, checker.getTypeAtLocation(member));
          }
        }
      }
    }
  }
  return { inputs, outputs };
}

describe('cdk8s-plus coupling', () => {
  const { inputs, outputs } = publicApi();

  test('no prop or parameter takes a cdk8s-plus type', () => {
    expect(inputs).toEqual([]);
  });

  test('only the escape hatches are cdk8s-plus objects (and the check sees them)', () => {
    expect(outputs.sort()).toEqual([
      'BuildahBuildJob.job: Job',
      'BuildkitBuildJob.job: Job',
      'IImageJob.job: Job',
      'KanikoBuildBatch.jobs: Job',
      'KanikoBuildJob.job: Job',
      'KanikoBuildJob.platformJobs: Job',
      'OciConnectorBuildJob.job: Job',
      'OciConnectorBuildJob.role: Role',
      'SkopeoPromoteJob.job: Job',
      'TarPushJob.job: Job',
      'UnifiedImageJob.job: Job',
    ]);
  });
});
