/**
 * Physical erasure of a space (§7): an opposition, and the retention purge ten years after a
 * closure. In the caller's transaction, deletes every row of patient X — every version and the
 * current row of Patient X and of each resource of X's compartment, the Binaries X's documents
 * point to or that name X as their securityContext, their search index rows, access facts,
 * attachment links, consent rules, X's patient_access and identities, X's audit events, chain
 * head and outbox rows. Touches nothing of other patients or of shared data. Returns the
 * counts per table (for the log: counts only, never an id).
 */
import type { Executor } from '../store/executor';

const SEARCH_TABLES = ['search_string', 'search_token', 'search_reference', 'search_date', 'search_number', 'search_quantity', 'search_uri'];

export type ErasureReport = Record<string, number>;

export async function erasePatient(sql: Executor, patientId: string): Promise<ErasureReport> {
  const report: ErasureReport = {};
  const run = async (table: string, text: string, bindings: unknown[]) => {
    const result = await sql.query(text, bindings as never[]);
    report[table] = (report[table] ?? 0) + (result.rowCount ?? 0);
  };
  // The rows of X: the compartment, Patient X itself, and the Binaries X's documents govern.
  const owned = await sql.query<{ rid: string }>(
    `SELECT rid FROM resources WHERE patient_id = ? OR (resource_type = 'Patient' AND id = ?)
     UNION SELECT b.rid FROM resources b JOIN attachment_links l ON l.target_type = b.resource_type AND l.target_id = b.id
       JOIN resources d ON d.rid = l.document_rid WHERE d.patient_id = ?
     UNION SELECT rid FROM resources WHERE resource_type = 'Binary' AND content->'securityContext'->>'reference' IN (?, ?)`,
    [patientId, patientId, patientId, `Patient/${patientId}`, `Patient/${patientId}`],
  );
  const rids = owned.rows.map((row) => row.rid);
  if (rids.length) {
    for (const table of SEARCH_TABLES) await run(table, `DELETE FROM ${table} WHERE rid = ANY(?::bigint[])`, [rids]);
    await run('access_facts', 'DELETE FROM access_facts WHERE rid = ANY(?::bigint[])', [rids]);
    await run('attachment_links', 'DELETE FROM attachment_links WHERE document_rid = ANY(?::bigint[])', [rids]);
    await run('consent_rules', 'DELETE FROM consent_rules WHERE consent_rid = ANY(?::bigint[])', [rids]);
    await run('resource_versions', 'DELETE FROM resource_versions WHERE rid = ANY(?::bigint[])', [rids]);
    await run('resources', 'DELETE FROM resources WHERE rid = ANY(?::bigint[])', [rids]);
  }
  await run('resource_versions', `DELETE FROM resource_versions WHERE patient_id = ? OR (resource_type = 'Patient' AND id = ?)`, [patientId, patientId]);
  await run('consent_rules', 'DELETE FROM consent_rules WHERE patient_id = ?', [patientId]);
  await run('access_facts', 'DELETE FROM access_facts WHERE patient_id = ?', [patientId]);
  // audit_events is append-only; its trigger lets a purge through, for this transaction only.
  await sql.query(`SELECT set_config('carnet.audit_purge', 'on', true)`);
  for (const table of ['patient_access', 'patient_identities', 'notification_outbox', 'audit_events', 'audit_heads', 'closed_spaces']) {
    await run(table, `DELETE FROM ${table} WHERE patient_id = ?`, [patientId]);
  }
  await sql.query(`SELECT set_config('carnet.audit_purge', 'off', true)`);
  return report;
}
