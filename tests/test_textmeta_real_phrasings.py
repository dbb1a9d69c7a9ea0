"""Wordings met in real case reports and case pages read during the second session (texts
written for the test, not the pages' own words). Each case's id names the wording that went
wrong, or the one the fix must not break."""

import pytest

from pipeline.textmeta import extract_fields

O2 = "needed_supplemental_O2"

CASES = [
    # negation scope
    ("oxygen-despite-negated-finding", O2, "Y",
     "He had respiratory failure with hypoxia without hypercapnia despite oxygen support."),
    ("declined-including-intubation", "intubated", "N",
     "He declined any intervention, including intubation, and died the same day."),
    ("none-of-the-patients", "intubated", "N",
     "None of the patients required mechanical ventilation."),
    # survival
    ("discharge-from-an-earlier-stay", "survival", None,
     "A 70-year-old woman, who had been discharged 10 days before after hip surgery, was "
     "admitted with fever. Chest X-ray showed bilateral opacities."),
    ("discharge-with-words-between", "survival", "Y",
     "She was eventually successfully discharged to rehabilitation."),
    ("found-deceased", "survival", "N", "He was found deceased at home two days later."),
    ("progressed-to-death", "survival", "N", "The pneumonia progressed to death."),
    ("until-his-discharge", "survival", "Y", "He stayed on the ward until his discharge."),
    ("and-he-died", "survival", "N", "His condition did not improve and he died on day 16."),
    ("lead-to-recovery", "survival", "Y", "ECMO from illness day 20 to 30 lead to recovery."),
    ("successful-recovery", "survival", "Y", "A successful recovery."),
    # ventilation and ICU
    ("intensive-care-hyphen", "went_icu", "Y", "He was moved to the intensive-care unit."),
    ("with-a-ventilator", "intubated", "Y", "She was treated with a ventilator for a week."),
    ("lung-protective-ventilation", "intubated", "Y", "Lung protective ventilation was applied."),
    # oxygen
    ("nasal-prongs", O2, "Y", "He was given oxygen at 2 L/min via nasal prongs."),
    ("oxygen-inhalation", O2, "Y", "Oxygen inhalation was started on the ward."),
    ("administered-oxygen", O2, "Y",
     "She was treated with antibiotics and steroids and administered oxygen."),
    ("flow-by-nasal-canula", O2, "Y", "SpO2 95% with 3 L/min of oxygen by nasal canula."),
    ("italian-flow", O2, "Y", "Trattato con O2 3 l/min in occhialini."),
    ("ventimask", O2, "Y", "Ventimask 40% was applied."),
    ("with-oxygen-desaturation", O2, None, "Exertional dyspnoea with oxygen desaturation to 88%."),
    ("face-mask-alone", O2, None, "The patient wore a face mask in the waiting room."),
    ("after-non-invasive-ventilation", O2, None,
     "She needed non-invasive ventilation, then a simple mask with 2 L/min O2."),
    ("home-cpap-for-sleep-apnoea", O2, "Y",
     "Man with sleep apnoea on home CPAP. He received supplemental oxygen on the ward."),
    # temperature
    ("next-morning-fever", "temperature", None,
     "All'ingresso paziente apiretico. La mattina successiva picco febbrile a 39 °C."),
    ("presenting-before-a-later-one", "temperature", 38.2,
     "On admission, temperature 38.2 °C. The following day fever rose to 39.5 °C."),
    ("middle-dot-decimal", "temperature", 38.4, "She had a fever of 38·4°C on presentation."),
    ("celsius-sign", "temperature", 38.6, "Body temperature 38.6℃ at the clinic."),
    ("fahrenheit-sign", "temperature", 38.5, "Temperature 101.3℉ on arrival."),
    ("later-hospital-day", "temperature", None,
     "On the 6th day of admission, her highest temperature was 40.2℃."),
    ("measured-wins-over-maximum", "temperature", 38.1,
     "Fever for 3 days; the maximum temperature reached 38.7°C. On examination, body "
     "temperature was 38.1°C."),
    ("measured-wins-over-as-high-as", "temperature", 36.8,
     "Temperature as high as 39.1 °C at home. On admission T 36.8 °C."),
    ("maximum-alone", "temperature", 39.0, "After 5 days of fever (maximum 39 °C), cough."),
    ("fahrenheit-range", "temperature", None, "Fevers in the 101° F to 102° F range at home."),
    ("celsius-range", "temperature", None, "Fever 38-39 °C for a week."),
    # offset
    ("post-mortem-image", "offset", None,
     "A 70-year-old man presented with a 3-day fever. He died on day 5. Post-mortem CT "
     "48 hours after death showed bilateral consolidation."),
    ("image-on-its-own-day-after-admission-vitals", "offset", 4,
     "A 58-year-old man with fever. At admission, his temperature was 38.4 °C. On day 4, "
     "he became dyspnoeic and chest CT showed bilateral ground-glass opacities."),
    ("admission-vitals-and-an-image-on-an-event-day", "offset", None,
     "A 58-year-old man with fever. At admission, his temperature was 38.4 °C. On day 4, "
     "he developed dyspnoea and chest CT showed bilateral ground-glass opacities."),
    ("ordinal-suffix-day", "offset", 21,
     "On day 21st after her admission, chest X-ray showed pneumomediastinum."),
    ("presenting-wins-over-the-day-before", "temperature", 38.6,
     "The day before he had a fever of 38·1°C. On admission his temperature was 38·6°C."),
    ("presenting-wins-over-day-1-of-illness", "temperature", 39.4,
     "On day 1 of illness he had a fever of less than 38°C. Upon admission, his body "
     "temperature was 39.4°C."),
    ("spanish-before-admission", "temperature", 37.2,
     "Seis días antes del ingreso presentó fiebre de 38,4 °C. Al ingreso, temperatura de "
     "37,2 °C."),
    ("german-bis", "temperature", None, "Aufnahme wegen Fieber bis 39 °C seit einer Woche."),
    ("ed-visit-discharge", "survival", None,
     "He had been seen at an urgent care two days prior with a normal radiograph and was "
     "discharged. He was admitted with hypoxia."),
    ("sent-home-from-the-ed", "survival", None,
     "She was sent home from the emergency department. She was brought in again 2 days "
     "later."),
    # age and sex
    ("italian-di-anni", "age", 53, "Paziente di anni 53, tosse e febbre."),
    ("decimal-fahrenheit-is-no-compact-age", "age", 71,
     "A 71-year-old woman with cough.\nInitial vitals: Temp 98.6F, HR 110, RR 20/min."),
    ("baby-delivered-is-not-the-patient", "sex", "F",
     "A 30-year-old pregnant woman with cough. She underwent a cesarean delivery, delivering "
     "a healthy boy."),
    ("spanish-age", "age", 46, "Un hombre de 46 años con fiebre y tos."),
    ("spanish-history-is-no-age", "age", None, "Historia de 5 años de tos. Hombre."),
    ("french-age", "age", 28, "Un homme asthmatique de 28 ans, fièvre."),
    ("portuguese-age", "age", 63, "Paciente do sexo masculino, 63 anos, tosse."),
    ("portuguese-sex", "sex", "F", "Feminino, 55 anos, enfermeira."),
    ("german-age", "age", 53, "Aufnahme einer 53-jährigen Patientin mit Fieber."),
    ("german-sex", "sex", "F", "Aufnahme einer 53-jährigen Patientin mit Fieber."),
    ("author-name-is-no-sex", "sex", None, "As reported by Mann et al., opacities are common."),
    ("age-in-months-is-not-years", "age", None, "Age: 18 months. Sex: male. Cough."),
    ("stray-space-in-year-old", "age", 68, "A 68-year- old Caucasian man with cough."),
    ("term-born-boy-is-the-patient", "sex", "M", "A term-born boy was admitted with cough."),
    ("delivered-infant-is-not-the-patient", "sex", "F",
     "A 29-year-old primiparous woman at 34 weeks. A 2565-g male infant was delivered."),
    # other people and averted events
    ("relative-clause-about-a-relative", "went_icu", None,
     "Her grandfather, who was hospitalized in the intensive care unit, had COVID-19. The "
     "infant had cough."),
    ("mothers-temperature", "temperature", None,
     "On admission the mother's temperature was 98.2°F (36.8°C)."),
    ("mothers-admission", "offset", None,
     "On admission the mother's temperature was 98.2°F (36.8°C). The neonate had cough."),
    ("averted-ventilation", "intubated", "N",
     "High-flow oxygen helped avert the need for mechanical ventilation."),
    ("picu", "went_icu", "Y", "He was admitted to the PICU with respiratory failure."),
    ("oxygenotherapy", O2, "Y", "He required antibiotics, steroids and oxygenotherapy."),
    ("perished", "survival", "N", "Despite maximal therapy, the patient perished."),
    # round 4
    ("eventually-died", "survival", "N",
     "He progressed to a critical condition and eventually died."),
    ("discharged-after-a-negative-recovery-test", "survival", "Y",
     "She had COVID-19 pneumonia. On day 12 her RT-PCR was negative and she was discharged."),
    ("intensive-care-as-a-specialty", "went_icu", None,
     "A team of specialists (infectious diseases, pulmonology, intensive care) treated her."),
    ("bare-intensive-care-as-a-place", "went_icu", "Y", "He was transferred to intensive care."),
    ("ventilation-as-a-condition", "intubated", None,
     "A lesson: invasive mechanical ventilation should start early if there is no improvement."),
    ("ventilation-in-general", "intubated", None,
     "Critically ill patients often require mechanical ventilation."),
    ("home-oxygen-before-the-illness", O2, None, "A 60-year-old man with COPD on home oxygen."),
    ("unicode-hyphens", "age", 24, "A 24\u2010year\u2010old man with fever."),
    ("a-child-is-the-patient", "age", 10, "A 10-year-old child presented with fever."),
    ("her-child-is-not", "age", None, "Her 3-year-old child had fever. She had cough."),
    ("history-then-a-later-day-then-the-image", "offset", None,
     "A 50-year-old man with a 1-day history of fever. On day 11, he developed chest pain. "
     "Chest CT revealed pneumomediastinum."),
    ("chest-tube-intubation", "intubated", None,
     "He was intubated via a chest tube, and 12 h after chest intubation the lung re-expanded."),
    ("hoped-not-to-be-intubated", "intubated", None,
     "Hopefully he does not crash overnight and end up intubated."),
    ("span-to-complete-recovery", "survival", None,
     "From time of presentation to complete recovery, CT scans show marked changes."),
    ("fever-told-a-week-before", "temperature", None,
     "History of two-days fever (37.5° C) one week before. On admission she was afebrile."),
    ("threshold-is-no-measurement", "temperature", None, "Fever (>38.5°C) and dry cough."),
    ("image-on-a-later-admission-day", "temperature", None,
     "On admission, temperature 38.4 °C. Chest CT on day 2 of admission showed bilateral "
     "ground-glass opacities."),
    # round 5
    ("onset-told-days-prior-to-admission", "offset", 8,
     "She had a 4-day history of dyspnoea. Eight days prior to the admission, she had a fever, "
     "cough and sore throat."),
    ("image-before-the-presentation", "offset", None,
     "A 60-year-old man sought care for a 6-day history of fever and cough. Chest computed "
     "tomography performed 3 days before in another hospital showed ground-glass opacities."),
    ("chest-image-after-days-told", "offset", None,
     "A 71-year-old man presented with abdominal pain for one day. In the ER, an abdominal CT "
     "scan showed peripancreatic inflammation. On day 4, his pain had resolved but he developed "
     "fevers. A chest X-ray was then performed and showed bilateral infiltrates."),
    ("sent-home-then-presented-later", "survival", None,
     "He was diagnosed with a viral infection and sent home with supportive care. Six days "
     "later, he presented to the emergency department with fever and rash."),
    ("non-invasive-mechanical-ventilation", "intubated", None,
     "She was treated with non-invasive mechanical ventilation in the prone position."),
    ("released-from-the-hospital", "survival", "Y", "She was released from the hospital on day 9."),
    ("y-old", "age", 71, "A 71-y-old man with cough and fever."),
    ("fever-told-days-later", "temperature", None,
     "She had a sore throat and a mild fever (37.8ºC) two days later."),
    # round 6
    ("recovered-then-relapsed", "survival", None,
     "He gradually recovered. However, on hospital day 12, he developed a fever again."),
    ("could-not-be-revived", "survival", "N", "Despite resuscitation he could not be revived."),
    ("hence-discharged", "survival", "Y",
     "The patient improved, was off oxygen after a week and hence discharged."),
    ("discharged-after-an-episode-weeks-ago", "survival", None,
     "He had severe COVID-19 4 weeks ago, for which he was treated and discharged. He "
     "presented with cough."),
    ("discharged-by-earlier-hospitals", "survival", None,
     "She had been taken to several hospitals where she had been treated with analgesics and "
     "discharged. Her weakness then progressed."),
    ("with-days-of-fever", "offset", 5,
     "A 52-year-old man presented to the emergency department with five days of fever and "
     "malaise."),
    ("days-duration", "offset", 6, "Fever and cough of six days duration. Bilateral opacities."),
    ("days-of-treatment-are-no-history", "offset", None,
     "Fever and cough did not improve after 3 days of antibiotic treatment. Chest X-ray showed "
     "consolidation."),
    ("donors-sex", "sex", "F", "A 63-year-old woman received a lung from a male donor."),
    ("oxygen-supplied", O2, "Y", "Humidified oxygen was supplied nasally."),
    ("ventilatory-support-leaves-oxygen-blank", O2, None,
     "He was started on supplemental oxygen and later needed ventilatory support."),
    ("range-with-decimals", "temperature", None, "She had fever again (37.5ºC to 38.5ºC)."),
    ("history-image-then-later-days", "offset", 7,
     "A 60-year-old man was admitted after a 7-day history of fever and dry cough. CT revealed "
     "bilateral ground-glass opacities, raising the suspicion of COVID-19 pneumonia. Nine days "
     "after symptom onset he tested positive by RT-PCR. The next day his condition deteriorated "
     "and 4 hours later he needed oxygen at 8 L/min."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "text"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_real_wording(field, value, text):
    assert extract_fields(text).values[field] == value
