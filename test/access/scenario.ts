/**
 * The contract's cast (CONTRACT §4, the seeds' stories): patients X (px), Y
 * (py) and the minor M (pm, represented by rm); practitioners of several
 * professions with and without authorization; every kind of choice; documents
 * of several types and labels; health data, appointments, attachments.
 * Shared by the unit-level table (contract.test.ts) and the HTTP table.
 */
import type { Resource } from 'fhir/r4';
import type { Caller, PractitionerCaller } from '../../src/kernel/caller';
import { appointment, auditEvent, binary, choice, communication, documentReference, immunization, observation, patient, patientResource, practitioner, representative, roleResources, system } from './builders';

export const cast = {
  gp: practitioner('gp', ['10']),
  pharma: practitioner('pharma', ['21']),
  dentist: practitioner('dentist', ['40']),
  kine: practitioner('kine', ['70']),
  nurse: practitioner('nurse', ['60'], { organization: 'clinic' }),
  physicist: practitioner('physicist', ['32']),
  stranger: practitioner('stranger', ['10']),
  samu: practitioner('samu', ['10'], { samu: true }),
  admin: practitioner('admin', ['10']),
  author: practitioner('author', ['10']),
} satisfies Record<string, PractitionerCaller>;

export type CastName = keyof typeof cast;

/** Writes, in order: [resource, submitter]. */
export function scenarioWrites(): Array<[Resource, string]> {
  const lab = 'client:lab';
  const X = 'px';
  const writes: Array<[Resource, string]> = [];
  const add = (resource: Resource, by: string) => writes.push([resource, by]);
  add({ resourceType: 'Organization', id: 'clinic', name: 'Clinique' } as Resource, 'client:op');
  for (const caller of Object.values(cast)) for (const role of roleResources(caller)) add(role, 'client:op');
  for (const id of ['px', 'py']) add(patientResource(id), 'client:op');
  add({ ...patientResource('pm'), birthDate: '2020-01-01' } as Resource, 'client:op'); // a minor: rm, her mother, represents her
  add({ resourceType: 'RelatedPerson', id: 'rm', patient: { reference: 'Patient/pm' }, relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }] } as Resource, 'client:op');
  // X's documents
  add(documentReference('x-cr', X, { type: '11488-4', binary: 'x-cr-bin' }), lab);
  add(binary('x-cr-bin'), lab);
  add(documentReference('x-psy', X, { type: '68599-0' }), lab);
  add(documentReference('x-attest', X, { type: 'ATTEST-RESID' }), lab);
  add(documentReference('x-unlisted', X, { type: 'ZZZ-LOCAL' }), lab);
  add(documentReference('x-none', X, { type: null }), lab);
  add(documentReference('x-masque', X, { type: '11488-4', labels: ['MASQUE_PS'], binary: 'x-masque-bin' }), lab);
  add(binary('x-masque-bin'), lab);
  add(documentReference('x-hidden', X, { type: '11488-4' }), lab);
  add(documentReference('x-hidden-pharma', X, { type: '11488-4' }), lab);
  add(documentReference('x-by-author', X, { type: '68599-0', authors: ['Practitioner/author'] }), 'Practitioner/author');
  add(documentReference('x-by-author-masque', X, { type: '11488-4', labels: ['MASQUE_PS'], authors: ['PractitionerRole/author-role0'] }), 'Practitioner/author');
  add(documentReference('x-invisible-patient', X, { type: '11488-4', labels: ['INVISIBLE_PATIENT'] }), lab);
  add(binary('x-ctx-bin', 'Patient/px'), lab);
  add(binary('orphan-bin'), 'Practitioner/author');
  add(observation('x-obs', X), lab);
  add(immunization('x-imm', X, 'Practitioner/stranger'), 'Practitioner/stranger');
  add(appointment('x-appt', X, ['Practitioner/stranger']), lab);
  add(communication('x-comm', X, 'Practitioner/nurse'), 'Practitioner/nurse');
  add(auditEvent('x-audit', X, 'Practitioner/admin'), 'server');
  add({ resourceType: 'Consent', id: 'x-plain-consent', status: 'active', scope: { text: 'research' }, category: [{ text: 'research' }], patient: { reference: 'Patient/px' }, performer: [{ reference: 'Practitioner/author' }] } as Resource, 'Practitioner/author');
  // X's choices
  for (const actor of ['gp', 'pharma', 'dentist', 'kine', 'admin', 'physicist']) add(choice('authorize', X, { id: `x-auth-${actor}`, actors: [`Practitioner/${actor}`] }), 'Patient/px');
  add(choice('authorize', X, { id: 'x-auth-clinic', actors: ['Organization/clinic'] }), 'Patient/px');
  add(choice('block', X, { id: 'x-block-kine', actors: ['Practitioner/kine'] }), 'Patient/px');
  add(choice('hide-document', X, { id: 'x-hide', documents: ['x-hidden'] }), 'Patient/px');
  add(choice('hide-document', X, { id: 'x-hide-pharma', documents: ['x-hidden-pharma'], actors: ['Practitioner/pharma'] }), 'Patient/px');
  add(choice('emergency', X, { id: 'x-masked', purposes: ['MASKED'], effect: 'permit' }), 'Patient/px');
  add(choice('administrator', X, { id: 'x-admin', actors: ['Practitioner/admin'] }), 'Patient/px');
  add(choice('authorize', X, { id: 'x-auth-withdrawn', actors: ['Practitioner/stranger'], status: 'inactive' }), 'Patient/px');
  // Y: hides everything, denies break-glass, has an administrator
  add(documentReference('y-cr', 'py', { type: '11488-4' }), lab);
  for (const actor of ['gp', 'admin']) add(choice('authorize', 'py', { id: `y-auth-${actor}`, actors: [`Practitioner/${actor}`] }), 'Patient/py');
  add(choice('hide-all', 'py', { id: 'y-hide-all' }), 'Patient/py');
  add(choice('emergency', 'py', { id: 'y-no-btg', purposes: ['BTG'], effect: 'deny' }), 'Patient/py');
  add(auditEvent('y-audit', 'py', 'Practitioner/admin'), 'server'); // admin accessed Y's space before being chosen
  add(choice('administrator', 'py', { id: 'y-admin', actors: ['Practitioner/admin'] }), 'Patient/py');
  // M, a minor, and a document hidden from the legal representatives
  add(documentReference('m-cr', 'pm', { type: '11488-4' }), lab);
  add(documentReference('m-irl', 'pm', { type: '11488-4', labels: ['INVISIBLE_REPRESENTANTS_LEGAUX'] }), lab);
  add(choice('authorize', 'pm', { id: 'm-auth-gp', actors: ['Practitioner/gp'] }), 'Patient/pm');
  return writes;
}

