import { useMutation, useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { saveFile } from "../../download";
import { formatMonth } from "../../format";
import { useI18n } from "../../i18n";
import { useSchoolToday } from "../schools/useSchoolToday";
import { monthlyCsv, monthlyQuery, type Monthly } from "./api";
import { SectionPicker } from "./SectionPicker";

/** A section's month: each child's marked days, present days and percentage, with a CSV download. */
export default function ReportsPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const today = useSchoolToday();
  const sectionId = params.get("section") ?? "";
  const month = params.get("month") ?? today.slice(0, 7);
  const report = useQuery({ ...monthlyQuery(sectionId, month), enabled: Boolean(sectionId) });
  const update = (changes: Record<string, string>) => setParams({ section: sectionId, month, ...changes }, { replace: true });

  return (
    <>
      <PageHeader title={t("reports.title")}>
        <p className="page-subtitle">
          <Link to="/attendance">{t("attendance.title")}</Link>
        </p>
      </PageHeader>
      <div className="filters">
        <SectionPicker value={sectionId} onChange={(section) => update({ section })} />
        <div>
          <label htmlFor="report-month">{t("reports.month")}</label>
          <input id="report-month" type="month" value={month} max={today.slice(0, 7)} onChange={(e) => e.target.value && update({ month: e.target.value })} />
        </div>
      </div>
      {!sectionId ? (
        <EmptyState title={t("reports.pickTitle")}>{t("reports.pickBody")}</EmptyState>
      ) : report.isPending ? (
        <Loading />
      ) : report.isError ? (
        <ErrorPanel error={report.error} onRetry={() => void report.refetch()} />
      ) : (
        <MonthTable report={report.data} />
      )}
    </>
  );
}

function MonthTable({ report }: { report: Monthly }) {
  const { t, language } = useI18n();
  const download = useMutation({
    mutationFn: () => monthlyCsv(report.section_id, report.month),
    onSuccess: (blob) => saveFile(blob, `attendance-${report.section_label}-${report.month}.csv`),
  });
  return (
    <section className="card" aria-labelledby="report-table">
      <h2 id="report-table">
        {report.section_label} · {formatMonth(report.month, language)}
      </h2>
      <p className="hint">{t("reports.schoolDays", { count: report.school_days })}</p>
      <button type="button" className="button" disabled={download.isPending} onClick={() => download.mutate()}>
        {t("reports.downloadCsv")}
      </button>
      {download.isError && <ErrorPanel error={download.error} />}
      {report.rows.length === 0 ? (
        <p>{t("mark.noStudents")}</p>
      ) : (
        <div className="table-scroll">
          <table className="records">
            <thead>
              <tr>
                <th scope="col">{t("students.roll")}</th>
                <th scope="col">{t("students.name")}</th>
                <th scope="col">{t("reports.marked")}</th>
                <th scope="col">{t("reports.present")}</th>
                <th scope="col">{t("reports.percent")}</th>
              </tr>
            </thead>
            <tbody>
              {report.rows.map((row) => (
                <tr key={row.student_id} className={row.percent !== null && row.percent < 75 ? "row-warning" : undefined}>
                  <td data-label={t("students.roll")}>{row.roll_number ?? "—"}</td>
                  <th scope="row">{row.name}</th>
                  <td data-label={t("reports.marked")}>{row.marked}</td>
                  <td data-label={t("reports.present")}>{row.present}</td>
                  <td data-label={t("reports.percent")}>{row.percent === null ? "—" : `${row.percent.toFixed(1)}%`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
