/**
 * The patient's web application in a real browser (CONTRACT §10): Debian's chromium driven by
 * playwright-core against the real server (test/support/server.ts on a real port, the app
 * built once by vite into a temporary APP_DIR). A patient enrolled and activated as the
 * README says logs in with the one-time code, authorizes a GP, blocks a physiotherapist, hides
 * a document, makes emergency choices, reads the history and downloads the export — each
 * choice checked at once through the API with the practitioners' own tokens — then does it
 * again in English and closes the space. Every screen is scanned with axe-core (no serious or
 * critical violation), injected through the DevTools protocol so the page's own CSP stays on. Screenshots go to a temporary folder, removed at the end unless
 * APP_SHOTS_DIR names one to keep.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Bundle, Consent, Resource } from 'fhir/r4';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, send, get, type TestServer } from '../support/server';
import { nextCode } from '../support/messages';
import { practitioner, roleResources } from '../access/builders';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INS = 'urn:oid:1.2.250.1.213.1.4.8';
const RPPS = 'urn:oid:1.2.250.1.71.4.2.1';
const NIR = '280017505600103';
const SERIAL = '123456789012';
const PASSWORD = 'Violette-Jardin-Ombre-42';
const EMAIL = 'marie.durand@example.org';
const KIND = 'https://carnet.example.org/fhir/CodeSystem/consent-kind';

let server: TestServer;
let http: Server;
let base: string;
let browser: Browser;
let page: Page;
let appDir: string;
let shots: string;
let patientId: string;
let gp: string;
let kine: string;
const documents: Record<'summary' | 'psy' | 'consultation', string> = { summary: '', psy: '', consultation: '' };

jest.setTimeout(120_000);

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`the browser tests drive Debian's chromium at ${CHROMIUM}, which is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-app-build-'));
  shots = process.env.APP_SHOTS_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-app-shots-'));
  fs.mkdirSync(shots, { recursive: true });
  const root = path.resolve(__dirname, '..', '..');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'app/vite.config.mts'], {
    cwd: root,
    env: { ...process.env, APP_BUILD_DIR: appDir },
    stdio: 'pipe',
  });
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  server = await startTestServer({ APP_DIR: appDir, AUTH_FAILURES_PER_IP: '1000' });
  http = server.carnet.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => http.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  await seed();
  browser = await launching;
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 }, locale: 'fr-FR' });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await server?.close();
  if (appDir) fs.rmSync(appDir, { recursive: true, force: true });
  if (shots && !process.env.APP_SHOTS_DIR) fs.rmSync(shots, { recursive: true, force: true });
});

/** The directory (a GP and a physiotherapist), the patient enrolled and activated (README, accounts), two documents from the hospital. */
async function seed(): Promise<void> {
  const operator = await server.systemToken('directory');
  for (const [id, given, family, rpps, profession] of [
    ['dr-martin', 'Anne', 'Martin', '810000000001', '10'],
    ['kine-durand', 'Paul', 'Durand', '810000000002', '70'],
  ]) {
    await server.put({ resourceType: 'Practitioner', id, identifier: [{ system: RPPS, value: rpps }], name: [{ prefix: ['Dr'], given: [given], family }] } as Resource);
    for (const role of roleResources(practitioner(id, [profession]))) await server.put(role);
  }
  expect(operator).toBeTruthy();
  gp = await server.practitionerToken('dr-martin');
  kine = await server.practitionerToken('kine-durand');
  const insurer = await server.systemToken('insurer', 'system/Patient.write system/Patient.read');
  const enrolled = await server.request
    .post('/account/enrol')
    .set('Authorization', `Bearer ${insurer}`)
    .set('Content-Type', 'application/json')
    .send({ patient: { resourceType: 'Patient', identifier: [{ system: INS, value: NIR }], name: [{ family: 'Durand', given: ['Marie'] }], birthDate: '1980-01-15' }, vitaleSerial: SERIAL, email: EMAIL });
  expect(enrolled.status).toBe(201);
  patientId = enrolled.body.patient.split('/')[1];
  const activated = await server.request.post('/account/activate').set('Content-Type', 'application/json').send({ code: enrolled.body.code, nir: NIR, vitaleSerial: SERIAL, password: PASSWORD });
  expect(activated.status).toBe(200);
  const hospital = await server.systemToken('hospital');
  for (const [key, code, display, date] of [
    ['summary', '34133-9', 'Synthèse d’hospitalisation', '2026-11-02'],
    ['psy', '68599-0', 'Compte rendu de psychiatrie', '2026-10-15'],
  ] as const) {
    const binary = await send(server, 'post', 'Binary', hospital, { resourceType: 'Binary', contentType: 'application/pdf', data: Buffer.from(`%PDF-1.4 ${key}`).toString('base64'), securityContext: { reference: `Patient/${patientId}` } });
    expect(binary.status).toBe(201);
    const document = await send(server, 'post', 'DocumentReference', hospital, {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient/${patientId}` },
      date: `${date}T10:00:00Z`,
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary.body.id}` } }],
    });
    expect(document.status).toBe(201);
    documents[key] = document.body.id;
  }
}

