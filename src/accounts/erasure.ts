/**
 * Physical erasure of a space (§7): an opposition, and the retention purge ten years after a
 * closure. In the caller's transaction (never on the pool: the audit purge switch is local to
 * it), deletes every row of patient X:
 * - X's records: every version and the current row of Patient X and of each resource of X's
 *   compartment (`patient_id` = X), and the versions that were X's before their resource moved;
 * - X's contents: the Binaries (and document Bundles) X's documents point to, now or in an
 *   earlier version, or that name Patient X or a document of X as their securityContext — with
 *   the bytes of those Binaries kept in the content store (`binary_contents`, `binary_content`:
 *   every content bound to them, of any version);
 * - their search index rows (every `search_*` table), access facts, attachment links and
 *   consent rules; X's patient_access, identities and closed_spaces rows;
 * - X's audit events (through the `carnet.audit_purge` switch), chain head and mail outbox
 *   rows, and the account messages addressed to Patient X or to X's RelatedPersons.
 * Touches nothing of other patients or of shared data: a content another patient's document
 * also points to, or whose securityContext is another patient's, is kept (only X's links to it
 * go). The door's own records (`accounts`, logins, challenges, refresh tokens, oppositions) are
 * the callers' (opposition and purge keep what they must). Returns the counts per table, for
 * the log: counts only, never an id.
 */
import type { Executor } from '../store/executor';
import { localReference } from '../kernel/reference';

export const SEARCH_TABLES = ['search_string', 'search_token', 'search_reference', 'search_date', 'search_number', 'search_quantity', 'search_uri'] as const;

/** Every table erasure deletes from, in the order it does (the report's keys). */
export const ERASED_TABLES = [
  ...SEARCH_TABLES,
  'access_facts',
  'attachment_links',
  'consent_rules',
  'binary_content',
  'binary_contents',
  'resource_versions',
  'resources',
  'patient_access',
  'patient_identities',
  'closed_spaces',
  'notification_outbox',
  'audit_events',
  'audit_heads',
  'account_messages',
] as const;

export type ErasureReport = Record<(typeof ERASED_TABLES)[number], number>;

export interface ErasureOptions {
  /** The server's FHIR base, so an absolute attachment URL on it names a local Binary. */
  baseUrl?: string;
}

/** The types an attachment of a document may point to (access/indexer.ts `attachment_links`). */
const CONTENT_TYPES = new Set(['Binary', 'Bundle']);

export async function erasePatient(sql: Executor, patientId: string, options: ErasureOptions = {}): Promise<ErasureReport> {
  const report = Object.fromEntries(ERASED_TABLES.map((table) => [table, 0])) as ErasureReport;
  const run = async (table: keyof ErasureReport, text: string, bindings: (string | string[])[]) => {
    report[table] += (await sql.query(text, bindings)).rowCount ?? 0;
  };
  const records = await recordsOf(sql, patientId);
  const contents = await contentsOf(sql, patientId, records, options.baseUrl);
  const rids = [...records.map((row) => row.rid), ...contents];
  const relatedPersons = records.filter((row) => row.resource_type === 'RelatedPerson').map((row) => `RelatedPerson/${row.id}`);

  for (const table of SEARCH_TABLES) await run(table, `DELETE FROM ${table} WHERE rid = ANY(?::bigint[])`, [rids]);
  await run('access_facts', 'DELETE FROM access_facts WHERE rid = ANY(?::bigint[])', [rids]);
  await run(
    'attachment_links',
    `DELETE FROM attachment_links l WHERE l.document_rid = ANY(?::bigint[])
        OR EXISTS (SELECT 1 FROM resources t WHERE t.rid = ANY(?::bigint[]) AND t.resource_type = l.target_type AND t.id = l.target_id)`,
    [rids, contents],
  );
  await run('consent_rules', 'DELETE FROM consent_rules WHERE patient_id = ? OR consent_rid = ANY(?::bigint[])', [patientId, rids]);
  // the bytes of the erased Binaries (every version's), then their rows
  await run('binary_content', 'DELETE FROM binary_content WHERE content_id IN (SELECT content_id FROM binary_contents WHERE binary_rid = ANY(?::bigint[]))', [contents]);
  await run('binary_contents', 'DELETE FROM binary_contents WHERE binary_rid = ANY(?::bigint[])', [contents]);
  // A version of X is X's even when its resource has since moved to another patient.
  await run('resource_versions', 'DELETE FROM resource_versions WHERE rid = ANY(?::bigint[]) OR patient_id = ?', [rids, patientId]);
  await run('resources', 'DELETE FROM resources WHERE rid = ANY(?::bigint[])', [rids]);
  for (const table of ['patient_access', 'patient_identities', 'closed_spaces', 'notification_outbox'] as const) {
    await run(table, `DELETE FROM ${table} WHERE patient_id = ?`, [patientId]);
  }
  // audit_events is append-only; its trigger lets a purge through, for this transaction only.
  await sql.query(`SELECT set_config('carnet.audit_purge', 'on', true)`);
  await run('audit_events', 'DELETE FROM audit_events WHERE patient_id = ?', [patientId]);
  await sql.query(`SELECT set_config('carnet.audit_purge', 'off', true)`);
  await run('audit_heads', 'DELETE FROM audit_heads WHERE patient_id = ?', [patientId]);
  await run('account_messages', 'DELETE FROM account_messages WHERE recipient = ANY(?::text[])', [[`Patient/${patientId}`, ...relatedPersons]]);
  return report;
}

