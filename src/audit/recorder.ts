/**
 * What the audit is told of one request (CONTRACT §6), and the touches it
 * makes of it: the store and the search engine report each row they
 * disclose, write or withhold, the policy each refusal, the interactions
 * the patients a request names. `touches` groups them by patient — the
 * patients of each row's compartment, or its patient column — and keeps a
 * named patient only if it exists (a probe of Patient/anything starts no
 * chain). Never reads a row itself but to ask the store which named
 * patients exist; never decides who may see what.
 */
import type { Resource } from 'fhir/r4';
import type { AuditRecorder } from '../kernel/ports';
import type { Store, StoredResource } from '../kernel/stored';

/** Resources that are containers or outcomes, or the history itself: not the patient's data as such. */
const NOT_DATA = new Set(['OperationOutcome', 'Parameters', 'AuditEvent', 'Bundle']);

/** Patient id → references of that patient's resources the request touched. */
export type Touched = Map<string, string[]>;

interface Compartment {
  patientsOf(resource: Resource): string[];
}

interface Row {
  resourceType: string;
  id: string;
  versionId?: number;
  patientId: string | null;
  content?: Resource | null;
  deleted?: boolean;
}

export class RequestRecorder implements AuditRecorder {
  private readonly rows: Row[] = [];
  private readonly writtenRows = new Set<Row>();
  private readonly withheldRows: Row[] = [];
  private readonly namedIds = new Set<string>();
  /** Patient → `Type/id` the request named for them (a write's target): recorded only if the request failed. */
  private readonly namedReferences = new Map<string, string[]>();

  constructor(private readonly compartment: Compartment) {}

  disclosed(rows: readonly StoredResource[]): void {
    for (const row of rows) if (row.content) this.rows.push(row);
  }

  wrote(row: StoredResource): void {
    this.rows.push(row);
    this.writtenRows.add(row);
  }

  withheld(row: { resourceType: string; id: string; patientId: string | null }): void {
    this.withheldRows.push(row);
  }

  named(patientIds: readonly string[], reference?: string): void {
    for (const id of patientIds) {
      this.namedIds.add(id);
      if (reference) this.namedReferences.set(id, [...(this.namedReferences.get(id) ?? []), reference]);
    }
  }

  refused(patientIds: readonly string[]): void {
    this.named(patientIds);
  }

  /**
   * The patients touched and their resources: on success each disclosed or
   * written version (`Type/id/_history/n`; a delete names `Type/id`); on a
   * refusal or an error the rows named, unversioned (nothing was answered),
   * and the resource a failed write named (its `Type/id`).
   * A resource the request wrote is named by the version written (or
   * `Type/id` for a delete) for every patient it concerned: the version an
   * update, patch or delete read to check it was not answered.
   */
  async touched(store: Pick<Store, 'existingPatients'>, succeeded: boolean): Promise<Touched> {
    const touched: Touched = new Map();
    const referenceOf = (row: Row) => (succeeded && !row.deleted ? `${row.resourceType}/${row.id}/_history/${row.versionId}` : `${row.resourceType}/${row.id}`);
    const writes = new Map<string, string>(); // Type/id → the reference of its last version written
    for (const row of this.writtenRows) writes.set(`${row.resourceType}/${row.id}`, referenceOf(row));
    for (const row of this.rows) {
      if (NOT_DATA.has(row.resourceType)) continue;
      const reference = this.writtenRows.has(row) ? referenceOf(row) : (writes.get(`${row.resourceType}/${row.id}`) ?? referenceOf(row));
      for (const patientId of this.patientsOf(row)) add(touched, patientId, reference);
    }
    for (const row of this.withheldRows) {
      const patientId = row.resourceType === 'Patient' ? row.id : row.patientId;
      if (patientId) add(touched, patientId, `${row.resourceType}/${row.id}`);
    }
    const unknown = [...this.namedIds].filter((id) => !touched.has(id));
    const existing = await store.existingPatients(unknown);
    for (const id of this.namedIds) {
      if (!touched.has(id) && !existing.has(id)) continue;
      add(touched, id);
      if (!succeeded) for (const reference of this.namedReferences.get(id) ?? []) add(touched, id, reference);
    }
    return touched;
  }

  private patientsOf(row: Row): string[] {
    if (row.content) {
      const patients = this.compartment.patientsOf(row.content);
      if (patients.length > 0 || row.resourceType !== 'Patient') return patients;
    }
    if (row.resourceType === 'Patient') return [row.id];
    return row.patientId ? [row.patientId] : [];
  }
}

function add(touched: Touched, patientId: string, reference?: string): void {
  let references = touched.get(patientId);
  if (!references) touched.set(patientId, (references = []));
  if (reference && !references.includes(reference)) references.push(reference);
}
