/**
 * The grid (CONTRACT §4.1, reference/authorization-grid.md) as data: rows
 * read like the reference table, the ConceptMap served read-only matches the
 * file, and the purpose-of-use headers (§4.3 step 2) parse as the contract says.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuthorizationGrid, GRID_FILE, UNLISTED_KEY, type GridFile } from '../../src/access/grid';
import { gridConceptMap } from '../../src/access/grid-conceptmap';
import { applyPurposeOfUse, purposeOfUseFrom } from '../../src/access/purpose-of-use';
import { practitioner, patient } from './builders';

const grid = AuthorizationGrid.load();

describe('the authorization grid', () => {
  it.each([
    // [profession, document type, may read] — straight from the reference table
    ['10', '11488-4', true], // médecin: everything…
    ['10', 'ATTEST-RESID', false], // …but the residence certificate (S)
    ['10', 'ZZZ-NOT-IN-THE-GRID', true], // a type missing from the grid: médecins only
    ['21', 'ZZZ-NOT-IN-THE-GRID', false],
    ['21', '60593-1', true], // pharmacien: dispensation
    ['21', '15508-5', false], // pharmacien: no obstetrics
    ['21', '68599-0', false], // pharmacien: no psychiatry
    ['60', '68599-0', true], // infirmier: psychiatry
    ['69', 'EXPPAT_1', true], // infirmier psychiatrique: advance directives
    ['50', '15508-5', true], // sage-femme: obstetrics
    ['50', '78513-9', false], // sage-femme: no ophthalmology
    ['40', '28617-9', true], // chirurgien-dentiste: dental
    ['40', '68599-0', false], // dentists are denied psychiatric reports (S)
    ['40', '80788-3', false], // …EHPAD care plans (S)
    ['40', '75496-0', false], // …telemedicine requests (S)
    ['40', '83981-1', false], // …médico-social discharge letters (S)
    ['40', 'EXPPAT_3', false], // …and advance directives (S)
    ['70', 'PRESC-KINE', true], // kinésithérapeute: prescriptions
    ['70', '60593-1', false], // no dispensation
    ['80', '15508-5', false], // podologues are denied the delivery report (S)
    ['91', '18748-4', true], // orthophoniste: imaging
    ['92', '78513-9', true], // orthoptiste: ophthalmology
    ['98', '34112-3', true], // manipulateur ERM: reports
    ['98', '60591-5', false], // no synthesis
    ['86', '11502-2', true], // technicien de laboratoire: biology
    ['86', '11488-4', false],
    ['28', '78513-9', true], // opticien: ophthalmology
    ['26', 'DOCPAT03', true], // audioprothésiste: patient documents
    ['26', 'REMB', false],
    ['95', '11506-3', true], // diététicien: paramedical
    ['32', '11488-4', false], // physicien médical: no row, no document
  ])('profession %s reads %s: %s', (profession, code, readable) => {
    expect(grid.allows([profession], [code])).toBe(readable);
  });

  it('reads a document only when every type code is readable, and an untyped one as unlisted', () => {
    expect(grid.allows(['21'], ['11488-4', '68599-0'])).toBe(false);
    expect(grid.allows(['21', '60'], ['11488-4', '68599-0'])).toBe(true); // rights are the union over the roles
    expect(grid.keysOf(undefined)).toEqual([UNLISTED_KEY]);
    expect(grid.keysOf({ coding: [{ system: 'http://snomed.info/sct', code: '371531000' }] })).toEqual([UNLISTED_KEY]);
    expect(grid.keysOf({ coding: [{ system: 'http://loinc.org', code: '11488-4' }, { system: 'http://snomed.info/sct', code: 'x' }] })).toEqual(['11488-4']);
  });

  it('is served as a ConceptMap generated from the file (run scripts/grid-to-conceptmap.ts after editing the grid)', () => {
    const file = JSON.parse(fs.readFileSync(GRID_FILE, 'utf8')) as GridFile;
    const served = JSON.parse(fs.readFileSync(path.join(path.dirname(GRID_FILE), 'authorization-grid.conceptmap.json'), 'utf8'));
    expect(served).toEqual(gridConceptMap(file));
    expect('resourceType' in file).toBe(false); // the conformance catalogue must not load the grid file as a resource
  });
});

describe('X-Purpose-Of-Use', () => {
  it.each([
    [{}, 'TREAT'],
    [{ 'x-purpose-of-use': 'ETREAT' }, 'ETREAT'],
    [{ 'x-purpose-of-use': 'btg', 'x-break-glass-reason': 'arrêt cardiaque' }, 'BTG'],
  ])('%j → %s', (headers, mode) => {
    expect(purposeOfUseFrom(headers).purposeOfUse).toBe(mode);
  });

  it.each([[{ 'x-purpose-of-use': 'BTG' }], [{ 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': ' ' }], [{ 'x-purpose-of-use': 'HRESCH' }]])('%j → 400', (headers) => {
    expect(() => purposeOfUseFrom(headers)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('puts the mode on practitioners only, and keeps the break-glass reason', () => {
    const caller = applyPurposeOfUse(practitioner('p', ['10']), { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'inconscient' });
    expect(caller).toMatchObject({ purposeOfUse: 'BTG', breakGlassReason: 'inconscient' });
    expect(applyPurposeOfUse(patient('x'), { 'x-purpose-of-use': 'ETREAT' })).not.toHaveProperty('purposeOfUse');
  });
});
