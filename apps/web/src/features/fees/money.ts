/**
 * Money as the backend keeps it: integer paise, never a float. Shown as rupees the
 * way Indian families read them (₹1,25,000 or ₹1,250.50), typed as rupees and
 * turned back into paise by string arithmetic so that "0.1 + 0.2" never happens.
 */
import type { Language } from "../../i18n";

const LOCALES: Record<Language, string> = { en: "en-IN", hi: "hi-IN" };
const formatters = new Map<string, Intl.NumberFormat>();

function formatter(language: Language, fraction: 0 | 2): Intl.NumberFormat {
  const key = `${language}:${fraction}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.NumberFormat(LOCALES[language], {
      style: "currency",
      currency: "INR",
      minimumFractionDigits: fraction,
      maximumFractionDigits: fraction,
      // Digits stay Latin in Hindi too: receipts and bank slips use them.
      numberingSystem: "latn",
    });
    formatters.set(key, found);
  }
  return found;
}

/** 12345050 → "₹1,23,450.50"; whole rupees drop the ".00". */
export function formatPaise(paise: number, language: Language = "en"): string {
  const negative = paise < 0;
  const abs = Math.abs(Math.trunc(paise));
  const rupees = Math.floor(abs / 100);
  const rest = abs % 100;
  // Format the rupees as an integer and add the paise ourselves: no float division.
  const whole = formatter(language, 0).format(rupees);
  const text = rest === 0 ? whole : `${whole}.${String(rest).padStart(2, "0")}`;
  return negative ? `−${text}` : text;
}

const RUPEES = /^(\d+)(?:\.(\d{1,2}))?$/;

/**
 * What someone typed ("1,250", "₹ 1250.5", "1250.50") in paise, or null when it is
 * not an amount. Commas and spaces are ignored; at most two decimals.
 */
export function parseRupees(text: string): number | null {
  const cleaned = text.replace(/[₹,\s]/g, "").replace(/^(rs\.?|inr)/i, "");
  const match = RUPEES.exec(cleaned);
  if (!match) return null;
  const rupees = Number(match[1]);
  const paise = Number((match[2] ?? "").padEnd(2, "0") || "0");
  const total = rupees * 100 + paise;
  return Number.isSafeInteger(total) ? total : null;
}

/** Paise as a plain rupee figure for an input box: 125050 → "1250.50", 125000 → "1250". */
export function paiseToInput(paise: number): string {
  const rupees = Math.floor(paise / 100);
  const rest = paise % 100;
  return rest === 0 ? String(rupees) : `${rupees}.${String(rest).padStart(2, "0")}`;
}

/** Basis points as a percent for people: 2500 → "25", 1250 → "12.5". */
export function formatPercentBp(bp: number): string {
  const whole = Math.floor(bp / 100);
  const rest = bp % 100;
  if (rest === 0) return String(whole);
  return `${whole}.${String(rest).padStart(2, "0").replace(/0$/, "")}`;
}

/** "12.5" → 1250 basis points; null when not a percent between 0.01 and 100. */
export function parsePercentBp(text: string): number | null {
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text.trim().replace(/%$/, "").trim());
  if (!match) return null;
  const bp = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0") || "0");
  return bp >= 1 && bp <= 10_000 ? bp : null;
}

/** Short amounts for chart labels: 4,06,00,700 rupees → "₹4.1Cr" (never for sums people check). */
export function formatCompactPaise(paise: number, language: Language = "en"): string {
  return new Intl.NumberFormat(LOCALES[language], {
    style: "currency",
    currency: "INR",
    notation: "compact",
    minimumFractionDigits: 0,
    maximumFractionDigits: 1,
    numberingSystem: "latn",
  }).format(Math.round(paise / 100));
}
