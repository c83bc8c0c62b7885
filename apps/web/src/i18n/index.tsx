/**
 * A small dictionary-based translator. `t("login.codeSent", { phone })` looks the
 * key up in the chosen language (falling back to English) and fills {placeholders}.
 * The chosen language is remembered in localStorage.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { dictionaries, type Language, type MessageKey } from "./messages";

export type { Language, MessageKey } from "./messages";
export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

export const LANGUAGE_KEY = "erplake.language";

export function translate(language: Language, key: MessageKey, params?: Params): string {
  const template: string = dictionaries[language][key] ?? dictionaries.en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function isLanguage(value: unknown): value is Language {
  return value === "en" || value === "hi";
}

/** "hi", "hi-IN", "hindi" → "hi"; anything else we do not have → null. */
export function languageFrom(value: string | null | undefined): Language | null {
  if (!value) return null;
  const lower = value.toLowerCase();
  if (lower.startsWith("hi")) return "hi";
  if (lower.startsWith("en")) return "en";
  return null;
}

export function storedLanguage(): Language | null {
  try {
    const value = window.localStorage.getItem(LANGUAGE_KEY);
    return isLanguage(value) ? value : null;
  } catch {
    return null;
  }
}

function initialLanguage(): Language {
  return storedLanguage() ?? languageFrom(typeof navigator !== "undefined" ? navigator.language : null) ?? "en";
}

interface I18nValue {
  language: Language;
  setLanguage: (language: Language) => void;
  t: Translate;
}

const I18nContext = createContext<I18nValue | null>(null);

export function I18nProvider({ children, language: fixed }: { children: ReactNode; language?: Language }) {
  const [language, setLanguageState] = useState<Language>(() => fixed ?? initialLanguage());

  const setLanguage = useCallback((next: Language) => {
    setLanguageState(next);
    try {
      window.localStorage.setItem(LANGUAGE_KEY, next);
    } catch {
      /* not remembered, still switched */
    }
  }, []);

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  const value = useMemo<I18nValue>(
    () => ({ language, setLanguage, t: (key, params) => translate(language, key, params) }),
    [language, setLanguage],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  const value = useContext(I18nContext);
  if (!value) throw new Error("useI18n must be used inside <I18nProvider>");
  return value;
}

export function useT(): Translate {
  return useI18n().t;
}
