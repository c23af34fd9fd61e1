/**
 * `CodeSystem/$validate-code` and `ValueSet/$validate-code`, type and
 * instance level (FHIR R4 codesystem-operation-validate-code.html,
 * valueset-operation-validate-code.html): whether a code (`code` with
 * `system`/`url`, a `coding`, or any coding of a `codeableConcept`) is in a
 * code system or value set. Answers `result`, `message` and the `display`
 * Carnet knows. A code that is not there is `result` false (200); a display
 * that is not the code's is `result` true with a warning `message`; an
 * unknown code system or value set is a 404.
 */
import type { CodeSystem, Coding, ParametersParameter, ValueSet } from 'fhir/r4';
import { badRequest, notFound } from '../kernel/errors';
import type { Handler } from '../kernel/ports';
import { OperationInputs, missing, parameters } from './inputs';
import type { Concept, TerminologyIndex } from './terminology-index';

/** The outcome for one coding. */
interface Verdict {
  result: boolean;
  message?: string;
  display?: string;
}

export function validateCodeSystemCodeOperation(index: TerminologyIndex): Handler {
  return async (request, _session, params) => {
    const inputs = OperationInputs.of(request);
    const instance = params.id !== undefined ? index.codeSystemById(params.id) : undefined;
    const codings = codingsOf(inputs, inputs.string('url') ?? inputs.string('system') ?? instance?.url);
    const url = instance?.url ?? inputs.string('url') ?? inputs.string('system') ?? codings.find((coding) => coding.system)?.system;
    if (url === undefined) throw missing('url', 'the code system to validate the code against');
    if (instance && inputs.has('url') && inputs.string('url') !== instance.url) throw badRequest(`the url is not the one of CodeSystem/${instance.id} (${instance.url})`, inputs.expression('url'));
    const codeSystem = index.codeSystem(url);
    if (!codeSystem) throw notFound(`the code system ${url} is not known to this server`);
    const verdicts = codings.map((coding) => inCodeSystem(index, codeSystem, coding));
    return { status: 200, body: answer(verdicts) };
  };
}

export function validateValueSetCodeOperation(index: TerminologyIndex): Handler {
  return async (request, _session, params) => {
    const inputs = OperationInputs.of(request);
    const valueSet = params.id !== undefined ? index.valueSetById(params.id) : knownValueSet(index, inputs);
    const codings = codingsOf(inputs, inputs.string('system'));
    if (codings.some((coding) => coding.system === undefined)) throw missing('system', 'a code is validated with the system it belongs to');
    const concepts = index.expand(valueSet);
    const verdicts = codings.map((coding) => inValueSet(index, valueSet, concepts, coding));
    return { status: 200, body: answer(verdicts) };
  };
}

function knownValueSet(index: TerminologyIndex, inputs: OperationInputs): ValueSet {
  const url = inputs.string('url');
  if (url === undefined) throw missing('url', 'the value set to validate the code against');
  const valueSet = index.valueSet(url);
  if (!valueSet) throw notFound(`the value set ${url} is not known to this server`);
  return valueSet;
}

/** The codings to validate: the codeableConcept's, the coding, or code (+ system, + display). */
function codingsOf(inputs: OperationInputs, system: string | undefined): Coding[] {
  const concept = inputs.codeableConcept('codeableConcept');
  if (concept) {
    const codings = (concept.coding ?? []).filter((coding) => typeof coding.code === 'string' && coding.code !== '');
    if (codings.length === 0) throw badRequest('the parameter codeableConcept must hold a coding with a code', inputs.expression('codeableConcept'));
    return codings;
  }
  const coding = inputs.coding('coding');
  if (coding) return [coding];
  const code = inputs.string('code');
  if (code === undefined) throw missing('code', 'give code, coding or codeableConcept');
  return [{ system, code, display: inputs.string('display') }];
}

function inCodeSystem(index: TerminologyIndex, codeSystem: CodeSystem, coding: Coding): Verdict {
  const url = codeSystem.url as string;
  if (coding.system !== undefined && coding.system !== url) return { result: false, message: `the system ${coding.system} is not the code system ${url}` };
  const concept = index.concept(url, coding.code as string);
  if (!concept) return { result: false, message: `the code "${coding.code}" is not in the code system ${url}` };
  return checkedDisplay(concept, coding.display, []);
}

function inValueSet(index: TerminologyIndex, valueSet: ValueSet, concepts: Concept[], coding: Coding): Verdict {
  const member = concepts.find((concept) => concept.system === coding.system && concept.code === coding.code);
  if (!member) return { result: false, message: `the code ${coding.system}|${coding.code} is not in the value set ${valueSet.url}` };
  const defined = index.concept(member.system, member.code);
  return checkedDisplay(member, coding.display, defined?.display !== undefined ? [defined.display] : []);
}

/** Valid; with a warning when the given display is none of the concept's (display, designations, other names). */
function checkedDisplay(concept: Concept, given: string | undefined, others: string[]): Verdict {
  const display = concept.display ?? concept.code;
  if (given === undefined) return { result: true, display };
  const names = [display, ...others, ...(concept.concept?.designation ?? []).map((designation) => designation.value)];
  const same = (name: string) => foldSpaces(name).toLowerCase() === foldSpaces(given).toLowerCase();
  if (names.some(same)) return { result: true, display };
  return { result: true, display, message: `warning: the display "${given}" is not the display of ${concept.system}|${concept.code}, which is "${display}"` };
}

const foldSpaces = (text: string) => text.replace(/\s+/g, ' ').trim();

/** One answer for all codings: valid when one is; the messages of the valid ones (display warnings), else of all. */
function answer(verdicts: Verdict[]) {
  const valid = verdicts.filter((verdict) => verdict.result);
  const result = valid.length > 0;
  const messages = (result ? valid : verdicts).map((verdict) => verdict.message).filter((message): message is string => message !== undefined);
  const display = valid[0]?.display;
  const parts: ParametersParameter[] = [{ name: 'result', valueBoolean: result }];
  if (messages.length > 0) parts.push({ name: 'message', valueString: messages.join('; ') });
  if (display !== undefined) parts.push({ name: 'display', valueString: display });
  return parameters(parts);
}
