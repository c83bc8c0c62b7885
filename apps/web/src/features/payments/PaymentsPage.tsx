import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { JobProgress } from "../../components/JobProgress";
import { PageHeader } from "../../components/PageHeader";
import { Pager } from "../../components/Pager";
import { ErrorPanel, Loading } from "../../components/Status";
import { api } from "../../api";
import { saveFile } from "../../download";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { formatPaise } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { BillingNav } from "../invoices/BillingNav";
import { jobQuery } from "../jobs/api";
import { useSchoolToday } from "../schools/useSchoolToday";
import { downloadReceipt, PAYMENT_PAGE_SIZE, paymentsQuery, type PaymentFilters, type PaymentMethod } from "./api";
import { methodLabel } from "./methodLabel";
import "../fees/fees.css";

const METHODS: readonly PaymentMethod[] = ["cash", "upi", "cheque", "bank_transfer", "razorpay", "stripe"];

/** Payments received, newest first, each with its receipt. */
export default function PaymentsPage() {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const [params, setParams] = useSearchParams();
  const filters: PaymentFilters = {
    from: params.get("from") ?? undefined,
    to: params.get("to") ?? undefined,
    method: (params.get("method") as PaymentMethod | null) ?? undefined,
    offset: Number(params.get("offset") ?? 0) || 0,
  };
  const update = (changes: Partial<PaymentFilters>) => {
    const next = { ...filters, offset: 0, ...changes };
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value) search.set(key, String(value));
    setParams(search, { replace: true });
  };
  const payments = useQuery(paymentsQuery(filters));
  const queryClient = useQueryClient();
  const receipt = useMutation({
    mutationFn: downloadReceipt,
    // Downloading a receipt still being numbered numbers it: show the number.
    onSuccess: (_, payment) => {
      if (payment.label === null) void queryClient.invalidateQueries({ queryKey: ["payments"] });
    },
  });
  const canRecord = me.permissions.includes("payments:record");
  const filtered = Boolean(filters.from || filters.to || filters.method);

  return (
    <>
      <PageHeader title={t("payments.title")} />
      <BillingNav />
      <div className="filters" role="group" aria-label={t("invoices.filters")}>
        <div>
          <label htmlFor="pay-from">{t("payments.from")}</label>
          <input id="pay-from" type="date" value={filters.from ?? ""} onChange={(e) => update({ from: e.target.value || undefined })} />
        </div>
        <div>
          <label htmlFor="pay-to">{t("payments.to")}</label>
          <input id="pay-to" type="date" value={filters.to ?? ""} onChange={(e) => update({ to: e.target.value || undefined })} />
        </div>
        <div>
          <label htmlFor="pay-method">{t("payments.method")}</label>
          <select id="pay-method" value={filters.method ?? ""} onChange={(e) => update({ method: (e.target.value || undefined) as PaymentMethod | undefined })}>
            <option value="">{t("payments.anyMethod")}</option>
            {METHODS.map((method) => (
              <option key={method} value={method}>
                {methodLabel(method, t)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {receipt.isError && <ErrorPanel error={receipt.error} />}
      {payments.isPending ? (
        <Loading />
      ) : payments.isError ? (
        <ErrorPanel error={payments.error} onRetry={() => void payments.refetch()} />
      ) : payments.data.items.length === 0 ? (
        <EmptyState
          title={filtered ? t("payments.noMatchTitle") : t("payments.emptyTitle")}
          action={
            canRecord ? (
              <Link className="button primary" to="/payments/new">
                {t("billing.recordPayment")}
              </Link>
            ) : undefined
          }
        >
          {filtered ? t("payments.noMatchBody") : t("payments.emptyBody")}
        </EmptyState>
      ) : (
        <>
          <table className="records payment-table">
            <caption className="visually-hidden">{t("payments.title")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("payments.receipt")}</th>
                <th scope="col">{t("payments.student")}</th>
                <th scope="col">{t("payments.receivedOn")}</th>
                <th scope="col">{t("payments.method")}</th>
                <th scope="col" className="num">{t("payments.amount")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("payments.downloadReceipt")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {payments.data.items.map((payment) => (
                <tr key={payment.id} data-testid="payment-row">
                  <th scope="row">
                    <Link to={`/payments/${payment.id}`}>{payment.receipt_label ?? t("payments.receiptNumbering")}</Link>
                  </th>
                  <td data-label={t("payments.student")}>
                    {payment.student_name} <span className="muted small">· {payment.admission_number}</span>
                  </td>
                  <td data-label={t("payments.receivedOn")}>{formatDay(payment.received_on, language)}</td>
                  <td data-label={t("payments.method")}>
                    {methodLabel(payment.method, t)}
                    {payment.reference ? <span className="muted small"> · {payment.reference}</span> : null}
                  </td>
                  <td data-label={t("payments.amount")} className="num">
                    <strong>{formatPaise(payment.amount, language)}</strong>
                    {payment.refunded > 0 && (
                      <span className="muted small"> · {t("payments.refundedAmount", { amount: formatPaise(payment.refunded, language) })}</span>
                    )}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="button link"
                      disabled={receipt.isPending}
                      onClick={() => receipt.mutate({ id: payment.id, label: payment.receipt_label })}
                    >
                      {t("payments.receiptPdf")}
                      <span className="visually-hidden"> {payment.receipt_label ?? `${payment.student_name} ${formatPaise(payment.amount, language)}`}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={payments.data.offset} limit={PAYMENT_PAGE_SIZE} total={payments.data.total} onChange={(offset) => update({ offset })} />
        </>
      )}
      {canRecord && <DayReceipts />}
    </>
  );
}

interface DayStarted {
  job_id: string;
  status_url: string;
  download_url: string;
}

/** All receipts of a day in one PDF, for the evening's file: a job with progress, then a download. */
function DayReceipts() {
  const { t } = useI18n();
  const today = useSchoolToday();
  const [params, setParams] = useSearchParams();
  const day = params.get("day") ?? today;
  const start = useMutation({
    mutationFn: (date: string) => api<DayStarted>("/api/receipts/day", { method: "POST", body: { date } }),
  });
  const job = useQuery({ ...jobQuery(start.data?.job_id ?? ""), enabled: Boolean(start.data) });
  const download = useMutation({
    mutationFn: async (started: DayStarted) => {
      // download_url is the path as the server sees it behind its prefix (/api/...).
      const blob = await api<Blob>(started.download_url, { read: "blob" });
      saveFile(blob, `receipts-${day}.pdf`);
    },
  });
  const result = job.data?.result as { receipts?: number } | null | undefined;
  return (
    <section className="card day-receipts" aria-labelledby="day-receipts">
      <h2 id="day-receipts">{t("payments.dayTitle")}</h2>
      <p className="hint">{t("payments.dayHint")}</p>
      <div className="toolbar">
        <label htmlFor="day-date" className="inline-label">
          {t("payments.day")}
        </label>
        <input
          id="day-date"
          type="date"
          value={day}
          max={today}
          onChange={(event) => {
            start.reset();
            const next = new URLSearchParams(params);
            next.set("day", event.target.value);
            setParams(next, { replace: true });
          }}
        />
        <button type="button" className="button" disabled={start.isPending || !day} onClick={() => start.mutate(day)}>
          {t("payments.dayPrepare")}
        </button>
      </div>
      {start.isError && <ErrorPanel error={start.error} />}
      {start.data && <JobProgress jobId={start.data.job_id} label={t("payments.dayRunning")} />}
      {start.data && job.data?.status === "done" &&
        (result?.receipts === 0 ? (
          <p className="notice">{t("payments.dayNone")}</p>
        ) : (
          <button type="button" className="button primary" disabled={download.isPending} onClick={() => download.mutate(start.data)}>
            {t("payments.dayDownload")}
          </button>
        ))}
      {download.isError && <ErrorPanel error={download.error} />}
    </section>
  );
}