/** [caller, resource, visible] — read, search and history must all agree (§4.3 step 5). */
export const visibilityCases: Array<[string, string, boolean]> = [
  // the grid (§4.1): professions read the document types of their row
  ['gp', 'DocumentReference/x-cr', true],
  ['gp', 'DocumentReference/x-psy', true],
  ['gp', 'DocumentReference/x-attest', false], // médecins: everything but the residence certificate
  ['gp', 'DocumentReference/x-unlisted', true], // a type missing from the grid: médecins only
  ['gp', 'DocumentReference/x-none', true],
  ['pharma', 'DocumentReference/x-cr', true],
  ['pharma', 'DocumentReference/x-psy', false],
  ['pharma', 'DocumentReference/x-unlisted', false],
  ['pharma', 'DocumentReference/x-none', false],
  ['dentist', 'DocumentReference/x-cr', true],
  ['dentist', 'DocumentReference/x-psy', false], // dentists are denied psychiatric reports
  ['nurse', 'DocumentReference/x-cr', true], // authorized through Organization/clinic
  ['nurse', 'DocumentReference/x-psy', true],
  ['physicist', 'DocumentReference/x-cr', false], // a profession absent from the grid reads no document
  ['physicist', 'Observation/x-obs', true], // …but reads the health profile
  // hiding (§4.2, §4.3 step 3)
  ['gp', 'DocumentReference/x-masque', false],
  ['gp', 'DocumentReference/x-hidden', false],
  ['gp', 'DocumentReference/x-hidden-pharma', true],
  ['pharma', 'DocumentReference/x-hidden-pharma', false],
  ['gp', 'DocumentReference/x-invisible-patient', true], // INVISIBLE_PATIENT hides from the patient only
  ['admin', 'DocumentReference/x-masque', true],
  ['admin', 'DocumentReference/x-hidden', true],
  ['admin', 'DocumentReference/x-attest', false], // administrators stay under the grid
  ['gp', 'DocumentReference/y-cr', false], // hide-all
  ['admin', 'DocumentReference/y-cr', true],
  // authors (§4.3 steps 2–3, 6)
  ['author', 'DocumentReference/x-by-author', true],
  ['author', 'DocumentReference/x-by-author-masque', true], // author through one of their PractitionerRoles
  ['author', 'DocumentReference/x-cr', false],
  ['author', 'Observation/x-obs', false],
  ['author', 'Patient/px', false],
  ['author', 'Binary/orphan-bin', true],
  ['author', 'Consent/x-plain-consent', true],
  ['gp', 'DocumentReference/x-by-author', true],
  // blocked (§4.3 step 1)
  ['kine', 'DocumentReference/x-cr', false],
  ['kine', 'Observation/x-obs', false],
  ['kine', 'Patient/px', false],
  ['kine:BTG', 'DocumentReference/x-cr', false],
  // without authorization: only what P takes part in
  ['stranger', 'DocumentReference/x-cr', false],
  ['stranger', 'Observation/x-obs', false],
  ['stranger', 'Immunization/x-imm', true],
  ['stranger', 'Appointment/x-appt', true],
  ['gp', 'Appointment/x-appt', false],
  ['nurse', 'Communication/x-comm', true],
  ['gp', 'Communication/x-comm', false],
  ['gp', 'Immunization/x-imm', true],
  ['gp', 'Patient/px', true],
  ['gp', 'Observation/x-obs', true],
  ['gp', 'Consent/x-auth-gp', false], // Consents: only those P performed
  ['gp', 'AuditEvent/x-audit', false],
  // emergencies (§4.3 step 2)
  ['stranger:BTG', 'DocumentReference/x-cr', true],
  ['stranger:BTG', 'DocumentReference/x-masque', true], // X permits MASKED
  ['stranger:BTG', 'DocumentReference/x-hidden', true],
  ['stranger:BTG', 'DocumentReference/x-psy', true],
  ['stranger:BTG', 'Observation/x-obs', true],
  ['stranger:BTG', 'Patient/py', false], // Y denies BTG
  ['stranger:BTG', 'DocumentReference/y-cr', false],
  ['samu:ETREAT', 'DocumentReference/x-cr', true],
  ['samu:ETREAT', 'DocumentReference/x-masque', true],
  ['samu:ETREAT', 'Patient/py', true],
  ['samu:ETREAT', 'DocumentReference/y-cr', false], // hide-all holds in emergencies
  ['gp:ETREAT', 'DocumentReference/x-cr', false], // ETREAT needs the samu-regulator role
  ['gp:ETREAT', 'Observation/x-obs', false],
  // attachments follow their document (§4.3 step 6)
  ['gp', 'Binary/x-cr-bin', true],
  ['gp', 'Binary/x-masque-bin', false],
  ['admin', 'Binary/x-masque-bin', true],
  ['pharma', 'Binary/x-ctx-bin', true], // securityContext Patient/X: health profile
  ['stranger', 'Binary/x-ctx-bin', false],
  ['gp', 'Binary/orphan-bin', false],
  // patients and legal representatives
  ['px', 'DocumentReference/x-masque', true],
  ['px', 'DocumentReference/x-hidden', true],
  ['px', 'DocumentReference/x-invisible-patient', false],
  ['px', 'AuditEvent/x-audit', true],
  ['px', 'Consent/x-auth-gp', true],
  ['px', 'Binary/x-cr-bin', true],
  ['px', 'DocumentReference/y-cr', false],
  ['px', 'Patient/py', false],
  ['pm', 'DocumentReference/m-irl', true],
  ['rm', 'DocumentReference/m-irl', false],
  ['rm', 'DocumentReference/m-cr', true],
  ['rm', 'DocumentReference/x-cr', false],
  // system clients read what they created, and shared data
  ['lab', 'DocumentReference/x-cr', true],
  ['lab', 'Binary/x-cr-bin', true],
  ['lab', 'AuditEvent/x-audit', false],
  ['other', 'DocumentReference/x-cr', false],
  ['other', 'Binary/x-cr-bin', false],
  ['other', 'Organization/clinic', true],
];

