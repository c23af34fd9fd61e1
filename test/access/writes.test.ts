/**
 * Who may write what (CONTRACT §4.2 "may create or withdraw it", the end of
 * §4.3, §3 for system clients), as checkWrite answers it in a caller's
 * session (production's policy, test/support/server.ts): 200 (allowed), 403,
 * 405 or 422 with the element expression. "P has accessed X's space" (the
 * administrator rule) is the activity history production keeps: P's reads
 * of X's data through the pipeline, audited in audit_events.
 */
import type { Consent, Resource } from 'fhir/r4';
import type { CallerAccess, WriteKind } from '../../src/kernel/ports';
import type { Caller } from '../../src/kernel/caller';
import { FhirError } from '../../src/kernel/errors';
import { CarnetAccessPolicy } from '../../src/access/policy';
import { AuditAccessHistory } from '../../src/audit/access-history';
import { allowAll } from '../../src/kernel/predicate';
import { startTestServer, type TestServer } from '../support/server';
import { choice, documentReference, immunization, observation, appointment, binary, auditEvent, A07 } from './builders';
import { callerNamed, scenarioWrites } from './scenario';

type Outcome = number | [number, string];

describe('write rules', () => {
  let server: TestServer;
  /** The status of a GET by `who` through the pipeline, audited as production audits it (the event is stored before the answer). */
  const readAs = (who: string, path: string) =>
    server.carnet.pipeline.handle({ method: 'GET', path, query: [], headers: {} }, callerNamed(who)).then(
      (response) => response.status,
      (error: unknown) => {
        if (error instanceof FhirError) return error.status;
        throw error;
      },
    );
  beforeAll(async () => {
    server = await startTestServer();
    // The scenario's AuditEvents land in `resources` only as rows for the 405 cases below:
    // the activity history the administrator rule reads is audit_events, filled by real reads.
    for (const [resource, by] of scenarioWrites()) await server.put(resource, by);
    expect(await readAs('admin', 'Patient/px')).toBe(200); // admin has accessed X's space
  });
  afterAll(() => server.close());

  const sessionAccess = (caller: Caller) => server.session(caller).access;
  async function attempt(who: string, kind: WriteKind, resource: Resource | null, currentKey?: string, accessOf: (caller: Caller) => CallerAccess = sessionAccess): Promise<Outcome> {
    const [type, id] = (currentKey ?? `${resource?.resourceType}/${resource?.id}`).split('/');
    const { store, compartment } = server.session(callerNamed('lab'));
    const current = currentKey ? await store.read(type, id, allowAll) : undefined;
    const patientIds = resource ? compartment.patientsOf(resource) : [];
    try {
      await accessOf(callerNamed(who)).checkWrite(kind, resource, current, patientIds);
      return 200;
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      const expression = error.issues[0]?.expression?.[0];
      return error.status === 422 && expression ? [422, expression] : error.status;
    }
  }
  const current = async (key: string) => (await server.session(callerNamed('lab')).store.read(key.split('/')[0], key.split('/')[1], allowAll))?.content as Resource;
  const withLabels = async (key: string, labels: string[]) => ({ ...(await current(key)), securityLabel: labels.length ? [{ coding: labels.map((code) => ({ system: A07, code })) }] : undefined }) as Resource;

  const choices: Array<[string, string, () => Resource | Promise<Resource>, Outcome]> = [
    ['px', 'authorizes a practitioner', () => choice('authorize', 'px', { actors: ['Practitioner/stranger'] }), 200],
    ['rm', 'authorizes for the minor it represents', () => choice('authorize', 'pm', { actors: ['Practitioner/stranger'] }), 200],
    ['rm', 'chooses an administrator', () => choice('administrator', 'pm', { actors: ['Practitioner/gp'] }), 403],
    ['rm', 'hides a document', () => choice('hide-document', 'pm', { documents: ['m-cr'] }), 403],
    ['rm', 'hides everything of the minor', () => choice('hide-all', 'pm'), 200],
    ['px', 'authorizes for another patient', () => choice('authorize', 'py', { actors: ['Practitioner/stranger'] }), 403],
    ['stranger', 'authorizes themself, attesting the patient\'s agreement', () => choice('authorize', 'px', { actors: ['Practitioner/stranger'], performer: 'Practitioner/stranger' }), 200],
    ['stranger', 'authorizes someone else', () => choice('authorize', 'px', { actors: ['Practitioner/pharma'] }), 403],
    ['kine', 'blocked, authorizes themself', () => choice('authorize', 'px', { actors: ['Practitioner/kine'] }), 403],
    ['gp', 'blocks a practitioner', () => choice('block', 'px', { actors: ['Practitioner/pharma'] }), 403],
    ['admin', 'administrator, blocks a practitioner', () => choice('block', 'px', { actors: ['Practitioner/pharma'] }), 200],
    ['admin', 'administrator, hides a document', () => choice('hide-document', 'px', { documents: ['x-cr'] }), 200],
    ['author', 'author, hides their document', () => choice('hide-document', 'px', { documents: ['x-by-author'] }), 200],
    ['author', 'hides someone else\'s document', () => choice('hide-document', 'px', { documents: ['x-cr'] }), 403],
    ['gp', 'hides a document', () => choice('hide-document', 'px', { documents: ['x-cr'] }), 403],
    ['gp', 'hides everything', () => choice('hide-all', 'px'), 403],
    ['px', 'hides everything', () => choice('hide-all', 'px'), 200],
    ['gp', 'sets an emergency choice', () => choice('emergency', 'px', { purposes: ['BTG'] }), 403],
    ['px', 'chooses an administrator who accessed the space', () => choice('administrator', 'px', { actors: ['Practitioner/admin'] }), 200],
    ['px', 'chooses an administrator who never accessed it', () => choice('administrator', 'px', { actors: ['Practitioner/gp'] }), [422, 'Consent.provision.actor[0].reference']],
    ['lab', 'a system client makes a choice', () => choice('authorize', 'px', { actors: ['Practitioner/gp'] }), 403],
    ['px', 'block with provision.type permit', () => ({ ...choice('block', 'px', { actors: ['Practitioner/gp'] }), provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Practitioner/gp' } }] } }) as Resource, [422, 'Consent.provision.type']],
    ['px', 'an unknown consent kind', () => ({ ...choice('block', 'px', { actors: ['Practitioner/gp'] }), category: [{ coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'sell-my-data' }] }] }) as Resource, [422, 'Consent.category']],
    ['px', 'a hide-all naming an actor', () => ({ ...choice('hide-all', 'px'), provision: { type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Practitioner/gp' } }] } }) as Resource, [422, 'Consent.provision.actor']],
    ['px', 'OPTIN on a deny', () => ({ ...choice('block', 'px', { actors: ['Practitioner/gp'] }), policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] } }) as Resource, [422, 'Consent.policyRule']],
  ];
  it.each(choices)('%s %s → %j', async (who, _what, build, expected) => {
    expect(await attempt(who, 'create', await build())).toEqual(expected);
  });

  const withdrawals: Array<[string, string, string, 'inactive' | 'delete', Outcome]> = [
    ['gp', 'withdraws its own authorization', 'Consent/x-auth-gp', 'inactive', 200],
    ['pharma', 'withdraws someone else\'s authorization', 'Consent/x-auth-gp', 'inactive', 403],
    ['px', 'lifts a block', 'Consent/x-block-kine', 'delete', 200],
    ['kine', 'lifts its own block', 'Consent/x-block-kine', 'delete', 403],
    ['rm', 'withdraws an emergency choice of another patient', 'Consent/x-masked', 'inactive', 403],
    ['admin', 'withdraws its own administrator role', 'Consent/x-admin', 'inactive', 403],
  ];
  it.each(withdrawals)('%s %s → %j', async (who, _what, key, how, expected) => {
    const resource = how === 'delete' ? null : ({ ...(await current(key)), status: 'inactive' } as Resource);
    expect(await attempt(who, how === 'delete' ? 'delete' : 'update', resource, key)).toEqual(expected);
  });

  const documents: Array<[string, string, () => Promise<Resource | null> | Resource | null, string | undefined, WriteKind, Outcome]> = [
    ['stranger', 'submits without authorization', () => documentReference('new1', 'px', { authors: ['Practitioner/stranger'] }), undefined, 'create', 200],
    ['stranger', 'submits naming one of their roles', () => documentReference('new2', 'px', { authors: ['PractitionerRole/stranger-role0'] }), undefined, 'create', 200],
    ['nurse', 'submits naming their organization', () => documentReference('new3', 'px', { authors: ['Organization/clinic'] }), undefined, 'create', 200],
    ['stranger', 'submits naming another practitioner', () => documentReference('new4', 'px', { authors: ['Practitioner/gp'] }), undefined, 'create', [422, 'DocumentReference.author[0]']],
    ['stranger', 'submits naming an organization not theirs', () => documentReference('new5', 'px', { authors: ['Organization/clinic'] }), undefined, 'create', [422, 'DocumentReference.author[0]']],
    ['kine', 'blocked, submits', () => documentReference('new6', 'px'), undefined, 'create', 403],
    ['px', 'uploads a document naming themself', () => documentReference('new7', 'px', { authors: ['Patient/px'] }), undefined, 'create', 200],
    ['px', 'uploads a document naming a practitioner', () => documentReference('new8', 'px', { authors: ['Practitioner/gp'] }), undefined, 'create', [422, 'DocumentReference.author[0]']],
    ['lab', 'a system client submits', () => documentReference('new9', 'px', { authors: ['Practitioner/gp'] }), undefined, 'create', 200],
    ['gp', 'updates a document it did not author', () => current('DocumentReference/x-cr'), 'DocumentReference/x-cr', 'update', 403],
    ['author', 'updates its document', () => current('DocumentReference/x-by-author'), 'DocumentReference/x-by-author', 'update', 200],
    ['author', 'hides its document (MASQUE_PS)', () => withLabels('DocumentReference/x-by-author', ['MASQUE_PS']), 'DocumentReference/x-by-author', 'update', 200],
    ['author', 'deletes its document', () => null, 'DocumentReference/x-by-author', 'delete', 200],
    ['px', 'deletes a document it did not add', () => null, 'DocumentReference/x-cr', 'delete', 403],
    ['px', 'hides a document (MASQUE_PS)', () => withLabels('DocumentReference/x-cr', ['MASQUE_PS']), 'DocumentReference/x-cr', 'update', 200],
    ['px', 'unhides a document', () => withLabels('DocumentReference/x-masque', []), 'DocumentReference/x-masque', 'update', 200],
    ['px', 'changes the type of a document it did not add', async () => ({ ...(await current('DocumentReference/x-cr')), type: { text: 'autre' } }) as Resource, 'DocumentReference/x-cr', 'update', 403],
    ['px', 'sets INVISIBLE_PATIENT', () => withLabels('DocumentReference/x-cr', ['INVISIBLE_PATIENT']), 'DocumentReference/x-cr', 'update', 403],
    ['pm', 'removes INVISIBLE_REPRESENTANTS_LEGAUX', () => withLabels('DocumentReference/m-irl', []), 'DocumentReference/m-irl', 'update', 200],
    ['rm', 'removes INVISIBLE_REPRESENTANTS_LEGAUX', () => withLabels('DocumentReference/m-irl', []), 'DocumentReference/m-irl', 'update', 403],
    ['px', 'writes an AuditEvent', () => auditEvent('ae', 'px', 'Patient/px'), undefined, 'create', 405],
    ['lab', 'writes an AuditEvent', () => auditEvent('ae', 'px', 'Patient/px'), undefined, 'create', 405],
    ['px', 'deletes an AuditEvent', () => null, 'AuditEvent/x-audit', 'delete', 405],
  ];
  it.each(documents)('%s %s → %j', async (who, _what, build, key, kind, expected) => {
    expect(await attempt(who, kind, await build(), key)).toEqual(expected);
  });

  const data: Array<[string, string, () => Promise<Resource | null> | Resource | null, string | undefined, WriteKind, Outcome]> = [
    ['gp', 'adds an Immunization', () => immunization('imm1', 'px', 'Practitioner/gp'), undefined, 'create', 200],
    ['stranger', 'adds an Immunization without authorization', () => immunization('imm2', 'px', 'Practitioner/stranger'), undefined, 'create', 403],
    ['px', 'changes an Immunization a practitioner recorded', () => current('Immunization/x-imm'), 'Immunization/x-imm', 'update', 403],
    ['px', 'deletes an Immunization a practitioner recorded', () => null, 'Immunization/x-imm', 'delete', 403],
    ['px', 'adds its own Immunization', () => immunization('imm3', 'px'), undefined, 'create', 200],
    ['gp', 'adds to the health profile', () => observation('obs1', 'px'), undefined, 'create', 200],
    ['stranger', 'adds to the health profile without authorization', () => observation('obs2', 'px'), undefined, 'create', 403],
    ['stranger:BTG', 'adds to the health profile in break-glass', () => observation('obs3', 'px'), undefined, 'create', 200],
    ['gp', 'updates health data it did not record', () => current('Observation/x-obs'), 'Observation/x-obs', 'update', 403],
    ['gp', 'updates the Patient', () => current('Patient/px'), 'Patient/px', 'update', 403],
    ['gp', 'writes the directory', () => ({ resourceType: 'Organization', id: 'org2', name: 'x' }) as Resource, undefined, 'create', 403],
    ['lab', 'an operator writes the directory', () => ({ resourceType: 'Organization', id: 'org3', name: 'x' }) as Resource, undefined, 'create', 200],
    ['stranger', 'books an appointment it takes part in', () => appointment('ap1', 'px', ['Practitioner/stranger']), undefined, 'create', 200],
    ['stranger', 'books an appointment for someone else', () => appointment('ap2', 'px', ['Practitioner/gp']), undefined, 'create', 403],
    ['kine', 'blocked, books an appointment', () => appointment('ap3', 'px', ['Practitioner/kine']), undefined, 'create', 403],
    ['kine', 'blocked, uploads a Binary for the patient', () => binary('b1', 'Patient/px'), undefined, 'create', 403],
    ['stranger', 'uploads a Binary for the patient', () => binary('b2', 'Patient/px'), undefined, 'create', 200],
    ['px', 'replaces a Binary the lab uploaded', () => current('Binary/x-cr-bin'), 'Binary/x-cr-bin', 'update', 403],
  ];
  it.each(data)('%s %s → %j', async (who, _what, build, key, kind, expected) => {
    expect(await attempt(who, kind, await build(), key)).toEqual(expected);
  });

  it('MASKED permit is refused while both ETREAT and BTG are denied (and accepted once one is permitted again)', async () => {
    await server.put({ resourceType: 'Patient', id: 'pz' } as Resource, 'client:op');
    await server.put(choice('emergency', 'pz', { id: 'z-no-etreat', purposes: ['ETREAT'], effect: 'deny' }), 'Patient/pz');
    await server.put(choice('emergency', 'pz', { id: 'z-no-btg', purposes: ['BTG'], effect: 'deny' }), 'Patient/pz');
    const masked = choice('emergency', 'pz', { id: 'z-masked', purposes: ['MASKED'], effect: 'permit' });
    expect(await attempt('pz', 'create', masked)).toEqual([422, 'Consent.provision.purpose']);
    await server.put({ ...choice('emergency', 'pz', { id: 'z-no-btg', purposes: ['BTG'], effect: 'deny' }), status: 'inactive' } as Consent, 'Patient/pz');
    expect(await attempt('pz', 'create', masked)).toBe(200);
  });

  it('INVISIBLE_REPRESENTANTS_LEGAUX cannot be set again once removed', async () => {
    await server.put(documentReference('m-irl2', 'pm', { labels: ['INVISIBLE_REPRESENTANTS_LEGAUX'] }), 'client:lab');
    await server.put(documentReference('m-irl2', 'pm', { labels: [] }), 'client:lab');
    const again = documentReference('m-irl2', 'pm', { labels: ['INVISIBLE_REPRESENTANTS_LEGAUX'] });
    expect(await attempt('lab', 'update', again, 'DocumentReference/m-irl2')).toEqual([422, 'DocumentReference.securityLabel']);
  });

  it('nothing is submitted to a space that is not open yet (§7 hook)', async () => {
    const { compartment, validator } = server.session(callerNamed('lab'));
    const closed = new CarnetAccessPolicy({ compartment, validator, accessHistory: (sql) => new AuditAccessHistory(sql), spaces: { isOpen: async (id) => id !== 'px' } });
    const closedAccess = (caller: Caller) => closed.forCaller(caller, server.carnet.sql);
    expect(await attempt('lab', 'create', documentReference('new10', 'px'), undefined, closedAccess)).toEqual([422, 'DocumentReference.subject']);
    expect(await attempt('stranger', 'create', documentReference('new11', 'py'), undefined, closedAccess)).toBe(200);
  });

  it('an administrator must have read X\'s data successfully before: the audited reads count, nothing else does', async () => {
    const pharmaAdministrator = choice('administrator', 'px', { actors: ['Practitioner/pharma'] });
    const refused: Outcome = [422, 'Consent.provision.actor[0].reference'];
    expect(await attempt('px', 'create', pharmaAdministrator)).toEqual(refused);
    // an AuditEvent in `resources` is no activity history (the server never records one there)
    await server.put(auditEvent('x-audit-pharma', 'px', 'Practitioner/pharma'), 'server');
    expect(await attempt('px', 'create', pharmaAdministrator)).toEqual(refused);
    // a read the rules refused (a type outside the pharmacist's grid row: 404) is no access either
    expect(await readAs('pharma', 'DocumentReference/x-psy')).toBe(404);
    expect(await attempt('px', 'create', pharmaAdministrator)).toEqual(refused);
    expect(await readAs('pharma', 'DocumentReference/x-cr')).toBe(200);
    expect(await attempt('px', 'create', pharmaAdministrator)).toBe(200);
  });
});
