/**
 * `GET|POST DocumentReference/{id}/$access` (CONTRACT §10): who can see this
 * document, and why. Only its patient X and X's legal representatives get an
 * answer. The document is first read exactly as a read reads it (read.ts:
 * the same scopes, the same 404 for a document the caller may not see as for
 * one that does not exist, 403 for a practitioner X blocked, 410 once
 * deleted, and the same audit — a representative's request is recorded as an
 * operation on X's document, X's own is not); any other caller who may read
 * it then gets 403. The audience and every verdict come from decide()
 * (access/audience.ts, access/explanation.ts); this module only shapes them.
 *
 * The answer, a Parameters in the request's language (`Parameters.language`:
 * `_lang` or `lang` = fr|en, else Accept-Language, else fr):
 *   document      valueReference  DocumentReference/{id}
 *   professional  (one per practitioner of the audience, by id), parts:
 *     practitioner  valueReference  Practitioner/P (display: the directory's name)
 *     profession    valueCoding     TRE_G15 code of an active role (0..*)
 *     accessed      valueBoolean    the history shows P read X's data
 *     choice        valueCode       authorize | block | administrator naming P (0..*)
 *     canSee        valueBoolean    in TREAT, the mode of every request
 *     reason        parts code (valueCode) and text (valueString), the rules that decide (1..*)
 *     decision      valueString     decide()'s own words
 *     emergency     (twice: ETREAT then BTG) parts mode (valueCode), label (valueString: the mode
 *                   in words), canSee, reason (1..*), decision
 * Never lists anything for a document its caller may not read.
 */
import type { Parameters, ParametersParameter } from 'fhir/r4';
import { badRequest, forbidden } from '../../kernel/errors';
import type { Handler } from '../../kernel/ports';
import type { RowPredicate } from '../../kernel/predicate';
import { header, queryValue, type FhirRequest } from '../../kernel/request';
import { requireValidId } from '../../kernel/resource-types';
import type { ConformanceCatalogue } from '../../conformance/catalogue';
import type { DocumentAudience, AudienceMember } from '../../access/audience';
import { PROFESSION_SYSTEM } from '../../identity/resolve';
import { languageOf, MODE_NAMES, wordsFor, type Language, type Verdict } from '../../access/explanation';
import { readInteraction } from './read';

/** The audience of a document, read for an asker whose predicates are `reader` (server.ts binds it to access/audience.ts). */
export type AudienceReader = (documentId: string, reader: (resourceType: string) => RowPredicate) => Promise<DocumentAudience | undefined>;

/** `DocumentReference/:id/$access`, GET or POST (a POST may carry `lang` as a Parameters part). */
export function accessInteraction(catalogue: ConformanceCatalogue, audienceOf: AudienceReader, professionDisplay: (code: string) => string | undefined): Handler {
  const read = readInteraction(catalogue);
  return async (request, session, params) => {
    requireValidId(params.id);
    const language = requestLanguage(request);
    const asRead: FhirRequest = { ...request, method: 'GET', body: undefined, query: [], headers: { ...request.headers, 'if-none-match': undefined, 'if-modified-since': undefined } };
    await read(asRead, session, { type: 'DocumentReference', id: params.id });
    const { caller } = session;
    if (caller.kind !== 'patient' && caller.kind !== 'related-person') throw forbidden(ONLY_THE_PATIENT);
    const audience = await audienceOf(params.id, (type) => session.access.readable(type));
    if (!audience || audience.patientId !== caller.patientId) throw forbidden(ONLY_THE_PATIENT); // a document a patient submitted for no one, or for another
    return { status: 200, body: answer(audience, language, professionDisplay) };
  };
}

const ONLY_THE_PATIENT = 'only the patient and their legal representatives may ask who can see a document';

/** `_lang`/`lang` of the query or of a POSTed Parameters, else Accept-Language; 400 for a language it does not speak. */
function requestLanguage(request: FhirRequest): Language {
  const asked = queryValue(request.query, '_lang') ?? queryValue(request.query, 'lang') ?? postedLanguage(request);
  const language = languageOf(asked, header(request, 'accept-language'));
  if (!language) throw badRequest(`$access speaks fr and en, not "${String(asked).slice(0, 20)}"`, '_lang');
  return language;
}

function postedLanguage(request: FhirRequest): string | undefined {
  if (request.method !== 'POST' || request.body === undefined || request.body === null || request.body === '') return undefined;
  const body = request.body as Parameters;
  if (typeof body !== 'object' || body.resourceType !== 'Parameters') throw badRequest('the body of $access, when there is one, is a Parameters', 'Parameters');
  const part = (body.parameter ?? []).find((parameter) => parameter?.name === 'lang' || parameter?.name === '_lang');
  return part ? String(part.valueCode ?? part.valueString ?? '') : undefined;
}

function answer(audience: DocumentAudience, language: Language, professionDisplay: (code: string) => string | undefined): Parameters {
  return {
    resourceType: 'Parameters',
    language,
    parameter: [
      { name: 'document', valueReference: { reference: `DocumentReference/${audience.documentId}` } },
      ...audience.members.map((member) => professional(member, language, professionDisplay)),
    ],
  };
}

function professional(member: AudienceMember, language: Language, professionDisplay: (code: string) => string | undefined): ParametersParameter {
  return {
    name: 'professional',
    part: [
      { name: 'practitioner', valueReference: { reference: `Practitioner/${member.practitionerId}`, ...(member.display ? { display: member.display } : {}) } },
      ...member.professions.map((code) => {
        const display = professionDisplay(code);
        return { name: 'profession', valueCoding: { system: PROFESSION_SYSTEM, code, ...(display ? { display } : {}) } };
      }),
      { name: 'accessed', valueBoolean: member.accessed },
      ...member.choices.map((kind) => ({ name: 'choice', valueCode: kind })),
      ...verdictParts(member.treat, language),
      ...member.emergency.map((verdict) => ({
        name: 'emergency',
        part: [{ name: 'mode', valueCode: verdict.mode }, { name: 'label', valueString: MODE_NAMES[verdict.mode][language] }, ...verdictParts(verdict, language)],
      })),
    ],
  };
}

function verdictParts(verdict: Verdict, language: Language): ParametersParameter[] {
  return [
    { name: 'canSee', valueBoolean: verdict.canSee },
    ...verdict.reasons.map((code) => ({
      name: 'reason',
      part: [
        { name: 'code', valueCode: code },
        { name: 'text', valueString: wordsFor(code, verdict.canSee, verdict.mode, language) },
      ],
    })),
    { name: 'decision', valueString: verdict.decision },
  ];
}
