import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import { ErrorPanel } from "../../components/Status";
import { useI18n } from "../../i18n";
import { formatPaise } from "../fees/money";
import { orderQuery, type OrderStatus } from "../payments/api";
import { clearPendingOrder, pendingOrder, type PendingOrder } from "../payments/checkout";

/** How long we keep asking before saying the bank is slow. */
const PATIENCE_MS = 90_000;

/**
 * Back from checkout: the order the family just paid, asked about until the
 * provider's answer reaches the school (the webhook credits it), then the outcome
 * in plain words. Shown on the child's page whose invoice was paid.
 */
export function PaymentStatus({ childInvoiceIds, onSettled }: { childInvoiceIds: string[]; onSettled: () => void }) {
  const [pending] = useState<PendingOrder | null>(() => pendingOrder());
  const mine = pending !== null && pending.invoiceIds.some((id) => childInvoiceIds.includes(id));
  if (!pending || !mine) return null;
  return <PendingOrderStatus pending={pending} onSettled={onSettled} />;
}

function PendingOrderStatus({ pending, onSettled }: { pending: PendingOrder; onSettled: () => void }) {
  const { t, language } = useI18n();
  const order = useQuery(orderQuery(pending.orderId));
  const status: OrderStatus | undefined = order.data?.status;
  const [slow, setSlow] = useState(false);
  const settledOnce = useRef(false);

  useEffect(() => {
    const timer = setTimeout(() => setSlow(true), Math.max(0, pending.startedAt + PATIENCE_MS - Date.now()));
    return () => clearTimeout(timer);
  }, [pending.startedAt]);

  useEffect(() => {
    if (status && status !== "created" && !settledOnce.current) {
      settledOnce.current = true;
      clearPendingOrder();
      onSettled();
    }
  }, [status, onSettled]);

  const amount = formatPaise(pending.amount, language);
  if (order.isError) return <ErrorPanel error={order.error} onRetry={() => void order.refetch()} />;
  if (!status || status === "created") {
    return (
      <div className="notice pay-status" role="status" data-testid="pay-status">
        <span className="spinner" aria-hidden="true" /> {slow ? t("familyFees.stillWaiting", { amount }) : t("familyFees.confirming", { amount })}
      </div>
    );
  }
  const text = {
    paid: t("familyFees.paid", { amount }),
    failed: t("familyFees.failed"),
    flagged: t("familyFees.flagged"),
    expired: t("familyFees.expired"),
  }[status];
  return (
    <div className={`notice pay-status ${status === "paid" ? "success" : "warning"}`} role="status" data-testid="pay-status">
      {text}
    </div>
  );
}
