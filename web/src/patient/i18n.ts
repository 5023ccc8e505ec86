import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import ar from './locales/ar.json' with { type: 'json' };
import en from './locales/en.json' with { type: 'json' };
import es from './locales/es.json' with { type: 'json' };

/** The patient app's languages: English and Spanish complete; Arabic proves right-to-left layout. */
export const languages = [
  { code: 'en', name: 'English', dir: 'ltr' },
  { code: 'es', name: 'Español', dir: 'ltr' },
  { code: 'ar', name: 'العربية', dir: 'rtl' },
] as const;
export type Language = (typeof languages)[number]['code'];

const stored = () => {
  try {
    return localStorage.getItem('vigil.patient.lang');
  } catch {
    return null;
  }
};

/** The saved choice, else the first browser language we have, else English. */
export function initialLanguage(): Language {
  const wanted = [stored(), ...(navigator.languages ?? [navigator.language])].filter(Boolean) as string[];
  for (const w of wanted) {
    const base = w.toLowerCase().split('-')[0];
    const hit = languages.find((l) => l.code === base);
    if (hit) return hit.code;
  }
  return 'en';
}

/** Sets the page language and direction with the app's language. */
export function applyLanguage(code: Language): void {
  const l = languages.find((x) => x.code === code) ?? languages[0];
  document.documentElement.lang = l.code;
  document.documentElement.dir = l.dir;
  try {
    localStorage.setItem('vigil.patient.lang', l.code);
  } catch {
    // private mode: the choice lasts for this visit
  }
}

void i18next.use(initReactI18next).init({
  resources: { en: { translation: en }, es: { translation: es }, ar: { translation: ar } },
  lng: initialLanguage(),
  fallbackLng: 'en',
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});
i18next.on('languageChanged', (lng) => applyLanguage(lng as Language));
applyLanguage(i18next.language as Language);

export default i18next;
