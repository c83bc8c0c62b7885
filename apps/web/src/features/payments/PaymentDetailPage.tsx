import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { formatPaise, paiseToInput, parseRupees } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { BillingNav } from "../invoices/BillingNav";
import { ReasonForm } from "../invoices/ReasonForm";
import { downloadReceipt, paymentQuery, refundPayment } from "./api";
import { newIdempotencyKey } from "./idempotency";
import { methodLabel } from "./methodLabel";
import "../fees/fees.css";

const ONLINE = new Set(["razorpay", "stripe"]);

export default function PaymentDetailPage() {
  const { paymentId = "" } = useParams();
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const queryClient = useQueryClient();
  const payment = useQuery(paymentQuery(paymentId));
  const pdf = useMutation({ mutationFn: downloadReceipt });
  const [refunding, setRefunding] = useState(false);
  const [refundAmount, setRefundAmount] = useState("");
  const [refundKey, setRefundKey] = useState(newIdempotencyKey);
  const refund = useMutation({
    mutationFn: (reason: string) => refundPayment(paymentId, { amount: parseRupees(refundAmount) ?? 0, reason }, refundKey),
    onSuccess: (updated) => {
      queryClient.setQueryData(paymentQuery(paymentId).queryKey, updated);
      void queryClient.invalidateQueries({ queryKey: ["payments", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["invoices"] });
      void queryClient.invalidateQueries({ queryKey: ["fee-reports"] });
      setRefunding(false);
      setRefundKey(newIdempotencyKey());
    },
  });

  if (payment.isPending) return <Loading />;
  if (payment.isError) {
    return (
      <>
        <PageHeader title={t("payments.title")} />
        <BillingNav />
        <ErrorPanel error={payment.error} onRetry={() => void payment.refetch()} />
      </>
    );
  }
  const data = payment.data;
  const refundable = data.amount - data.refunded;
  const canRefund = me.permissions.includes("payments:record") && !ONLINE.has(data.method) && refundable > 0;
  return (
    <>
      <PageHeader title={t("payments.detailTitle", { label: data.receipt_label ?? t("payments.receiptNumbering") })}>
        <p className="page-subtitle">
          <Link to={`/invoices?student=${data.student_id}`}>{data.student_name}</Link> · {data.admission_number}
        </p>
      </PageHeader>
      <BillingNav />
      <section className="card" aria-labelledby="payment-summary">
        <h2 id="payment-summary">{formatPaise(data.amount, language)}</h2>
        <dl className="figures">
          <div>
            <dt>{t("payments.receivedOn")}</dt>
            <dd>{formatDay(data.received_on, language)}</dd>
          </div>
          <div>
            <dt>{t("payments.method")}</dt>
            <dd>
              {methodLabel(data.method, t)}
              {data.reference ? ` · ${data.reference}` : ""}
            </dd>
          </div>
          {data.refunded > 0 && (
            <div>
              <dt>{t("payments.refunded")}</dt>
              <dd className="num">{formatPaise(data.refunded, language)}</dd>
            </div>
          )}
        </dl>
        <h3>{t("payments.paidTowards")}</h3>
        <ul className="plain-list">
          {data.allocations.map((allocation) => (
            <li key={allocation.invoice_id} className="split-row">
              <Link to={`/invoices/${allocation.invoice_id}`}>{allocation.invoice_number}</Link>
              <span className="num">{formatPaise(allocation.amount, language)}</span>
            </li>
          ))}
          {data.advance > 0 && (
            <li className="split-row">
              <span>{t("payments.advance")}</span>
              <span className="num">{formatPaise(data.advance, language)}</span>
            </li>
          )}
        </ul>
        <div className="toolbar">
          <button type="button" className="button primary" disabled={pdf.isPending} onClick={() => pdf.mutate({ id: data.id, label: data.receipt_label })}>
            {pdf.isPending ? t("billing.preparingPdf") : t("payments.downloadReceipt")}
          </button>
          {canRefund && !refunding && (
            <button
              type="button"
              className="button danger-outline"
              onClick={() => {
                setRefundAmount(paiseToInput(refundable));
                setRefunding(true);
              }}
            >
              {t("payments.refund")}
            </button>
          )}
        </div>
        {pdf.isError && <ErrorPanel error={pdf.error} />}
      </section>
      {refunding && (
        <ReasonForm
          title={t("payments.refundTitle")}
          explanation={t("payments.refundExplain")}
          confirmLabel={t("payments.refundConfirm")}
          pending={refund.isPending}
          error={refund.error}
          onConfirm={(reason) => {
            const paise = parseRupees(refundAmount);
            if (paise !== null && paise > 0 && paise <= refundable) refund.mutate(reason);
          }}
          onClose={() => {
            refund.reset();
            setRefunding(false);
          }}
        >
          <label htmlFor="refund-amount">{t("payments.refundAmount", { max: formatPaise(refundable, language) })}</label>
          <input id="refund-amount" type="text" inputMode="decimal" value={refundAmount} onChange={(event) => setRefundAmount(event.target.value)} />
        </ReasonForm>
      )}
    </>
  );
}
