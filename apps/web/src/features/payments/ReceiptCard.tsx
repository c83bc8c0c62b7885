import { useMutation } from "@tanstack/react-query";

import { ErrorPanel } from "../../components/Status";
import { useI18n } from "../../i18n";
import { formatPaise } from "../fees/money";
import { downloadReceipt, type Receipt } from "./api";

/** What the counter hands the family: receipt number, where the money went, and the PDF. */
export function ReceiptCard({ receipt }: { receipt: Receipt }) {
  const { t, language } = useI18n();
  const pdf = useMutation({ mutationFn: downloadReceipt });
  return (
    <section className="card receipt-card" aria-labelledby="receipt-title">
      <h2 id="receipt-title" role="status">
        {t("payments.recorded", { label: receipt.receipt_label })}
      </h2>
      <p className="big-amount">{formatPaise(receipt.amount, language)}</p>
      <ul className="plain-list">
        {receipt.allocations.map((allocation) => (
          <li key={allocation.invoice_id} className="split-row">
            <span>{t("payments.towards", { number: allocation.invoice_number })}</span>
            <span className="num">{formatPaise(allocation.amount, language)}</span>
          </li>
        ))}
        {receipt.advance > 0 && (
          <li className="split-row">
            <span>{t("payments.advance")}</span>
            <span className="num">{formatPaise(receipt.advance, language)}</span>
          </li>
        )}
      </ul>
      <button
        type="button"
        className="button primary"
        disabled={pdf.isPending}
        onClick={() => pdf.mutate({ id: receipt.payment_id, label: receipt.receipt_label })}
      >
        {pdf.isPending ? t("billing.preparingPdf") : t("payments.downloadReceipt")}
      </button>
      {pdf.isError && <ErrorPanel error={pdf.error} />}
    </section>
  );
}
