/**
 * The request pipeline, as explicit stages: identify (http/ authenticates
 * and hands the caller) → session (the caller's mode, the store, search,
 * access and audit recorder bound to it) → audit (told what the request
 * disclosed, wrote and was refused; stores the events before the answer) →
 * route (the route table). A Bundle's entries come back through `entry`:
 * the same route, audited as part of their Bundle.
 */
import { FhirError } from '../kernel/errors';
import type { FhirRequest, FhirResponse } from '../kernel/request';
import type { FhirRouter } from './router';
import type { Caller } from '../kernel/caller';
import { namedPatients } from '../search/patients';
import type { AuditStage, RecordedSession } from '../audit/audited';
import type { Sessions } from './session';

/** Who may call without identifying: nothing is in its scopes (GET /fhir/metadata only). */
export const ANONYMOUS: Caller = { kind: 'system', sub: 'anonymous', clientId: 'anonymous', scopes: [], operator: false };

export class Pipeline {
  constructor(
    private readonly sessions: Sessions,
    private readonly audit: AuditStage,
    private readonly router: FhirRouter,
    private readonly baseUrl: string,
  ) {}

  /** One FHIR request of an identified caller (undefined: the capability statement). */
  async handle(request: FhirRequest, caller: Caller | undefined): Promise<FhirResponse> {
    if (!caller) return this.router.route(request, this.sessions.openAs(ANONYMOUS));
    let session: RecordedSession;
    try {
      session = this.sessions.open(caller, request.headers);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return this.audit.refusal(request, this.sessions.openAs(caller), error, this.namedBy(request));
    }
    return this.audit.request(request, session, this.route);
  }

  /** The route of every request and Bundle entry; entries are audited with their Bundle. */
  readonly route = (request: FhirRequest, session: RecordedSession): Promise<FhirResponse> => {
    if (request.bundle) return this.audit.entry(request, session, (entry, own) => this.router.route(entry, own));
    return this.router.route(request, session);
  };

  /** The patients a request names in its path or query (for a request refused before routing). */
  private namedBy(request: FhirRequest): string[] {
    const [type, id] = request.path.split('/');
    return [...(type === 'Patient' && id ? [id] : []), ...namedPatients(type, request.query, this.baseUrl)];
  }
}
