/**
 * Idempotency keys for writes a person may repeat by accident (a double tap on
 * "Record payment", a retry after the network dropped): the same key with the same
 * body makes the server answer the first result instead of doing it twice.
 */
import { useMemo } from "react";

/** A random UUID, also where `crypto.randomUUID` is missing (plain-http school LANs). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * One key per distinct body: repeating the same submission reuses it; changing
 * any field (after an error, say) gets a fresh key, so the server never refuses
 * the corrected request as "key reused with another body".
 */
export function useIdempotencyKey(body: unknown): string {
  const fingerprint = JSON.stringify(body);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => newIdempotencyKey(), [fingerprint]);
}
