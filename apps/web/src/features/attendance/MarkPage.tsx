import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type KeyboardEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay, formatTime } from "../../format";
import { useI18n, type MessageKey, type Translate } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { useSchoolToday } from "../schools/useSchoolToday";
import { codesQuery, markRegister, registerQuery, type AttendanceCode, type MarkResult, type Register } from "./api";
import { useIdempotencyKey } from "../payments/idempotency";
import { ABSENT, PRESENT, hasUnsaved, initialMarks, submission, tally, toggled, type Marks } from "./marking";

/** The built-in codes' labels in the user's language; a school's own wording is shown as it is. */
const BUILT_IN: Record<string, [string, MessageKey]> = {
  P: ["Present", "codes.builtin.P"],
  A: ["Absent", "codes.builtin.A"],
  L: ["Late", "codes.builtin.L"],
  HD: ["Half day", "codes.builtin.HD"],
  LV: ["Leave", "codes.builtin.LV"],
  EX: ["Excused", "codes.builtin.EX"],
};

export function codeLabel(code: Pick<AttendanceCode, "code" | "label">, t: Translate): string {
  const builtIn = BUILT_IN[code.code];
  return builtIn && builtIn[0] === code.label ? t(builtIn[1]) : code.label;
}

/** A section's register for a day: marked with one tap per absent child, sent once. */
export default function MarkPage() {
  const { sectionId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const { t, language } = useI18n();
  const today = useSchoolToday();
  const day = params.get("date") ?? today;
  const register = useQuery(registerQuery(sectionId, day));
  const codes = useQuery(codesQuery);

  return (
    <>
      <PageHeader title={register.data ? t("mark.title", { section: register.data.section_label }) : t("attendance.title")}>
        <p className="page-subtitle">{formatDay(day, language, "long")}</p>
      </PageHeader>
      <div className="toolbar">
        <Link to="/attendance">{t("mark.allSections")}</Link>
        <label className="inline-label" htmlFor="register-date">
          {t("mark.date")}
        </label>
        <input
          id="register-date"
          type="date"
          value={day}
          max={today}
          onChange={(event) => event.target.value && setParams({ date: event.target.value }, { replace: true })}
        />
      </div>
      {register.isPending || codes.isPending ? (
        <Loading />
      ) : register.isError ? (
        <ErrorPanel error={register.error} onRetry={() => void register.refetch()} />
      ) : codes.isError ? (
        <ErrorPanel error={codes.error} onRetry={() => void codes.refetch()} />
      ) : register.data.closed_reason ? (
        <p className="notice">{t("mark.closed", { reason: register.data.closed_reason })}</p>
      ) : register.data.rows.length === 0 ? (
        <p className="notice">{t("mark.noStudents")}</p>
      ) : (
        <RegisterSheet
          key={`${sectionId}-${day}`}
          register={register.data}
          codes={codes.data.filter((code) => code.is_active)}
          isPast={day < today}
        />
      )}
    </>
  );
}

function RegisterSheet({ register, codes, isPast }: { register: Register; codes: AttendanceCode[]; isPast: boolean }) {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const queryClient = useQueryClient();
  const canChange = isPast ? me.permissions.includes("attendance:edit") : me.permissions.includes("attendance:mark") || me.permissions.includes("attendance:edit");
  const [marks, setMarks] = useState<Marks>(() => initialMarks(register));
  const [saved, setSaved] = useState<{ result: MarkResult; at: string } | null>(null);
  const list = useRef<HTMLUListElement>(null);

  const body = { section_id: register.section_id, date: register.date, marks: submission(register, marks) };
  // One key per distinct register: sending the same marks twice is one write.
  const idempotencyKey = useIdempotencyKey(body);
  const send = useMutation({
    mutationFn: () => markRegister(body, idempotencyKey, isPast),
    onSuccess: (result) => {
      setSaved({ result, at: new Date().toISOString() });
      void queryClient.invalidateQueries({ queryKey: ["attendance", "register", register.section_id, register.date] });
      void queryClient.invalidateQueries({ queryKey: ["attendance", "today"] });
    },
  });

  const set = (studentId: string, code: string) => {
    setMarks((current) => ({ ...current, [studentId]: code }));
    setSaved(null);
  };
  const { present, notPresent } = tally(marks, codes);
  const unsaved = hasUnsaved(register, marks);
  const labelOf = (code: string) => {
    const known = codes.find((c) => c.code === code);
    return known ? codeLabel(known, t) : code;
  };

  /** Up/Down move between children; P and A set the focused child; Space/Enter toggle (the button's own). */
  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const buttons = Array.from(list.current?.querySelectorAll<HTMLButtonElement>("button.mark-toggle") ?? []);
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (index < 0) return;
    const studentId = buttons[index].dataset.student!;
    const key = event.key.toLowerCase();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      buttons[Math.min(buttons.length - 1, Math.max(0, index + (event.key === "ArrowDown" ? 1 : -1)))].focus();
    } else if (canChange && (key === "a" || key === "p")) {
      event.preventDefault();
      set(studentId, key === "a" ? ABSENT : PRESENT);
    }
  };

  return (
    <>
      {canChange ? (
        <p className="hint">{t("mark.howTo")}</p>
      ) : (
        <p className="notice">{t("mark.readOnly")}</p>
      )}
      <ul className="register" ref={list} onKeyDown={onKeyDown} aria-label={t("mark.listLabel", { section: register.section_label })}>
        {register.rows.map((row) => {
          const code = marks[row.student_id] ?? PRESENT;
          const absent = code === ABSENT;
          return (
            <li key={row.student_id} className={`register-row mark-${code.toLowerCase()}`}>
              <button
                type="button"
                className="mark-toggle"
                data-student={row.student_id}
                aria-pressed={absent}
                disabled={!canChange}
                onClick={() => set(row.student_id, toggled(code))}
              >
                <span className="roll" aria-hidden="true">
                  {row.roll_number ?? "·"}
                </span>
                <span className="mark-name">{row.name}</span>
                <span className="mark-code">{labelOf(code)}</span>
              </button>
              <select
                className="mark-other"
                aria-label={t("mark.otherCode", { name: row.name })}
                value={code}
                disabled={!canChange}
                onChange={(event) => set(row.student_id, event.target.value)}
              >
                {codes.map((c) => (
                  <option key={c.code} value={c.code}>
                    {c.code} · {codeLabel(c, t)}
                  </option>
                ))}
              </select>
            </li>
          );
        })}
      </ul>
      {canChange && (
        <div className="submit-bar">
          <p className="submit-summary" aria-live="polite">
            {t("mark.summary", { present, absent: notPresent })}
            {" · "}
            {saved && !unsaved
              ? t("mark.savedAt", { time: formatTime(saved.at, language) })
              : unsaved
                ? t("mark.unsaved")
                : t("mark.upToDate")}
          </p>
          {send.isError && <ErrorPanel error={send.error} />}
          <button type="button" className="button primary block" disabled={send.isPending} onClick={() => send.mutate()}>
            {send.isPending ? t("common.saving") : t("mark.save", { count: register.rows.length })}
          </button>
          {saved && saved.result.alerts_queued > 0 && (
            <p className="hint">{t("mark.alerts", { count: saved.result.alerts_queued })}</p>
          )}
        </div>
      )}
    </>
  );
}
