/**
 * `ValueSet/$expand` and `ValueSet/{id}/$expand` (FHIR R4
 * valueset-operation-expand.html): the value set (by `url` or instance) with
 * an `expansion` — `total` concepts matching `filter` (every word of it found
 * in the code or the display, case- and accent-insensitively), `offset` and
 * `count` paging, and the parameters used. Never expands a value set it
 * cannot enumerate (422).
 */
import { randomUUID } from 'node:crypto';
import type { ValueSet, ValueSetExpansionParameter } from 'fhir/r4';
import { notFound } from '../kernel/errors';
import type { Handler } from '../kernel/ports';
import { OperationInputs, missing } from './inputs';
import { foldText, type Concept, type TerminologyIndex } from './terminology-index';

/** The most concepts one expansion answers when no `count` is asked. */
export const DEFAULT_EXPANSION_COUNT = 1000;

export function expandOperation(index: TerminologyIndex): Handler {
  return async (request, _session, params) => {
    const inputs = OperationInputs.of(request);
    const valueSet = params.id !== undefined ? index.valueSetById(params.id) : knownValueSet(index, inputs);
    const filter = inputs.string('filter');
    const offset = inputs.integer('offset') ?? 0;
    const count = inputs.integer('count');
    const matching = index.expand(valueSet).filter(matches(filter));
    const page = matching.slice(offset, offset + (count ?? DEFAULT_EXPANSION_COUNT));
    const used: ValueSetExpansionParameter[] = [
      ...(filter !== undefined ? [{ name: 'filter', valueString: filter }] : []),
      ...(inputs.has('offset') ? [{ name: 'offset', valueInteger: offset }] : []),
      ...(count !== undefined ? [{ name: 'count', valueInteger: count }] : []),
    ];
    return { status: 200, body: expanded(valueSet, matching.length, offset, used, page) };
  };
}

function knownValueSet(index: TerminologyIndex, inputs: OperationInputs): ValueSet {
  const url = inputs.string('url');
  if (url === undefined) throw missing('url', 'the value set to expand (or expand ValueSet/{id})');
  const valueSet = index.valueSet(url);
  if (!valueSet) throw notFound(`the value set ${url} is not known to this server`);
  return valueSet;
}

/** Every word of the filter in the code or the display, whatever the case and accents. */
function matches(filter: string | undefined): (concept: Concept) => boolean {
  if (filter === undefined) return () => true;
  const words = foldText(filter).split(/\s+/).filter((word) => word !== '');
  return (concept) => {
    const text = `${foldText(concept.code)} ${foldText(concept.display ?? '')}`;
    return words.every((word) => text.includes(word));
  };
}

function expanded(valueSet: ValueSet, total: number, offset: number, used: ValueSetExpansionParameter[], page: Concept[]): ValueSet {
  const { compose: _compose, expansion: _stored, text: _text, ...described } = valueSet;
  return {
    ...described,
    expansion: {
      identifier: `urn:uuid:${randomUUID()}`,
      timestamp: new Date().toISOString(),
      total,
      offset,
      ...(used.length > 0 ? { parameter: used } : {}),
      contains: page.map((concept) => ({
        system: concept.system,
        ...(concept.version !== undefined ? { version: concept.version } : {}),
        code: concept.code,
        ...(concept.display !== undefined ? { display: concept.display } : {}),
      })),
    },
  };
}
