/**
 * API errors in words a school user understands. Screens never show a raw code:
 * they call `errorMessage(error, t)` and get a sentence in the user's language.
 */
import { isApiError } from "./api";
import type { MessageKey, Translate } from "./i18n";
import { FEE_ERROR_MESSAGES } from "./features/fees/messages";

const BY_CODE: Record<string, MessageKey> = {
  ...FEE_ERROR_MESSAGES,
  invalid_phone: "errors.invalidPhone",
  otp_expired: "errors.otpExpired",
  otp_locked: "errors.otpLocked",
  no_account: "errors.noAccount",
  school_choice_required: "errors.schoolChoice",
  session_ended: "errors.sessionEnded",
  invalid_token: "errors.sessionEnded",
  token_revoked: "errors.sessionEnded",
  refresh_invalid: "errors.sessionEnded",
  refresh_reused: "errors.sessionEnded",
  unauthorized: "errors.sessionEnded",
  forbidden: "errors.permission",
  permission_denied: "errors.permission",
  not_found: "errors.notFound",
  validation_error: "errors.validation",
  network_error: "errors.network",
  student_not_found: "errors.notFound",
  guardian_not_found: "errors.notFound",
  section_not_found: "errors.notFound",
  conversation_not_found: "errors.notFound",
  leave_not_found: "errors.notFound",
  job_not_found: "errors.notFound",
  admission_number_taken: "errors.admissionNumberTaken",
  roll_number_taken: "errors.rollNumberTaken",
  guardian_phone_taken: "errors.guardianPhoneTaken",
  not_a_school_day: "errors.notSchoolDay",
  date_in_future: "errors.dateInFuture",
  edit_not_allowed: "errors.editNotAllowed",
  edit_window_closed: "errors.editWindowClosed",
  not_your_section: "errors.notYourSection",
  not_class_teacher: "errors.notYourSection",
  unknown_attendance_code: "errors.unknownCode",
  student_not_in_section: "errors.studentNotInSection",
  outside_academic_year: "errors.outsideYear",
  idempotency_key_reused: "errors.idempotencyReused",
  leave_overlaps: "errors.leaveOverlaps",
  leave_already_decided: "errors.leaveDecided",
  leave_too_far_back: "errors.leaveTooEarly",
  bad_spreadsheet: "errors.badSpreadsheet",
  import_rejected: "errors.importRejected",
  promotion_refused: "errors.promotionRefused",
  conversation_not_allowed: "errors.chatNotAllowed",
  announcements_only: "errors.announcementsOnly",
  invalid_search_query: "errors.searchQuery",
  no_current_academic_year: "errors.noCurrentYear",
  conflict: "errors.conflict",
};

/** "45 sec" or "3 min", in the user's language. */
export function formatWait(seconds: number, t: Translate): string {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return t("time.seconds", { count: whole });
  return t("time.minutes", { count: Math.ceil(whole / 60) });
}

function attemptsLeft(details: unknown): number | null {
  if (typeof details === "object" && details !== null && "attempts_left" in details) {
    const value = (details as { attempts_left: unknown }).attempts_left;
    return typeof value === "number" ? value : null;
  }
  return null;
}

export function errorMessage(error: unknown, t: Translate): string {
  if (!isApiError(error)) return t("errors.unknown");
  switch (error.code) {
    case "otp_invalid": {
      const left = attemptsLeft(error.details);
      return left === null ? t("errors.otpInvalidNoCount") : t("errors.otpInvalid", { count: left });
    }
    case "otp_cooldown":
      return t("errors.otpCooldown", { time: formatWait(error.retryAfter ?? 30, t) });
    case "rate_limited":
      return error.retryAfter
        ? t("errors.rateLimited", { time: formatWait(error.retryAfter, t) })
        : t("errors.rateLimitedSoon");
  }
  const key = BY_CODE[error.code];
  if (key) return t(key);
  if (error.status === 401) return t("errors.sessionEnded");
  if (error.status === 403) return t("errors.permission");
  if (error.status === 404) return t("errors.notFound");
  if (error.status === 422) return t("errors.validation");
  if (error.status === 429) return t("errors.rateLimitedSoon");
  if (error.status >= 500) return t("errors.server");
  return t("errors.unknown");
}