/** axe-core in the page: no serious or critical violation. */
async function scan(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  // evaluated through the DevTools protocol: the page's CSP (no inline script) stays as served
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(require('axe-core').source as string);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, targets: violation.nodes.map((node) => node.target.join(' ')) }));
  });
  expect({ screen: name, violations: violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical') }).toEqual({ screen: name, violations: [] });
}

const status = () => page.locator('[role=status]');

/** Runs `action` and waits for its own announcement (a new message in the live region) containing `expected`. */
async function announced(action: () => Promise<unknown>, expected: string, timeoutMs = 10_000): Promise<void> {
  const before = await status().getAttribute('data-n');
  await action();
  const deadline = Date.now() + timeoutMs;
  let text: string | null = null;
  while (Date.now() < deadline) {
    const n = await status().getAttribute('data-n');
    text = await status().textContent();
    if (n !== null && n !== before && text?.includes(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(text).toContain(expected);
}

/** Waits until the element's text contains `expected` (the page updates after its requests answer). */
async function until(locator: ReturnType<Page['locator']>, expected: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let text: string | null = null;
  while (Date.now() < deadline) {
    text = await locator.first().textContent({ timeout: 1_000 }).catch(() => null);
    if (text?.includes(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(text).toContain(expected);
}

async function logIn(submit: string, verify: string, wrongFirst?: string): Promise<void> {
  await page.locator('#nir').fill(NIR);
  await page.locator('#password').fill(PASSWORD);
  await page.getByRole('button', { name: submit }).click();
  const code = await nextCode(server, { to: EMAIL, template: 'login-code' });
  if (wrongFirst) {
    await page.locator('#code').fill(String((Number(code) + 1) % 1_000_000).padStart(6, '0'));
    await page.getByRole('button', { name: verify }).click();
    await until(page.getByRole('alert'), wrongFirst);
  }
  await page.locator('#code').fill(code);
  await page.getByRole('button', { name: verify }).click();
}

const consentsOf = async (kind: string): Promise<Consent[]> => {
  const bundle = (await get(server, `Consent?patient=Patient/${patientId}&status=active&_count=100`, await server.patientToken(patientId))).body as Bundle<Consent>;
  return (bundle.entry ?? []).map((entry) => entry.resource as Consent).filter((consent) => consent.category?.some((category) => category.coding?.some((coding) => coding.system === KIND && coding.code === kind)));
};

describe('the patient space in a browser (French)', () => {
  it('logs in with NIR, password and the one-time code (a wrong password, then a wrong code, each said)', async () => {
    await page.goto(`${base}/app/`);
    await until(page.getByRole('heading', { level: 1 }), 'Connexion');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    await scan('01-login');
    await page.locator('#nir').fill(NIR);
    await page.locator('#password').fill('not the password at all');
    await page.getByRole('button', { name: 'Continuer' }).click();
    await until(page.getByRole('alert'), 'NIR ou mot de passe incorrect');
    await logIn('Continuer', 'Se connecter', 'Code incorrect ou expiré.');
    await page.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1'); // the keyboard starts at the new screen
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('id'))).toBe('filter-type');
  });

  it('lists the documents, filters them by type and date, and opens one', async () => {
    const list = page.locator('li.document');
    await page.waitForFunction(() => document.querySelectorAll('li.document').length === 2);
    await until(list.nth(0).locator('h2'), 'Synthèse d’hospitalisation'); // newest first
    await scan('02-documents');
    await page.getByLabel('Type de document').selectOption({ label: 'Compte rendu de psychiatrie' });
    await announced(() => page.getByRole('button', { name: 'Filtrer', exact: true }).click(), '1 document(s)');
    await page.waitForFunction(() => document.querySelectorAll('li.document').length === 1);
    await announced(() => page.getByRole('button', { name: 'Effacer les filtres' }).click(), '2 document(s)');
    await page.getByLabel('Du', { exact: true }).fill('2026-11-01');
    await page.getByRole('button', { name: 'Filtrer', exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll('li.document').length === 1);
    await until(list.first().locator('h2'), 'Synthèse d’hospitalisation');
    const popup = page.waitForEvent('popup');
    await page.getByRole('button', { name: 'Ouvrir le document Synthèse d’hospitalisation' }).click();
    const opened = await popup;
    expect(opened.url()).toMatch(/^blob:/);
    await opened.close();
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: /Télécharger Synthèse/ }).click();
    const file = await download;
    expect([file.suggestedFilename(), fs.readFileSync(await file.path(), 'utf8')]).toEqual(['Synthèse d’hospitalisation.pdf', '%PDF-1.4 summary']);
  });

  it('authorizes the GP found by name and blocks the physiotherapist found by RPPS: the choices hold on the API', async () => {
    expect((await get(server, `DocumentReference?patient=${patientId}`, gp)).status).toBe(403);
    await page.getByRole('link', { name: 'Professionnels' }).click();
    await page.getByRole('heading', { level: 1, name: 'Professionnels de santé' }).waitFor();
    await page.getByText('Aucun professionnel autorisé.').waitFor();
    await page.getByLabel('Nom ou numéro RPPS').fill('Martin');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await announced(() => page.getByRole('button', { name: 'Autoriser Dr Anne Martin' }).click(), 'Dr Anne Martin est autorisé.');
    const seen = await get(server, `DocumentReference?patient=${patientId}&_summary=count`, gp);
    expect([seen.status, seen.body.total]).toEqual([200, 2]);
    // once authorized, the GP adds her own consultation report (its author shows in Marie's list)
    const report = await send(server, 'post', 'DocumentReference', gp, {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Compte rendu de consultation' }] },
      subject: { reference: `Patient/${patientId}` },
      author: [{ reference: 'Practitioner/dr-martin' }],
      date: '2026-11-20T09:00:00Z',
      content: [{ attachment: { contentType: 'application/pdf' } }],
    });
    expect(report.status).toBe(201);
    documents.consultation = report.body.id;

    await page.getByLabel('Nom ou numéro RPPS').fill('10000000002'); // the RPPS number (the national id is 8 + RPPS)
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await announced(() => page.getByRole('button', { name: 'Bloquer Dr Paul Durand' }).click(), 'Dr Paul Durand est bloqué.');
    expect((await get(server, `Patient/${patientId}`, kine)).status).toBe(403);
    expect((await get(server, `DocumentReference/${documents.summary}`, kine)).status).toBe(403);
    await page.locator('#blocked-title').scrollIntoViewIfNeeded();
    await until(page.locator('section[aria-labelledby="blocked-title"] li'), 'Dr Paul Durand');
    await scan('03-professionals');

    // the administrator: only a professional who has accessed the space is offered (the GP just did)
    const administrator = page.locator('#administrator');
    await administrator.waitFor();
    expect(await administrator.locator('option').allTextContents()).toEqual(['Dr Anne Martin']);
    await announced(() => page.getByRole('button', { name: 'Nommer administrateur' }).click(), 'Dr Anne Martin est administrateur de votre espace.');
    expect((await consentsOf('administrator')).map((consent) => consent.provision?.actor?.[0].reference.reference)).toEqual(['Practitioner/dr-martin']);
    await announced(() => page.getByRole('button', { name: 'Retirer l’administrateur' }).click(), 'L’administrateur est retiré.');
    expect(await consentsOf('administrator')).toHaveLength(0);

    // unblock and block again: the block is withdrawn (status inactive), then in force again
    await announced(() => page.getByRole('button', { name: 'Débloquer Dr Paul Durand' }).click(), 'Dr Paul Durand est débloqué.');
    expect((await get(server, `Patient/${patientId}`, kine)).status).toBe(403); // unblocked but not authorized: still no entry in TREAT
    expect(await consentsOf('block')).toHaveLength(0);
    await announced(() => page.getByRole('button', { name: 'Bloquer Dr Paul Durand' }).click(), 'Dr Paul Durand est bloqué.');
    expect(await consentsOf('block')).toHaveLength(1);
  });

  it('hides the psychiatric report from every professional, then from the GP only: the GP no longer sees it', async () => {
    expect((await get(server, `DocumentReference/${documents.psy}`, gp)).status).toBe(200);
    await page.getByRole('link', { name: 'Masquage' }).click();
    await page.getByRole('heading', { level: 1, name: 'Masquage' }).waitFor();
    const psy = page.locator(`li.document-hiding[data-id="${documents.psy}"]`);
    await psy.getByRole('radio', { name: 'à tous les professionnels' }).check();
    await psy.getByRole('button', { name: 'Masquer le document Compte rendu de psychiatrie', exact: true }).click();
    await until(status(), 'Le document « Compte rendu de psychiatrie » est masqué.');
    await until(psy.locator('.badge'), 'masqué à tous les professionnels');
    expect((await get(server, `DocumentReference/${documents.psy}`, gp)).status).toBe(404);
    expect((await get(server, `DocumentReference/${documents.summary}`, gp)).status).toBe(200);
    expect(await psy.getByRole('button', { name: 'Masquer le document Compte rendu de psychiatrie', exact: true }).count()).toBe(0); // nothing more to hide

    // unhide it, then hide it from the GP only (a chosen professional)
    await announced(() => psy.getByRole('button', { name: 'Ne plus masquer le document Compte rendu de psychiatrie' }).click(), 'n’est plus masqué');
    expect((await get(server, `DocumentReference/${documents.psy}`, gp)).status).toBe(200);
    await psy.getByRole('radio', { name: 'à certains professionnels' }).check();
    await psy.getByRole('checkbox', { name: 'Dr Anne Martin' }).check();
    await scan('04-hiding');
    await announced(() => psy.getByRole('button', { name: 'Masquer le document Compte rendu de psychiatrie', exact: true }).click(), 'Le document « Compte rendu de psychiatrie » est masqué.');
    await until(psy.locator('.badge'), 'masqué à 1 professionnel(s)');
    expect((await get(server, `DocumentReference/${documents.psy}`, gp)).status).toBe(404);
    expect((await consentsOf('hide-document')).map((consent) => consent.provision?.actor?.map((actor) => actor.reference.reference))).toEqual([['Practitioner/dr-martin']]);
    await page.getByRole('link', { name: 'Documents' }).click();
    await until(page.locator(`li.document[data-id="${documents.psy}"] .badge`), 'masqué à 1 professionnel(s)');
    await until(page.locator(`li.document[data-id="${documents.consultation}"]`), 'Dr Anne Martin'); // its author, from _include
    await until(page.locator(`li.document[data-id="${documents.consultation}"]`), 'pas de fichier');
    // who can see it, and why ($access): the GP no longer sees the hidden report, still sees the summary
    const psyAccess = page.locator(`li.document[data-id="${documents.psy}"] details.access`);
    await psyAccess.locator('summary').click();
    await until(psyAccess.locator('li', { hasText: 'Dr Anne Martin' }), 'ne peut pas le voir');
    const summaryAccess = page.locator(`li.document[data-id="${documents.summary}"] details.access`);
    await summaryAccess.locator('summary').click();
    await until(summaryAccess.locator('li', { hasText: 'Dr Anne Martin' }), 'peut le voir');
    await scan('04b-access');
  });

  it('refuses SAMU and break-glass, explains why hidden documents cannot then be shown, and allows them again', async () => {
    await page.getByRole('link', { name: 'Urgences' }).click();
    await page.getByRole('heading', { level: 1, name: 'Accès en cas d’urgence' }).waitFor();
    const samu = page.getByRole('checkbox', { name: /SAMU/ });
    const btg = page.getByRole('checkbox', { name: /bris de glace/ });
    const masked = page.getByRole('checkbox', { name: /documents masqués/ });
    expect([await samu.isChecked(), await btg.isChecked(), await masked.isChecked()]).toEqual([true, true, false]);
    await masked.check();
    await samu.uncheck();
    await btg.uncheck();
    expect([await masked.isChecked(), await masked.isDisabled()]).toEqual([false, true]);
    await until(page.locator('#masked-now'), 'Vous refusez les deux accès d’urgence');
    await until(page.locator('#masked-rule'), 'que si au moins un des deux accès d’urgence (SAMU ou bris de glace) est autorisé');
    await scan('05-emergency');
    await announced(() => page.getByRole('button', { name: 'Enregistrer mes choix d’urgence' }).click(), 'Vos choix d’urgence sont enregistrés.');
    const breakGlass = () => server.request.get(`/fhir/DocumentReference?patient=${patientId}`).set('Authorization', `Bearer ${gp}`).set('X-Purpose-Of-Use', 'BTG').set('X-Break-Glass-Reason', 'patiente inconsciente');
    expect((await breakGlass()).status).toBe(403);
    expect((await consentsOf('emergency')).map((consent) => [consent.provision?.type, consent.provision?.purpose?.[0].code]).sort()).toEqual([
      ['deny', 'BTG'],
      ['deny', 'ETREAT'],
    ]);

    await btg.check();
    await masked.check();
    await announced(() => page.getByRole('button', { name: 'Enregistrer mes choix d’urgence' }).click(), 'Vos choix d’urgence sont enregistrés.');
    expect((await consentsOf('emergency')).map((consent) => [consent.provision?.type, consent.provision?.purpose?.[0].code]).sort()).toEqual([
      ['deny', 'ETREAT'],
      ['permit', 'MASKED'],
    ]);
    const glass = await breakGlass(); // the hidden report too: MASKED is permitted
    expect([glass.status, (glass.body as Bundle).entry?.map((entry) => entry.resource?.id).sort()]).toEqual([200, [documents.consultation, documents.psy, documents.summary].sort()]);
  });

  it('reads the history: who, what, when, the mode and the break-glass reason, paged, for one professional', async () => {
    for (let i = 0; i < 21; i++) expect((await get(server, `DocumentReference/${documents.summary}`, gp)).status).toBe(200);
    const glass = await server.request.get(`/fhir/Patient/${patientId}`).set('Authorization', `Bearer ${gp}`).set('X-Purpose-Of-Use', 'BTG').set('X-Break-Glass-Reason', 'patiente inconsciente');
    expect(glass.status).toBe(200);
    await page.getByRole('link', { name: 'Historique' }).click();
    await page.getByRole('heading', { level: 1, name: 'Historique des accès' }).waitFor();
    const rows = page.locator('table.history tbody tr');
    await rows.first().waitFor();
    await until(rows.first(), 'bris de glace — motif : patiente inconsciente');
    await until(rows.first(), 'Dr Anne Martin');
    await until(rows.first(), 'a consulté votre dossier');
    await until(rows.nth(1), 'a consulté un document');
    await scan('06-history');
    const firstPage = await rows.count();
    expect(firstPage).toBe(20);
    await page.getByRole('button', { name: 'Voir plus' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('table.history tbody tr').length > n, firstPage);
    await page.getByLabel('Professionnel').selectOption({ label: 'Dr Paul Durand' });
    await page.getByRole('button', { name: 'Afficher' }).click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('table.history tbody tr')).every((row) => row.textContent?.includes('Dr Paul Durand')));
    await until(rows.first(), 'refusé');
  });

  it('downloads the export', async () => {
    await page.getByRole('link', { name: 'Mon compte' }).click();
    await page.getByRole('heading', { level: 1, name: 'Mon compte' }).waitFor();
    await scan('07-account');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Télécharger toutes mes données' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('carnet-export.json');
    const bundle = JSON.parse(fs.readFileSync(await file.path(), 'utf8')) as Bundle;
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry?.some((entry) => entry.resource?.id === documents.psy)).toBe(true);
  });

  it('is usable on a phone screen', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByRole('link', { name: 'Documents' }).click();
    await page.locator('li.document').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await scan('08-phone');
    await page.setViewportSize({ width: 1100, height: 900 });
  });
});

describe('a legal representative', () => {
  it('switches between their own space and the minor they represent', async () => {
    const insurer = await server.systemToken('insurer', 'system/Patient.write system/Patient.read');
    const enrolled = await server.request
      .post('/account/enrol')
      .set('Authorization', `Bearer ${insurer}`)
      .set('Content-Type', 'application/json')
      .send({
        patient: { resourceType: 'Patient', identifier: [{ system: INS, value: '215067505600162' }], name: [{ family: 'Durand', given: ['Léa'] }], birthDate: '2015-06-01' },
        vitaleSerial: SERIAL,
        representatives: [
          {
            resourceType: 'RelatedPerson',
            identifier: [{ system: INS, value: NIR }],
            relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }],
            name: [{ family: 'Durand', given: ['Marie'] }],
            telecom: [{ system: 'email', value: EMAIL }],
          },
        ],
      });
    expect(enrolled.status).toBe(201);
    const minor = enrolled.body.patient.split('/')[1];
    const [representative] = enrolled.body.representatives as { relatedPerson: string; code: string }[];
    const activated = await server.request.post('/account/activate').set('Content-Type', 'application/json').send({ code: representative.code, nir: NIR, vitaleSerial: SERIAL, password: PASSWORD });
    expect(activated.status).toBe(200);
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await logIn('Continuer', 'Se connecter');
    await page.getByRole('heading', { level: 1, name: 'Mes documents' }).waitFor();
    await page.locator('li.document').first().waitFor(); // her own space first
    await page.getByLabel('Espace affiché').selectOption({ label: 'Espace représenté n° 1' });
    await announced(() => page.getByRole('button', { name: 'Changer d’espace' }).click(), 'Espace représenté n° 1 : affiché.');
    await page.getByText('Aucun document.').waitFor(); // Léa's space: no document
    await until(page.locator('.space-owner'), 'Vous consultez l’espace de Léa Durand.');
    const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('carnet.session') ?? '{}') as { patient?: string; fhirUser?: string });
    expect(stored).toMatchObject({ patient: minor, fhirUser: representative.relatedPerson });
    await page.getByRole('link', { name: 'Mon compte' }).click();
    await page.getByText('Seul le patient lui-même peut fermer son espace.').waitFor();
    await scan('13-representative');
    await page.getByLabel('Espace affiché').selectOption({ label: 'Mon espace' });
    await announced(() => page.getByRole('button', { name: 'Changer d’espace' }).click(), 'Mon espace : affiché.');
    await until(page.locator('.space-owner'), 'Vous consultez l’espace de Marie Durand.');
    await page.getByRole('link', { name: 'Documents' }).click();
    await page.locator('li.document').first().waitFor();
  });

  it('refreshes an access token about to expire with the refresh token', async () => {
    const before = await page.evaluate(() => JSON.parse(sessionStorage.getItem('carnet.session') ?? '{}') as { accessToken: string; refreshToken: string });
    await page.evaluate(() => {
      const session = JSON.parse(sessionStorage.getItem('carnet.session') ?? '{}');
      sessionStorage.setItem('carnet.session', JSON.stringify({ ...session, expiresAt: Date.now() + 5_000 })); // within the refresh margin
    });
    await page.reload();
    await page.locator('li.document').first().waitFor();
    const after = await page.evaluate(() => JSON.parse(sessionStorage.getItem('carnet.session') ?? '{}') as { accessToken: string; refreshToken: string });
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
  });
});

