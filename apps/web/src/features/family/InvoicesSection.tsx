import { useMutation, useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useState } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n, type MessageKey } from "../../i18n";
import type { Page } from "../fees/api";
import { formatPaise } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { downloadInvoicePdf, invoicesQuery, isOpen, isOverdue, type Invoice } from "../invoices/api";
import { createOrder, downloadReceipt, paymentsQuery, type Payment } from "../payments/api";
import { openCheckout } from "../payments/checkout";
import { PaymentStatus } from "./PayStatus";
import { useSchoolToday } from "../schools/useSchoolToday";
import "../fees/fees.css";

/**
 * A child's fees in the parent portal: what is due, each with a Pay button a thumb
 * can reach (UPI or card, through the school's payment provider), and the receipts
 * of what was paid.
 */
export function InvoicesSection({ childId, childName }: { childId: string; childName: string }) {
  const { t, language } = useI18n();
  const today = useSchoolToday();
  const me = useCurrentUser();
  const queryClient = useQueryClient();
  const invoices = useQuery(invoicesQuery({ student_id: childId, limit: 100 }));
  const receipts = useQuery(paymentsQuery({ student_id: childId, limit: 20 }));
  const [leaving, setLeaving] = useState(false);
  const pay = useMutation({
    mutationFn: async (invoiceIds: string[]) => {
      const order = await createOrder(invoiceIds);
      const outcome = await openCheckout(order, { schoolName: me.school.name });
      if (outcome.kind === "redirected") setLeaving(true);
      return outcome;
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["billing"] }),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ["invoices"] });
    void queryClient.invalidateQueries({ queryKey: ["payments"] });
  };

  const all = invoices.data?.items ?? [];
  const due = all.filter(isOpen).sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : 0));
  const dueTotal = due.reduce((sum, invoice) => sum + invoice.balance, 0);
  const settled = all.filter((invoice) => !isOpen(invoice) && invoice.status !== "draft");

  return (
    <section className="card family-fees" aria-labelledby="child-fees">
      <h2 id="child-fees">{t("family.feesTitle")}</h2>
      <PaymentStatus childInvoiceIds={all.map((invoice) => invoice.id)} onSettled={refresh} />
      {invoices.isPending ? (
        <Loading />
      ) : invoices.isError ? (
        <ErrorPanel error={invoices.error} onRetry={() => void invoices.refetch()} />
      ) : all.length === 0 ? (
        <p className="muted">{t("family.feesEmpty", { name: childName })}</p>
      ) : (
        <>
          {due.length === 0 ? (
            <p className="notice success">{t("familyFees.allPaid", { name: childName })}</p>
          ) : (
            <>
              <p className="stat-line" data-testid="family-due-total">
                {t("familyFees.dueTotal", { amount: formatPaise(dueTotal, language) })}
              </p>
              <ul className="plain-list due-list">
                {due.map((invoice) => (
                  <DueInvoice
                    key={invoice.id}
                    invoice={invoice}
                    today={today}
                    paying={pay.isPending || leaving}
                    onPay={() => pay.mutate([invoice.id])}
                  />
                ))}
              </ul>
              {due.length > 1 && (
                <button type="button" className="button primary block pay-button" disabled={pay.isPending || leaving} onClick={() => pay.mutate(due.map((i) => i.id))}>
                  {t("familyFees.payAll", { amount: formatPaise(dueTotal, language) })}
                </button>
              )}
              <p className="hint">{t("familyFees.payHint")}</p>
            </>
          )}
          {(pay.isPending || leaving) && (
            <p role="status" className="notice">
              {t("familyFees.openingCheckout")}
            </p>
          )}
          {pay.isError && <ErrorPanel error={pay.error} />}
          {pay.data?.kind === "dismissed" && <p className="notice">{t("familyFees.checkoutClosed")}</p>}
          {settled.length > 0 && (
            <details className="paid-invoices">
              <summary>{t("familyFees.pastInvoices", { count: settled.length })}</summary>
              <ul className="plain-list">
                {settled.map((invoice) => (
                  <li key={invoice.id} className="split-row">
                    <span>
                      {invoice.instalment_name}
                      <span className="muted small"> · {t(`invoices.status.${invoice.status}` as MessageKey)}</span>
                    </span>
                    <span className="num">{formatPaise(invoice.total, language)}</span>
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
      <Receipts query={receipts} />
    </section>
  );
}

function DueInvoice({ invoice, today, paying, onPay }: { invoice: Invoice; today: string; paying: boolean; onPay: () => void }) {
  const { t, language } = useI18n();
  const pdf = useMutation({ mutationFn: downloadInvoicePdf });
  const overdue = isOverdue(invoice, today);
  return (
    <li className={`due-invoice${overdue ? " overdue" : ""}`} data-testid="due-invoice">
      <div className="due-head">
        <div>
          <strong>{invoice.instalment_name}</strong>
          <span className="muted small">
            {" "}
            · {invoice.number}
          </span>
          <p className={overdue ? "due-date overdue-text" : "due-date muted"}>
            {overdue ? t("familyFees.overdueSince", { date: formatDay(invoice.due_on, language) }) : t("familyFees.dueBy", { date: formatDay(invoice.due_on, language) })}
          </p>
        </div>
        <strong className="due-amount num">{formatPaise(invoice.balance, language)}</strong>
      </div>
      {invoice.paid > 0 && <p className="muted small">{t("familyFees.partlyPaid", { paid: formatPaise(invoice.paid, language), total: formatPaise(invoice.total, language) })}</p>}
      <div className="due-actions">
        <button type="button" className="button primary pay-button" disabled={paying} onClick={onPay}>
          {t("familyFees.pay", { amount: formatPaise(invoice.balance, language) })}
        </button>
        <button type="button" className="button" disabled={pdf.isPending} onClick={() => pdf.mutate(invoice)}>
          {pdf.isPending ? t("billing.preparingPdf") : t("familyFees.invoicePdf")}
        </button>
      </div>
      {pdf.isError && <ErrorPanel error={pdf.error} />}
    </li>
  );
}

function Receipts({ query }: { query: UseQueryResult<Page<Payment>> }) {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const pdf = useMutation({
    mutationFn: downloadReceipt,
    // Downloading a receipt still being numbered numbers it: show the number.
    onSuccess: (_, payment) => {
      if (payment.label === null) void queryClient.invalidateQueries({ queryKey: ["payments"] });
    },
  });
  if (query.isPending || query.isError || query.data.items.length === 0) return null;
  return (
    <div className="receipts">
      <h3>{t("familyFees.receipts")}</h3>
      <ul className="plain-list">
        {query.data.items.map((payment) => (
          <li key={payment.id} className="receipt-row" data-testid="receipt-row">
            <span>
              <strong className="num">{formatPaise(payment.amount, language)}</strong>
              <span className="muted small">
                {" "}
                · {formatDay(payment.received_on, language)} · {payment.receipt_label ?? t("payments.receiptNumbering")}
              </span>
            </span>
            <button type="button" className="button" disabled={pdf.isPending} onClick={() => pdf.mutate({ id: payment.id, label: payment.receipt_label })}>
              {t("familyFees.receiptPdf")}
            </button>
          </li>
        ))}
      </ul>
      {pdf.isError && <ErrorPanel error={pdf.error} />}
    </div>
  );
}
