/**
 * Carnet's AccessPolicy (CONTRACT §3, §4): the front door of src/access.
 * - readable: the SQL form of the decision (sql.ts), ANDed by the store and
 *   the search engine inside every query;
 * - checkPatientSpace: 403 for a request naming a space the caller may not
 *   enter (another patient's; for a practitioner: blocked, unauthorized in
 *   TREAT, or refused in ETREAT/BTG);
 * - checkWrite: the write rules (write-rules.ts) and the consent-kind profiles;
 * - checkScope: SMART scopes cap everything; AuditEvent searches are the
 *   patient's and their representatives' only.
 * Never returns a predicate wider than the rules of decision.ts.
 */
import type { Resource } from 'fhir/r4';
import { forbidden } from '../fhir/errors';
import type { AccessPolicy, Validator, WriteKind } from '../fhir/context';
import type { Caller, Interaction } from '../identity/caller';
import type { Db } from '../store/db';
import type { RowPredicate } from '../store/predicate';
import type { StoredResource } from '../store/resources';
import { AuditEventAccessHistory, type AccessHistory } from './access-history';
import { spaceEntry } from './decision';
import { AccessFactsReader } from './facts-reader';
import { AuthorizationGrid } from './grid';
import { requireScope } from './scope-check';
import { compileReadable } from './sql';
import { checkWriteRules, everySpaceOpen, type PatientSpaces } from './write-rules';


export interface CarnetPolicyOptions {
  db: Db;
  /** PatientCompartment (src/fhir/compartment.ts). */
  compartment: { has(resourceType: string): boolean; types(): string[] };
  /** The server's validator: Consent-kind profiles are checked with it on every write of a choice. */
  validator?: Validator;
  grid?: AuthorizationGrid;
  accessHistory?: AccessHistory;
  spaces?: PatientSpaces;
}

export class CarnetAccessPolicy implements AccessPolicy {
  readonly grid: AuthorizationGrid;
  private readonly facts: AccessFactsReader;
  private readonly accessHistory: AccessHistory;
  private readonly spaces: PatientSpaces;

  constructor(private readonly options: CarnetPolicyOptions) {
    this.grid = options.grid ?? AuthorizationGrid.load();
    this.facts = new AccessFactsReader(options.db);
    this.accessHistory = options.accessHistory ?? new AuditEventAccessHistory(options.db);
    this.spaces = options.spaces ?? everySpaceOpen;
  }

  readable(caller: Caller, resourceType?: string): RowPredicate {
    return compileReadable(caller, resourceType, { grid: this.grid, compartment: this.options.compartment });
  }

  checkScope(caller: Caller, resourceType: string, interaction: Interaction): void {
    requireScope(caller, resourceType, interaction);
    if (resourceType === 'AuditEvent' && interaction === 's' && caller.kind !== 'patient' && caller.kind !== 'related-person') {
      throw forbidden('a patient\'s activity history (AuditEvent) is searched by the patient and their legal representatives only');
    }
  }

  async checkPatientSpace(caller: Caller, patientId: string): Promise<void> {
    switch (caller.kind) {
      case 'patient':
      case 'related-person':
        if (caller.patientId !== patientId) throw forbidden('a patient reaches only their own health space');
        return;
      case 'practitioner': {
        const entry = spaceEntry(caller, await this.facts.rulesOf(patientId));
        if (!entry.space) throw forbidden(`Patient/${patientId}: ${entry.reason}`);
        return;
      }
      case 'system':
        return;
    }
  }

  async checkWrite(caller: Caller, kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[]): Promise<void> {
    await checkWriteRules(caller, kind, resource, current, patientIds, {
      compartment: this.options.compartment,
      facts: this.facts,
      accessHistory: this.accessHistory,
      spaces: this.spaces,
      validator: this.options.validator,
    });
  }
}