/** [caller, patient, status] for a request naming the patient's space (§4.3 step 5). */
export const spaceCases: Array<[string, string, 200 | 403]> = [
  ['gp', 'px', 200],
  ['nurse', 'px', 200],
  ['stranger', 'px', 403],
  ['kine', 'px', 403],
  ['kine:BTG', 'px', 403],
  ['stranger:BTG', 'px', 200],
  ['stranger:BTG', 'py', 403],
  ['samu:ETREAT', 'py', 200],
  ['gp:ETREAT', 'px', 403],
  ['author', 'px', 403],
  ['px', 'px', 200],
  ['px', 'py', 403],
  ['rm', 'pm', 200],
  ['rm', 'px', 403],
  ['lab', 'px', 200],
];

/** A caller of the cast by name: `gp`, `stranger:BTG`, `samu:ETREAT`, a patient id, `rm` (M's mother), `lab`, `other`. */
export function callerNamed(name: string): Caller {
  const [who, mode] = name.split(':');
  if (who in cast) {
    const base = cast[who as CastName];
    return mode ? { ...base, purposeOfUse: mode as 'ETREAT' | 'BTG', ...(mode === 'BTG' ? { breakGlassReason: 'urgence vitale' } : {}) } : base;
  }
  if (who === 'rm') return representative('rm', 'pm');
  if (who === 'lab') return system('lab');
  if (who === 'other') return system('other', 'system/*.read');
  return patient(who);
}
