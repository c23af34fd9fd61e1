/**
 * `CodeSystem/$lookup` and `CodeSystem/{id}/$lookup` (FHIR R4
 * codesystem-operation-lookup.html): the details of one concept — `name` of
 * its code system, `version`, `display`, each `designation`, and its
 * properties (`definition`, `parent`, `child`, the code system's own). Takes
 * `system`+`code` or `coding`. An unknown code system or code is a 404
 * OperationOutcome, never a Parameters.
 */
import type { CodeSystem, CodeSystemConceptProperty, ParametersParameter } from 'fhir/r4';
import { badRequest, notFound } from '../kernel/errors';
import type { Handler } from '../kernel/ports';
import { OperationInputs, missing, parameters } from './inputs';
import type { Concept, TerminologyIndex } from './terminology-index';

export function lookupOperation(index: TerminologyIndex): Handler {
  return async (request, _session, params) => {
    const inputs = OperationInputs.of(request);
    const instance = params.id !== undefined ? index.codeSystemById(params.id) : undefined;
    const { system, code } = lookedUp(inputs, instance);
    const codeSystem = index.codeSystem(system);
    if (!codeSystem) throw notFound(`the code system ${system} is not known to this server`);
    const concept = index.concept(system, code);
    if (!concept) throw notFound(`the code "${code}" is not in the code system ${system}`);
    return { status: 200, body: parameters(answer(codeSystem, concept, inputs.strings('property'))) };
  };
}

function lookedUp(inputs: OperationInputs, instance: CodeSystem | undefined): { system: string; code: string } {
  const coding = inputs.coding('coding');
  const code = coding?.code ?? inputs.string('code');
  const system = coding?.system ?? inputs.string('system') ?? instance?.url;
  if (code === undefined) throw missing('code', 'give system and code, or a coding');
  if (system === undefined) throw missing('system', 'a code is looked up in a code system');
  if (instance?.url !== undefined && system !== instance.url) throw badRequest(`the system ${system} is not the code system CodeSystem/${instance.id} (${instance.url})`, inputs.expression(coding ? 'coding' : 'system'));
  return { system, code };
}

function answer(codeSystem: CodeSystem, concept: Concept, wanted: string[]): ParametersParameter[] {
  const want = (property: string) => wanted.length === 0 || wanted.includes(property);
  const designations = want('designation') ? (concept.concept?.designation ?? []) : [];
  return [
    { name: 'name', valueString: codeSystem.name ?? codeSystem.title ?? concept.system },
    codeSystem.version !== undefined ? { name: 'version', valueString: codeSystem.version } : undefined,
    { name: 'display', valueString: concept.display ?? concept.code },
    ...designations.map((designation) => ({
      name: 'designation',
      part: [
        ...(designation.language !== undefined ? [{ name: 'language', valueCode: designation.language }] : []),
        ...(designation.use !== undefined ? [{ name: 'use', valueCoding: designation.use }] : []),
        { name: 'value', valueString: designation.value },
      ] as ParametersParameter[],
    })),
    ...properties(concept).filter(({ code }) => want(code)).map(propertyPart),
  ].filter((part): part is ParametersParameter => part !== undefined);
}

/** The concept's properties: the ones every code system has (definition, parent, child), then its own. */
function properties(concept: Concept): CodeSystemConceptProperty[] {
  return [
    ...(concept.concept?.definition !== undefined ? [{ code: 'definition', valueString: concept.concept.definition }] : []),
    ...(concept.parent !== undefined ? [{ code: 'parent', valueCode: concept.parent }] : []),
    ...concept.children.map((child) => ({ code: 'child', valueCode: child })),
    ...(concept.concept?.property ?? []),
  ];
}

function propertyPart(property: CodeSystemConceptProperty): ParametersParameter {
  const { code, ...value } = property;
  const [valueKey] = Object.keys(value).filter((key) => key.startsWith('value'));
  return { name: 'property', part: [{ name: 'code', valueCode: code }, { name: 'value', ...(valueKey ? { [valueKey]: (value as Record<string, unknown>)[valueKey] } : {}) }] };
}