describe('the same in English', () => {
  it('logs out, switches to English (kept), logs in again and closes the space after confirming', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor(); // the choice is kept
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await scan('09-login-en');
    await logIn('Continue', 'Log in');
    await page.getByRole('heading', { level: 1, name: 'My documents' }).waitFor();
    await until(page.locator(`li.document[data-id="${documents.psy}"] .badge`), 'hidden from 1 professional(s)');
    await page.getByRole('link', { name: 'Professionals' }).click();
    await page.locator('section[aria-labelledby="authorized-title"] li').first().waitFor();
    await until(page.locator('section[aria-labelledby="authorized-title"] li'), 'Dr Anne Martin');
    await scan('10-professionals-en');
    await page.getByRole('link', { name: 'Emergencies' }).click();
    await page.getByRole('checkbox', { name: /SAMU/ }).waitFor();
    expect(await page.getByRole('checkbox', { name: /SAMU/ }).isChecked()).toBe(false);
    await scan('11-emergency-en');
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('table.history tbody tr').first().waitFor();
    await until(page.locator('table.history tbody tr').first(), 'break-glass — reason: patiente inconsciente');
    await page.getByRole('link', { name: 'My account' }).click();
    const close = page.getByRole('button', { name: 'Close my space' });
    expect(await close.isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: 'I understand that my space will be closed for good' }).check();
    await scan('12-account-en');
    await close.click();
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    await until(status(), 'Your space is closed.');
    expect((await get(server, `DocumentReference/${documents.summary}`, gp)).status).not.toBe(200);
  });
});
