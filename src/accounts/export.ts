/**
 * The export of a space (§7 `GET /account/export`), transport-free: one `collection` Bundle of
 * everything of X the caller may see — `Patient/X/$everything` (the Patient, documents, health
 * profile, immunizations, appointments, communications, consents, representatives, and the
 * shared resources they reference), the Binaries of the documents served, then X's activity
 * history (`AuditEvent?patient=X&_sort=-date`) — written out page by page as the pages come.
 *
 * Everything is asked through the public path (the pipeline), as the caller: the access rules
 * of §4.3 (a representative gets no INVISIBLE_REPRESENTANTS_LEGAUX document, nor its Binary),
 * the scopes, the hidden-events rule of §6 and the audit (a representative's export is in X's
 * history) apply by construction. Only X (fhirUser Patient/X) and X's legal representatives
 * export X's space; anyone else is 403.
 *
 * Never holds more than one page of resources (plus the served entries' full URLs, to write
 * each resource once); never writes a byte before the first page is in hand, so a refusal is an
 * error the caller can still answer; an error after that is thrown to the caller, who must not
 * end the output as a whole Bundle.
 */
import type { Bundle, BundleEntry, DocumentReference, Resource } from 'fhir/r4';
import { FhirError, forbidden } from '../kernel/errors';
import type { Caller } from '../kernel/caller';
import type { FhirRequest, QueryParams } from '../kernel/request';
import { parseQueryString } from '../kernel/query-string';
import { localReference } from '../kernel/reference';
import type { FhirPort } from './enrolment';

/** Receives the Bundle's text, piece by piece; a returned promise is awaited (backpressure). */
export type ExportWrite = (chunk: string) => Promise<void> | void;

export interface SpaceExportOptions {
  /** The pipeline (api/pipeline.ts `handle`): every page is a request of the caller. */
  fhir: FhirPort;
  /** The server's FHIR base (`$BASE_URL/fhir`): the `next` links and full URLs are on it. */
  baseUrl: string;
  /** Resources per page of $everything and of the activity history (default 100). */
  pageSize?: number;
  /** Binaries per request (default 10): a Binary may be large. */
  binaryBatch?: number;
  /** The Bundle's timestamp (tests). */
  now?: () => Date;
}

const ACCEPT = { accept: 'application/fhir+json' };

export class SpaceExport {
  private readonly pageSize: number;
  private readonly binaryBatch: number;

  constructor(private readonly options: SpaceExportOptions) {
    this.pageSize = options.pageSize ?? 100;
    this.binaryBatch = options.binaryBatch ?? 10;
  }

  /** Writes the export of the caller's space; throws a FhirError (403, or the pipeline's) before any write when refused. */
  async stream(caller: Caller, write: ExportWrite): Promise<void> {
    const patientId = spaceOf(caller);
    const pages = this.pages(caller, patientId);
    const first = await pages.next();
    const timestamp = (this.options.now?.() ?? new Date()).toISOString();
    await write(`{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(timestamp)},"entry":[`);
    let separator = '';
    for (let page = first; !page.done; page = await pages.next()) {
      if (page.value.length === 0) continue;
      await write(separator + page.value.map((entry) => JSON.stringify(entry)).join(','));
      separator = ',';
    }
    await write(']}');
  }

  /** The entries of the export, one page at a time, each resource once. */
  private async *pages(caller: Caller, patientId: string): AsyncGenerator<BundleEntry[]> {
    const written = new Set<string>();
    const binaries = new Set<string>();
    const entriesOf = (bundle: Bundle): BundleEntry[] => {
      const entries: BundleEntry[] = [];
      for (const entry of bundle.entry ?? []) {
        const resource = entry.resource;
        if (!resource) continue;
        const fullUrl = entry.fullUrl ?? `${this.options.baseUrl}/${resource.resourceType}/${resource.id}`;
        if (written.has(fullUrl)) continue;
        written.add(fullUrl);
        if (resource.resourceType === 'DocumentReference') for (const id of this.binariesOf(resource as DocumentReference)) binaries.add(id);
        entries.push({ fullUrl, resource: resourceTypeFirst(resource) });
      }
      return entries;
    };
    const count = String(this.pageSize);
    for await (const bundle of this.follow(caller, get(`Patient/${patientId}/$everything`, [['_count', count]]))) yield entriesOf(bundle);
    for (const batch of slices([...binaries].filter((id) => !written.has(`${this.options.baseUrl}/Binary/${id}`)), this.binaryBatch)) {
      yield entriesOf(await this.answer(caller, get('Binary', [['_id', batch.join(',')], ['_count', String(batch.length)]])));
    }
    const history = get('AuditEvent', [['patient', `Patient/${patientId}`], ['_sort', '-date'], ['_count', count]]);
    for await (const bundle of this.follow(caller, history)) yield entriesOf(bundle);
  }

  /** A searchset and the pages its `next` links lead to. */
  private async *follow(caller: Caller, request: FhirRequest): AsyncGenerator<Bundle> {
    let next: FhirRequest | undefined = request;
    while (next) {
      const bundle = await this.answer(caller, next);
      yield bundle;
      const link = bundle.link?.find((candidate) => candidate.relation === 'next')?.url;
      next = link === undefined ? undefined : this.requestOf(link);
    }
  }

  private async answer(caller: Caller, request: FhirRequest): Promise<Bundle> {
    const response = await this.options.fhir.handle(request, caller);
    const body = response.body as Bundle | undefined;
    if (response.status !== 200 || body?.resourceType !== 'Bundle') throw new FhirError(500, 'exception', `the export could not read ${request.path}`);
    return body;
  }

  /** A `next` link of this server back into a request. */
  private requestOf(url: string): FhirRequest {
    const base = `${this.options.baseUrl}/`;
    if (!url.startsWith(base)) throw new FhirError(500, 'exception', 'a page link left the server’s base');
    const [path, query = ''] = url.slice(base.length).split('?', 2);
    return get(decodeURIComponent(path), parseQueryString(query, { plusAsSpace: true }));
  }

  /** The local Binaries a document's attachments point to. */
  private binariesOf(document: DocumentReference): string[] {
    return (document.content ?? []).flatMap(({ attachment }) => {
      const target = localReference(attachment?.url, this.options.baseUrl);
      return target?.type === 'Binary' ? [target.id] : [];
    });
  }
}

/** The space a caller may export: their own, or the minor's (or protected adult's) they represent. */
export function spaceOf(caller: Caller): string {
  if (caller.kind === 'patient' || caller.kind === 'related-person') return caller.patientId;
  throw forbidden('only the patient or a legal representative exports a space');
}

function get(path: string, query: QueryParams): FhirRequest {
  return { method: 'GET', path, query, headers: { ...ACCEPT } };
}

function slices<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** jsonb keeps no key order; readers expect `resourceType` first. */
function resourceTypeFirst(resource: Resource): Resource {
  const { resourceType, ...rest } = resource;
  return { resourceType, ...rest } as Resource;
}
