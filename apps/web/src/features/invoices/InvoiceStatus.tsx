import { useT, type MessageKey } from "../../i18n";
import { isOverdue, type Invoice } from "./api";

/** An invoice's status in words, with "overdue" when it is open past its due date. */
export function InvoiceStatusBadge({ invoice, today }: { invoice: Pick<Invoice, "status" | "balance" | "due_on">; today?: string }) {
  const t = useT();
  const overdue = today !== undefined && isOverdue(invoice, today);
  return (
    <span className={`status invoice-status status-${invoice.status}${overdue ? " status-overdue" : ""}`}>
      {t(`invoices.status.${invoice.status}` as MessageKey)}
      {overdue && ` · ${t("invoices.overdue")}`}
    </span>
  );
}
