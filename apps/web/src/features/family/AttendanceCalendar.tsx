import { useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay, formatMonth, shiftMonth } from "../../format";
import { useI18n, type MessageKey } from "../../i18n";
import { calendarQuery } from "../academics/api";
import { studentMonthQuery } from "../attendance/api";
import { useSchoolToday } from "../schools/useSchoolToday";
import { daysInMonth, monthGrid, type DayStatus } from "./calendar";

const WEEKDAY_KEYS: readonly MessageKey[] = [
  "calendar.short.mon",
  "calendar.short.tue",
  "calendar.short.wed",
  "calendar.short.thu",
  "calendar.short.fri",
  "calendar.short.sat",
  "calendar.short.sun",
];
const LEGEND: readonly DayStatus[] = ["present", "absent", "leave", "holiday"];

/** A child's month, day by day, with the month's percentage; earlier months one tap away. */
export function AttendanceCalendar({ childId, childName }: { childId: string; childName: string }) {
  const { t, language } = useI18n();
  const today = useSchoolToday();
  const [month, setMonth] = useState(() => today.slice(0, 7));
  const summary = useQuery(studentMonthQuery(childId, month));
  const calendar = useQuery(calendarQuery(`${month}-01`, `${month}-${daysInMonth(month)}`));
  const weeks = monthGrid(month, summary.data?.days ?? [], calendar.data, today);

  return (
    <section className="card" aria-labelledby="child-attendance">
      <h2 id="child-attendance">{t("family.attendanceTitle")}</h2>
      <div className="month-switch">
        <button type="button" className="button" onClick={() => setMonth(shiftMonth(month, -1))} aria-label={t("family.previousMonth")}>
          ‹
        </button>
        <strong aria-live="polite">{formatMonth(month, language)}</strong>
        <button
          type="button"
          className="button"
          disabled={month >= today.slice(0, 7)}
          onClick={() => setMonth(shiftMonth(month, 1))}
          aria-label={t("family.nextMonth")}
        >
          ›
        </button>
      </div>
      {summary.isPending ? (
        <Loading />
      ) : summary.isError ? (
        <ErrorPanel error={summary.error} onRetry={() => void summary.refetch()} />
      ) : (
        <>
          <p className="stat-line">
            {summary.data.marked === 0
              ? t("family.attendanceEmpty", { name: childName })
              : t("family.monthSummary", {
                  present: summary.data.present,
                  marked: summary.data.marked,
                  percent: summary.data.percent === null ? "—" : summary.data.percent.toFixed(0),
                })}
          </p>
          <table className="month-grid">
            <caption className="visually-hidden">{t("family.calendarCaption", { name: childName, month: formatMonth(month, language) })}</caption>
            <thead>
              <tr>
                {WEEKDAY_KEYS.map((key) => (
                  <th key={key} scope="col">
                    {t(key)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {weeks.map((week, index) => (
                <tr key={index}>
                  {week.map((cell, column) =>
                    cell ? (
                      <td key={cell.date} className={`day day-${cell.status}`} title={cell.note ?? undefined}>
                        <span aria-hidden="true">{cell.day}</span>
                        <span className="visually-hidden">
                          {formatDay(cell.date, language)}: {t(`family.status.${cell.status}`)}
                          {cell.note ? ` (${cell.note})` : ""}
                        </span>
                      </td>
                    ) : (
                      <td key={`blank-${column}`} />
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <ul className="legend" aria-label={t("family.legend")}>
            {LEGEND.map((status) => (
              <li key={status}>
                <span className={`swatch day-${status}`} aria-hidden="true" />
                {t(`family.status.${status}`)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
