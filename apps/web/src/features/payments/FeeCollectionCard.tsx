import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { api } from "../../api";
import { BarChart } from "../../components/BarChart";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay, formatNumber } from "../../format";
import { useI18n } from "../../i18n";
import { formatCompactPaise, formatPaise } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { useSchoolToday } from "../schools/useSchoolToday";
import { paymentsQuery } from "./api";
import { methodLabel } from "./methodLabel";

interface ClassCollection {
  class_id: string | null;
  class_name: string;
  students: number;
  payments: number;
  collected: number;
  refunded: number;
  net: number;
}

interface CollectionByClass {
  classes: ClassCollection[];
  collected: number;
  refunded: number;
  net: number;
}

interface Ageing {
  not_due: number;
  days_0_30: number;
  days_31_60: number;
  days_61_90: number;
  days_over_90: number;
  total: number;
}

interface Outstanding {
  as_of: string;
  students: number;
  totals: Ageing;
  total: number;
}

interface Defaulters {
  as_of: string;
  overdue: number;
  total: number;
}

/** "2026-11-26" → ["2026-11-01", "2026-11-26"]. */
export function monthSoFar(today: string): [string, string] {
  return [`${today.slice(0, 7)}-01`, today];
}

/**
 * This month's collection against what is due, for the principal and the
 * accountant: money in, money still owed that has fallen due, the defaulters,
 * and the last few payments.
 */
export function FeeCollectionCard() {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const today = useSchoolToday();
  const [from, to] = monthSoFar(today);
  const reports = me.permissions.includes("reports:read");
  const invoices = me.permissions.includes("invoices:read");
  const byClass = useQuery({
    queryKey: ["fee-reports", "by-class", from, to],
    queryFn: ({ signal }) => api<CollectionByClass>(`/api/fee-reports/collection/by-class?from=${from}&to=${to}`, { signal }),
    enabled: reports,
  });
  const outstanding = useQuery({
    queryKey: ["fee-reports", "outstanding", to],
    queryFn: ({ signal }) => api<Outstanding>(`/api/fee-reports/outstanding?as_of=${to}&limit=1`, { signal }),
    enabled: reports,
  });
  const defaulters = useQuery({
    queryKey: ["fee-reports", "defaulters", to],
    queryFn: ({ signal }) => api<Defaulters>(`/api/fee-reports/defaulters?as_of=${to}&limit=1`, { signal }),
    enabled: reports,
  });
  const recent = useQuery({ ...paymentsQuery({ limit: 5 }), enabled: invoices });

  const money = (paise: number) => formatPaise(paise, language);
  const fallenDue = outstanding.data ? outstanding.data.totals.total - outstanding.data.totals.not_due : 0;
  const collected = byClass.data?.net ?? 0;

  return (
    <section className="card fee-collection" aria-labelledby="dash-collection" data-slot="fee-collection">
      <h2 id="dash-collection">{t("dashboard.collectionTitle")}</h2>
      {reports &&
        (byClass.isPending || outstanding.isPending ? (
          <Loading />
        ) : byClass.isError ? (
          <ErrorPanel error={byClass.error} onRetry={() => void byClass.refetch()} />
        ) : outstanding.isError ? (
          <ErrorPanel error={outstanding.error} onRetry={() => void outstanding.refetch()} />
        ) : collected === 0 && fallenDue === 0 ? (
          <p className="chart-empty">{t("dashboard.collectionEmpty")}</p>
        ) : (
          <>
            <p className="stat-line" data-testid="collection-summary">
              {t("feeDashboard.summary", { collected: money(collected), due: money(collected + fallenDue) })}
            </p>
            <BarChart
              title={t("feeDashboard.againstDue")}
              bars={[
                { label: t("feeDashboard.collected"), value: collected, total: collected + fallenDue },
                { label: t("feeDashboard.stillDue"), value: fallenDue, total: collected + fallenDue },
              ]}
              formatValue={(bar) => formatCompactPaise(bar.value, language)}
            />
            {byClass.data.classes.length > 0 && (
              <>
              <h3>{t("feeDashboard.byClass")}</h3>
              <BarChart
                title={t("feeDashboard.byClass")}
                bars={byClass.data.classes.map((row) => ({ label: row.class_id ? t("feeSetup.classLabel", { class: row.class_name }) : row.class_name, value: row.net }))}
                formatValue={(bar) => formatCompactPaise(bar.value, language)}
              />
              </>
            )}
          </>
        ))}
      {reports && defaulters.isPending && <Loading />}
      {reports && defaulters.isError && <ErrorPanel error={defaulters.error} onRetry={() => void defaulters.refetch()} />}
      {reports && defaulters.data && (
        <p className="defaulters-line" data-testid="defaulters">
          {defaulters.data.total === 0 ? (
            t("feeDashboard.noDefaulters")
          ) : (
            <Link to="/invoices?overdue=1">
              {t("feeDashboard.defaulters", { count: formatNumber(defaulters.data.total, language), amount: money(defaulters.data.overdue) })}
            </Link>
          )}
        </p>
      )}
      {invoices && recent.data && recent.data.items.length > 0 && (
        <>
          <h3>{t("feeDashboard.recentPayments")}</h3>
          <ul className="plain-list recent-payments">
            {recent.data.items.map((payment) => (
              <li key={payment.id} className="split-row">
                <span>
                  <Link to={`/payments/${payment.id}`}>{payment.student_name}</Link>
                  <span className="muted small">
                    {" "}
                    · {methodLabel(payment.method, t)} · {formatDay(payment.received_on, language)}
                  </span>
                </span>
                <span className="num">{money(payment.amount)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