interface RecordRow {
  rid: string;
  resource_type: string;
  id: string;
}

/** Patient X (whatever its patient_id column holds) and every resource of X's compartment, deleted ones included. */
async function recordsOf(sql: Executor, patientId: string): Promise<RecordRow[]> {
  const result = await sql.query<RecordRow>(
    `SELECT rid, resource_type, id FROM resources WHERE patient_id = ?
     UNION SELECT rid, resource_type, id FROM resources WHERE resource_type = 'Patient' AND id = ?`,
    [patientId, patientId],
  );
  return result.rows;
}

/**
 * The contents X governs: targets of X's documents' attachments (current links, and the URLs of
 * every earlier version), and what names Patient X or one of X's documents as securityContext —
 * less what another patient governs too. Rows of nobody's compartment only.
 */
async function contentsOf(sql: Executor, patientId: string, records: RecordRow[], baseUrl: string | undefined): Promise<string[]> {
  const documents = records.filter((row) => row.resource_type === 'DocumentReference');
  const documentRids = documents.map((row) => row.rid);
  const earlier = await earlierAttachments(sql, documentRids, baseUrl);
  const result = await sql.query<{ rid: string }>(
    `WITH candidates AS (
       SELECT t.rid FROM attachment_links l JOIN resources t ON t.resource_type = l.target_type AND t.id = l.target_id
        WHERE l.document_rid = ANY(?::bigint[])
       UNION SELECT t.rid FROM unnest(?::text[], ?::text[]) AS v(resource_type, id) JOIN resources t ON t.resource_type = v.resource_type AND t.id = v.id
       UNION SELECT f.rid FROM access_facts f WHERE f.context_type = 'Patient' AND f.context_id = ?
       UNION SELECT f.rid FROM access_facts f WHERE f.context_type = 'DocumentReference' AND f.context_id = ANY(?::text[])
     )
     SELECT t.rid FROM candidates c JOIN resources t ON t.rid = c.rid
      WHERE t.patient_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM attachment_links l JOIN resources d ON d.rid = l.document_rid
                         WHERE l.target_type = t.resource_type AND l.target_id = t.id AND d.patient_id IS DISTINCT FROM ?)
        AND NOT EXISTS (SELECT 1 FROM access_facts f
                         WHERE f.rid = t.rid AND ((f.context_type = 'Patient' AND f.context_id <> ?)
                            OR (f.context_type = 'DocumentReference' AND EXISTS (
                                  SELECT 1 FROM resources cd WHERE cd.resource_type = 'DocumentReference' AND cd.id = f.context_id AND cd.patient_id IS DISTINCT FROM ?))))`,
    [documentRids, earlier.map((ref) => ref.type), earlier.map((ref) => ref.id), patientId, documents.map((row) => row.id), patientId, patientId, patientId],
  );
  return result.rows.map((row) => row.rid);
}

/** The local Binary/Bundle targets of the attachments of every version of X's documents. */
async function earlierAttachments(sql: Executor, documentRids: string[], baseUrl: string | undefined): Promise<{ type: string; id: string }[]> {
  if (documentRids.length === 0) return [];
  const result = await sql.query<{ url: string }>(
    `SELECT DISTINCT u #>> '{}' AS url
       FROM resource_versions v, jsonb_path_query(v.content, '$.content[*].attachment.url') AS u
      WHERE v.rid = ANY(?::bigint[]) AND v.content IS NOT NULL`,
    [documentRids],
  );
  const found = new Map<string, { type: string; id: string }>();
  for (const { url } of result.rows) {
    const target = localReference(url, baseUrl);
    if (target && CONTENT_TYPES.has(target.type)) found.set(`${target.type}/${target.id}`, { type: target.type, id: target.id });
  }
  return [...found.values()];
}
