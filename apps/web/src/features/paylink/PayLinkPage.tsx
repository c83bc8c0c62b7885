import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useParams, useSearchParams } from "react-router";

import { isApiError } from "../../api";
import { LanguageSwitch } from "../../components/LanguageSwitch";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { formatPaise } from "../fees/money";
import { payLinkOrder, payLinkQuery } from "../payments/api";
import { clearPendingOrder, openCheckout, pendingOrder } from "../payments/checkout";
import "../fees/fees.css";

/** Came back from checkout: the provider put its fields in the address, or we left a note. */
export function returnedFromCheckout(search: URLSearchParams): boolean {
  if (checkoutFailed(search)) return false;
  return search.has("razorpay_payment_id") || search.has("session_id") || pendingOrder() !== null;
}

/** Razorpay sends the browser back with error[...] fields when a payment fails. */
export function checkoutFailed(search: URLSearchParams): boolean {
  return search.has("error[code]");
}

/**
 * The public pay-by-link page (from a WhatsApp reminder): one invoice, its balance
 * and a Pay button, without signing in. Shows nothing else about the family.
 */
export default function PayLinkPage() {
  const { token = "" } = useParams();
  const [search] = useSearchParams();
  const { t, language } = useI18n();
  const [waiting, setWaiting] = useState(() => returnedFromCheckout(search));
  const invoice = useQuery(payLinkQuery(token, waiting));
  const pay = useMutation({
    mutationFn: async () => {
      const order = await payLinkOrder(token);
      const outcome = await openCheckout(order, { schoolName: invoice.data?.school_name ?? "" });
      if (outcome.kind === "completed") setWaiting(true);
      return outcome;
    },
  });
  const paid = invoice.data?.status === "paid";
  const failed = checkoutFailed(search) && !pay.isPending && !pay.data;

  useEffect(() => {
    if (paid || failed) clearPendingOrder();
  }, [paid, failed]);

  useEffect(() => {
    document.title = invoice.data ? `${t("paylink.title")} · ${invoice.data.school_name}` : t("paylink.title");
  }, [invoice.data, t]);

  const notFound = invoice.isError && isApiError(invoice.error) && invoice.error.status === 404;
  return (
    <div className="pay-link-page">
      <header className="pay-link-top">
        <span className="school-name">{invoice.data?.school_name ?? t("app.name")}</span>
        <LanguageSwitch />
      </header>
      <main id="main" className="pay-link-main">
        {invoice.isPending ? (
          <Loading />
        ) : notFound ? (
          <section className="card">
            <h1>{t("paylink.notFoundTitle")}</h1>
            <p>{t("paylink.notFoundBody")}</p>
          </section>
        ) : invoice.isError ? (
          <ErrorPanel error={invoice.error} onRetry={() => void invoice.refetch()} />
        ) : (
          <section className="card pay-link-card" aria-labelledby="pay-link-title">
            <h1 id="pay-link-title">{t("paylink.heading", { name: invoice.data.student_first_name })}</h1>
            <p className="muted">
              {invoice.data.instalment} · {invoice.data.invoice_number} ·{" "}
              {t("familyFees.dueBy", { date: formatDay(invoice.data.due_on, language) })}
            </p>
            <ul className="plain-list">
              {invoice.data.lines.map((line, index) => (
                <li key={index} className="split-row">
                  <span>
                    {line.description}
                    {line.concession > 0 && (
                      <span className="muted small"> · {t("paylink.concession", { amount: formatPaise(line.concession, language) })}</span>
                    )}
                  </span>
                  <span className="num">{formatPaise(line.amount - line.concession, language)}</span>
                </li>
              ))}
              {invoice.data.paid > 0 && (
                <li className="split-row">
                  <span>{t("invoices.paid")}</span>
                  <span className="num">{formatPaise(-invoice.data.paid, language)}</span>
                </li>
              )}
            </ul>
            <p className="split-row big-total">
              <span>{t("invoices.balance")}</span>
              <strong className="num" data-testid="pay-link-balance">
                {formatPaise(invoice.data.balance, language)}
              </strong>
            </p>
            {paid ? (
              <p className="notice success" role="status" data-testid="pay-status">
                {t("paylink.paid")}
              </p>
            ) : waiting ? (
              <p className="notice pay-status" role="status" data-testid="pay-status">
                <span className="spinner" aria-hidden="true" /> {t("paylink.confirming")}
              </p>
            ) : invoice.data.payable ? (
              <>
                <button type="button" className="button primary block pay-button" disabled={pay.isPending} onClick={() => pay.mutate()}>
                  {pay.isPending ? t("familyFees.openingCheckout") : t("familyFees.pay", { amount: formatPaise(invoice.data.balance, language) })}
                </button>
                <p className="hint">{t("familyFees.payHint")}</p>
              </>
            ) : (
              <p className="notice">{t("paylink.notPayable")}</p>
            )}
            {failed && !paid && (
              <p className="notice warning" role="alert">
                {t("familyFees.failed")}
              </p>
            )}
            {pay.isError && <ErrorPanel error={pay.error} />}
            {waiting && !paid && (
              <button type="button" className="button link" onClick={() => setWaiting(false)}>
                {t("paylink.tryAgain")}
              </button>
            )}
          </section>
        )}
      </main>
    </div>
  );
}
