/**
 * Phone numbers as people type them ("98765 43210", "098765-43210", "+91 98765 43210")
 * turned into E.164 for the API. Only the shape is checked here; whether it is a
 * mobile (not a landline) is the server's call, and its answer is shown.
 */

export function toE164(input: string): string | null {
  const trimmed = input.trim();
  const digits = trimmed.replace(/\D/g, "");
  if (trimmed.startsWith("+")) {
    return digits.length >= 8 && digits.length <= 15 ? `+${digits}` : null;
  }
  if (digits.length === 10) return `+91${digits}`;
  if (digits.length === 11 && digits.startsWith("0")) return `+91${digits.slice(1)}`;
  if (digits.length === 12 && digits.startsWith("91")) return `+${digits}`;
  return null;
}

/** "+919876543210" → "+91 98765 43210"; other countries are shown as given. */
export function formatPhone(e164: string): string {
  const match = /^\+91(\d{5})(\d{5})$/.exec(e164);
  return match ? `+91 ${match[1]} ${match[2]}` : e164;
}
