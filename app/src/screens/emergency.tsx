/**
 * Emergency choices (§4.2 `emergency`): SAMU (ETREAT) and break-glass (BTG) are allowed unless
 * denied; hidden documents in an emergency (MASKED) are refused unless permitted, and cannot be
 * permitted while both others are denied — said in words, and the box is off and disabled then.
 * Saving withdraws the choices of each purpose that changes, then makes one Consent per purpose
 * that differs from its default: MASKED is withdrawn first and permitted last, so the server's
 * rule holds at every step.
 */
import { useState } from 'preact/hooks';
import type { Consent } from 'fhir/r4';
import { activeChoices, create, kindOf, purposesOf, withdraw, type Purpose } from '../choices';
import { t } from '../i18n';
import { act, Loading, useLoad } from '../feedback';
import type { ScreenProps } from '../main';

type State = Record<Purpose, boolean>;

function stateOf(choices: Consent[]): State {
  const rules = choices.filter((consent) => kindOf(consent) === 'emergency').flatMap((consent) => purposesOf(consent).map((purpose) => ({ purpose, effect: consent.provision?.type })));
  const denied = (purpose: Purpose) => rules.some((rule) => rule.purpose === purpose && rule.effect === 'deny');
  return {
    ETREAT: !denied('ETREAT'),
    BTG: !denied('BTG'),
    MASKED: rules.some((rule) => rule.purpose === 'MASKED' && rule.effect === 'permit') && !denied('MASKED'),
  };
}

const DEFAULT: State = { ETREAT: true, BTG: true, MASKED: false };

async function save(patientId: string, performer: string, choices: Consent[], wanted: State): Promise<void> {
  const current = stateOf(choices);
  const emergency = choices.filter((consent) => kindOf(consent) === 'emergency');
  const change = async (purpose: Purpose) => {
    if (current[purpose] === wanted[purpose]) return;
    for (const consent of emergency.filter((c) => purposesOf(c).includes(purpose))) {
      await withdraw(consent);
      // a choice naming several purposes: the others keep their state, each in a Consent of its own
      for (const other of purposesOf(consent).filter((p) => p !== purpose && current[p] !== DEFAULT[p])) {
        await create(patientId, performer, { kind: 'emergency', effect: current[other] ? 'permit' : 'deny', purposes: [other] });
      }
    }
    if (wanted[purpose] !== DEFAULT[purpose]) await create(patientId, performer, { kind: 'emergency', effect: wanted[purpose] ? 'permit' : 'deny', purposes: [purpose] });
  };
  if (!wanted.MASKED) await change('MASKED');
  await change('ETREAT');
  await change('BTG');
  if (wanted.MASKED) await change('MASKED');
}

export function Emergency({ session, say }: ScreenProps) {
  const choices = useLoad(() => activeChoices(session.patient), say);
  const [wanted, setWanted] = useState<State | null>(null);
  const state = wanted ?? (choices.data ? stateOf(choices.data) : null);
  const bothRefused = state ? !state.ETREAT && !state.BTG : false;
  const set = (purpose: Purpose, value: boolean) => {
    if (!state) return;
    const next = { ...state, [purpose]: value };
    if (!next.ETREAT && !next.BTG) next.MASKED = false;
    setWanted(next);
  };
  return (
    <section>
      <h1 tabIndex={-1}>{t('emergency.title')}</h1>
      <p>{t('emergency.intro')}</p>
      {!state && <Loading />}
      {state && (
        <form
          class="card"
          onSubmit={(event) => {
            event.preventDefault();
            void act(say, () => save(session.patient, session.fhirUser, choices.data ?? [], state), t('emergency.saved'), async () => {
              await choices.reload();
              setWanted(null);
            });
          }}
        >
          <fieldset>
            <legend>{t('emergency.legend')}</legend>
            <label class="check">
              <input type="checkbox" name="ETREAT" checked={state.ETREAT} onChange={(event) => set('ETREAT', (event.currentTarget as HTMLInputElement).checked)} />
              {t('emergency.etreat')}
            </label>
            <label class="check">
              <input type="checkbox" name="BTG" checked={state.BTG} onChange={(event) => set('BTG', (event.currentTarget as HTMLInputElement).checked)} />
              {t('emergency.btg')}
            </label>
            <label class="check">
              <input
                type="checkbox"
                name="MASKED"
                checked={state.MASKED}
                disabled={bothRefused}
                aria-describedby={bothRefused ? 'masked-rule masked-now' : 'masked-rule'}
                onChange={(event) => set('MASKED', (event.currentTarget as HTMLInputElement).checked)}
              />
              {t('emergency.masked')}
            </label>
            <p id="masked-rule" class="muted">
              {t('emergency.rule')}
            </p>
            {bothRefused && (
              <p id="masked-now" class="notice">
                {t('emergency.ruleActive')}
              </p>
            )}
          </fieldset>
          <button type="submit">{t('emergency.save')}</button>
        </form>
      )}
    </section>
  );
}
