import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDateTime, formatDay } from "../../format";
import { useI18n, type MessageKey } from "../../i18n";
import { formatPaise } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { useSchoolToday } from "../schools/useSchoolToday";
import { cancelInvoice, downloadInvoicePdf, invoiceQuery, isOpen, writeOffInvoice, type InvoiceDetail } from "./api";
import { BillingNav } from "./BillingNav";
import { InvoiceStatusBadge } from "./InvoiceStatus";
import { ReasonForm } from "./ReasonForm";
import "../fees/fees.css";

/** The figures that make up an invoice: billed, taken off, added, paid, forgiven, still owed. */
export function InvoiceFigures({ invoice }: { invoice: InvoiceDetail | Omit<InvoiceDetail, "lines" | "entries"> }) {
  const { t, language } = useI18n();
  const rows: [MessageKey, number, boolean?][] = [
    ["invoices.subtotal", invoice.subtotal],
    ["invoices.concession", -invoice.concession],
    ["invoices.lateFee", invoice.late_fee],
    ["invoices.total", invoice.total, true],
    ["invoices.paid", -invoice.paid],
    ["invoices.adjusted", -invoice.adjusted],
  ];
  return (
    <dl className="figures invoice-figures">
      {rows
        .filter(([, value, always]) => always || value !== 0)
        .map(([key, value]) => (
          <div key={key}>
            <dt>{t(key)}</dt>
            <dd className="num">{formatPaise(value, language)}</dd>
          </div>
        ))}
      <div className="figure-balance">
        <dt>{t("invoices.balance")}</dt>
        <dd className="num" data-testid="invoice-balance">
          {formatPaise(invoice.balance, language)}
        </dd>
      </div>
    </dl>
  );
}

export default function InvoiceDetailPage() {
  const { invoiceId = "" } = useParams();
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const today = useSchoolToday();
  const queryClient = useQueryClient();
  const invoice = useQuery(invoiceQuery(invoiceId));
  const [closing, setClosing] = useState<"cancel" | "write-off" | null>(null);
  const pdf = useMutation({ mutationFn: downloadInvoicePdf });
  const close = useMutation({
    mutationFn: ({ action, reason }: { action: "cancel" | "write-off"; reason: string }) =>
      action === "cancel" ? cancelInvoice(invoiceId, reason) : writeOffInvoice(invoiceId, reason),
    onSuccess: (updated) => {
      queryClient.setQueryData(invoiceQuery(invoiceId).queryKey, updated);
      void queryClient.invalidateQueries({ queryKey: ["invoices", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["fee-reports"] });
      setClosing(null);
    },
  });

  if (invoice.isPending) return <Loading />;
  if (invoice.isError) {
    return (
      <>
        <PageHeader title={t("invoices.title")} />
        <BillingNav />
        <ErrorPanel error={invoice.error} onRetry={() => void invoice.refetch()} />
      </>
    );
  }
  const data = invoice.data;
  const open = isOpen(data);
  const canManage = me.permissions.includes("fees:manage");
  const canRecord = me.permissions.includes("payments:record");
  return (
    <>
      <PageHeader title={t("invoices.detailTitle", { number: data.number })}>
        <p className="page-subtitle">
          <Link to={`/students/${data.student_id}`}>{data.student_name}</Link> · {data.admission_number}
          {data.section_label ? ` · ${data.section_label}` : ""}
        </p>
      </PageHeader>
      <BillingNav />
      <div className="detail-grid">
        <section className="card" aria-labelledby="invoice-summary">
          <h2 id="invoice-summary">
            {data.instalment_name} · {t("generate.due", { date: formatDay(data.due_on, language) })}
          </h2>
          <p>
            <InvoiceStatusBadge invoice={data} today={today} />
            {data.status_reason && <span className="muted"> · {data.status_reason}</span>}
          </p>
          <InvoiceFigures invoice={data} />
          <div className="toolbar">
            {canRecord && open && (
              <Link className="button primary" to={`/payments/new?student=${data.student_id}&invoice=${data.id}`}>
                {t("invoices.recordPayment")}
              </Link>
            )}
            <button type="button" className="button" disabled={pdf.isPending} onClick={() => pdf.mutate(data)}>
              {pdf.isPending ? t("billing.preparingPdf") : t("invoices.downloadPdf")}
            </button>
            {canManage && open && data.paid === 0 && (
              <button type="button" className="button danger-outline" onClick={() => setClosing("cancel")}>
                {t("invoices.cancel")}
              </button>
            )}
            {canManage && open && (
              <button type="button" className="button danger-outline" onClick={() => setClosing("write-off")}>
                {t("invoices.writeOff")}
              </button>
            )}
          </div>
          {pdf.isError && <ErrorPanel error={pdf.error} />}
        </section>
        {closing && (
          <ReasonForm
            key={closing}
            title={closing === "cancel" ? t("invoices.cancelTitle") : t("invoices.writeOffTitle")}
            explanation={
              closing === "cancel"
                ? t("invoices.cancelExplain")
                : t("invoices.writeOffExplain", { amount: formatPaise(data.balance, language) })
            }
            confirmLabel={closing === "cancel" ? t("invoices.cancelConfirm") : t("invoices.writeOffConfirm")}
            pending={close.isPending}
            error={close.error}
            onConfirm={(reason) => close.mutate({ action: closing, reason })}
            onClose={() => {
              close.reset();
              setClosing(null);
            }}
          />
        )}
        <section className="card" aria-labelledby="invoice-lines">
          <h2 id="invoice-lines">{t("invoices.lines")}</h2>
          <table className="records compact-records">
            <caption className="visually-hidden">{t("invoices.lines")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("invoices.item")}</th>
                <th scope="col" className="num">{t("invoices.amount")}</th>
                <th scope="col" className="num">{t("invoices.concession")}</th>
              </tr>
            </thead>
            <tbody>
              {data.lines.map((line) => (
                <tr key={line.id}>
                  <th scope="row">{line.description}</th>
                  <td data-label={t("invoices.amount")} className="num">
                    {formatPaise(line.amount, language)}
                  </td>
                  <td data-label={t("invoices.concession")} className="num">
                    {line.concession ? formatPaise(-line.concession, language) : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card" aria-labelledby="invoice-history">
          <h2 id="invoice-history">{t("invoices.history")}</h2>
          <ol className="plain-list ledger-list">
            {data.entries.map((entry) => (
              <li key={entry.id}>
                <span className="ledger-kind">{t(`ledger.${entry.kind}` as MessageKey)}</span>
                <span className={`num ${entry.amount < 0 ? "credit" : ""}`}>{formatPaise(entry.amount, language)}</span>
                <span className="muted small">
                  {formatDateTime(entry.created_at, language)}
                  {entry.memo ? ` · ${entry.memo}` : ""}
                  {entry.payment_id && (
                    <>
                      {" · "}
                      <Link to={`/payments/${entry.payment_id}`}>{t("invoices.seePayment")}</Link>
                    </>
                  )}
                </span>
              </li>
            ))}
          </ol>
        </section>
      </div>
    </>
  );
}
