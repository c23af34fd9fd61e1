/**
 * Every FHIR interaction Carnet serves, on one screen.
 */
import { FhirRouter, type Handler } from './router';
import { readInteraction, vreadInteraction } from './interactions/read';
import { conditionalUpdateInteraction, createInteraction, updateInteraction } from './interactions/write';
import { conditionalDeleteInteraction, deleteInteraction } from './interactions/delete';
import { conditionalPatchInteraction, patchInteraction } from './interactions/patch';
import { historyInteraction } from './interactions/history';
import { validateInteraction } from './interactions/validate';
import { formParameters, searchInteraction } from './interactions/search';
import { compartmentSearchInteraction } from './interactions/compartment';
import { catalogueBundle } from './interactions/catalogue-search';
import { metaInteraction, systemMetaInteraction, typeMetaInteraction } from './interactions/meta';
import { metaChangeInteraction } from './interactions/meta-change';
import { binaryReads, type BinaryContentReader } from './interactions/binary';
import { accessInteraction, type AudienceReader } from './interactions/access';
import { isConformanceType, requireKnownType } from '../kernel/resource-types';
import type { ConformanceCatalogue } from '../conformance/catalogue';
import type { AuditLog } from '../audit/audit-log';
import { auditRoutes } from '../audit/history';
import type { CapabilityStatement } from 'fhir/r4';
import type { TerminologyOperations } from '../terminology/operations';
import { queryValue } from '../kernel/request';

export interface RouteOptions {
  catalogue: ConformanceCatalogue;
  capabilityStatement: () => CapabilityStatement;
  bundle?: Handler; // batch/transaction
  everything?: Handler; // Patient/$everything
  auditLog?: AuditLog; // AuditEvent history, 405 on AuditEvent writes, Patient/$verify-audit
  auditVerifiers?: readonly string[]; // AUDIT_VERIFIERS: system clients that may run $verify-audit
  terminology?: TerminologyOperations; // $lookup, $validate-code, $expand; metadata?mode=terminology
  binaryContents?: BinaryContentReader; // Binary reads: raw bytes (ITI-68) or JSON, audited as reads of the documents
  documentAudience?: { of: AudienceReader; professionDisplay: (code: string) => string | undefined }; // DocumentReference/$access (§10)
}

export function buildRouter(options: RouteOptions): FhirRouter {
  const { catalogue } = options;
  const typeSearch: Handler = async (request, session, params) => {
    requireKnownType(params.type);
    if (isConformanceType(params.type)) {
      const query = request.method === 'POST' ? [...request.query, ...formParameters(request.body)] : request.query;
      return { status: 200, body: catalogueBundle(session.baseUrl, params.type, query, catalogue.search(params.type, query)) };
    }
    return searchInteraction(request, session, params.type);
  };
  const { terminology } = options;
  const router = new FhirRouter().add('GET', 'metadata', async (request) => {
    if (terminology && queryValue(request.query, 'mode') === 'terminology') return { status: 200, body: terminology.capabilities() };
    return { status: 200, body: options.capabilityStatement() };
  });
  if (terminology) {
    for (const [pattern, handler] of [
      ['CodeSystem/$lookup', terminology.lookup],
      ['CodeSystem/:id/$lookup', terminology.lookup],
      ['CodeSystem/$validate-code', terminology.validateCodeSystemCode],
      ['CodeSystem/:id/$validate-code', terminology.validateCodeSystemCode],
      ['ValueSet/$validate-code', terminology.validateValueSetCode],
      ['ValueSet/:id/$validate-code', terminology.validateValueSetCode],
      ['ValueSet/$expand', terminology.expand],
      ['ValueSet/:id/$expand', terminology.expand],
    ] as const) router.add('GET', pattern, handler).add('POST', pattern, handler);
  }
  if (options.auditLog) for (const line of auditRoutes(options.auditLog, { verifiers: options.auditVerifiers })) router.add(line.method, line.pattern, line.handler); // before the generic :type routes
  if (options.binaryContents) {
    const binary = binaryReads(options.binaryContents, { read: readInteraction(catalogue), vread: vreadInteraction });
    router.add('GET', 'Binary/:id', binary.read).add('GET', 'Binary/:id/_history/:vid', binary.vread); // before the generic :type/:id
  }
  router
    .add('GET', '', (request, session) => searchInteraction(request, session))
    .add('GET', '_search', (request, session) => searchInteraction(request, session))
    .add('POST', '_search', (request, session) => searchInteraction(request, session))
    .add('GET', '_history', historyInteraction)
    .add('GET', ':type', typeSearch)
    .add('GET', ':type/_search', typeSearch)
    .add('POST', ':type/_search', typeSearch)
    .add('POST', ':type', createInteraction)
    .add('PUT', ':type', conditionalUpdateInteraction)
    .add('PATCH', ':type', conditionalPatchInteraction)
    .add('DELETE', ':type', conditionalDeleteInteraction)
    .add('GET', ':type/_history', historyInteraction)
    .add('POST', ':type/$validate', validateInteraction)
    .add('GET', ':type/:id', readInteraction(catalogue))
    .add('PUT', ':type/:id', updateInteraction)
    .add('PATCH', ':type/:id', patchInteraction)
    .add('DELETE', ':type/:id', deleteInteraction)
    .add('GET', ':type/:id/_history', historyInteraction)
    .add('GET', ':type/:id/_history/:vid', vreadInteraction)
    .add('GET', 'Patient/:id/:type', compartmentSearchInteraction)
    .add('GET', ':type/:id/$meta', metaInteraction(catalogue))
    .add('POST', ':type/:id/$meta', metaInteraction(catalogue))
    .add('GET', ':type/:id/_history/:vid/$meta', metaInteraction(catalogue))
    .add('POST', ':type/:id/_history/:vid/$meta', metaInteraction(catalogue))
    .add('GET', ':type/$meta', typeMetaInteraction(catalogue))
    .add('POST', ':type/$meta', typeMetaInteraction(catalogue))
    .add('GET', '$meta', systemMetaInteraction(catalogue))
    .add('POST', '$meta', systemMetaInteraction(catalogue))
    .add('POST', ':type/:id/$meta-add', metaChangeInteraction('add'))
    .add('POST', ':type/:id/$meta-delete', metaChangeInteraction('delete'))
    .add('POST', ':type/:id/_history/:vid/$meta-add', metaChangeInteraction('add'))
    .add('POST', ':type/:id/_history/:vid/$meta-delete', metaChangeInteraction('delete'))
    .add('GET', ':type/:id/$validate', validateInteraction)
    .add('POST', ':type/:id/$validate', validateInteraction);
  if (options.bundle) router.add('POST', '', options.bundle);
  if (options.everything) router.add('GET', 'Patient/:id/$everything', options.everything);
  if (options.documentAudience) {
    const access = accessInteraction(catalogue, options.documentAudience.of, options.documentAudience.professionDisplay);
    router.add('GET', 'DocumentReference/:id/$access', access).add('POST', 'DocumentReference/:id/$access', access);
  }
  return router;
}
