import { useQuery } from "@tanstack/react-query";

import { BarChart } from "../../components/BarChart";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatNumber } from "../../format";
import { useI18n } from "../../i18n";
import { todayQuery } from "../attendance/api";

/** Today's attendance by class: present against enrolled, and what is still unmarked. */
export function TodayAttendance() {
  const { t, language } = useI18n();
  const today = useQuery(todayQuery);
  const title = t("dashboard.attendanceTitle");
  const classes = today.data?.classes ?? [];
  // Until a first register is in there is nothing to compare: the empty text says what will come.
  const anyMarked = classes.some((c) => c.present + c.absent > 0);
  return (
    <section className="card" aria-labelledby="dash-attendance">
      <h2 id="dash-attendance">{title}</h2>
      {today.isPending ? (
        <Loading />
      ) : today.isError ? (
        <ErrorPanel error={today.error} onRetry={() => void today.refetch()} />
      ) : today.data.closed_reason ? (
        <p className="chart-empty">{t("dashboard.closedToday", { reason: today.data.closed_reason })}</p>
      ) : (
        <>
          <p className="stat-line">
            {t("dashboard.attendanceTotals", {
              present: formatNumber(today.data.present, language),
              absent: formatNumber(today.data.absent, language),
              notMarked: formatNumber(today.data.not_marked, language),
            })}
          </p>
          <BarChart
            title={title}
            bars={anyMarked ? classes.map((c) => ({ label: c.class_name, value: c.present, total: c.enrolled })) : []}
            formatValue={(bar) => `${bar.value}/${bar.total}`}
            emptyText={t("dashboard.attendanceEmpty")}
          />
        </>
      )}
    </section>
  );
}
