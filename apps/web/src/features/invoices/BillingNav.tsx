import { NavLink } from "react-router";

import { useT } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";

/** Invoices, payments and the invoice run: one area, a tab each. */
export function BillingNav() {
  const t = useT();
  const me = useCurrentUser();
  return (
    <nav className="subnav" aria-label={t("billing.sections")}>
      <NavLink to="/invoices" end>
        {t("billing.invoices")}
      </NavLink>
      <NavLink to="/payments" end>
        {t("billing.payments")}
      </NavLink>
      {me.permissions.includes("payments:record") && <NavLink to="/payments/new">{t("billing.recordPayment")}</NavLink>}
      {me.permissions.includes("fees:manage") && <NavLink to="/invoices/generate">{t("billing.generate")}</NavLink>}
    </nav>
  );
}
