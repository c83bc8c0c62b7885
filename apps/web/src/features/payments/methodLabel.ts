import type { MessageKey } from "../../i18n";

/** "upi" → "UPI", "bank_transfer" → "Bank transfer", in the user's language. */
export function methodLabel(method: string, t: (key: MessageKey) => string): string {
  return t(`payments.methods.${method}` as MessageKey);
}
