import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { Pager } from "../../components/Pager";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay, formatNumber } from "../../format";
import { useI18n, type MessageKey } from "../../i18n";
import { classesQuery, sectionsQuery } from "../academics/api";
import { instalmentsQuery } from "../fees/api";
import { formatPaise } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { useSchoolToday } from "../schools/useSchoolToday";
import { INVOICE_PAGE_SIZE, INVOICE_STATUSES, invoicesQuery, type InvoiceFilters, type InvoiceStatus } from "./api";
import { BillingNav } from "./BillingNav";
import { InvoiceStatusBadge } from "./InvoiceStatus";
import "../fees/fees.css";

/** Filters live in the address, so Back and a shared link show the same list. */
export function useInvoiceFilters(): [InvoiceFilters, (changes: Partial<InvoiceFilters>) => void] {
  const [params, setParams] = useSearchParams();
  const filters: InvoiceFilters = {
    status: (params.get("status") as InvoiceStatus | null) ?? undefined,
    class_id: params.get("class") ?? undefined,
    section_id: params.get("section") ?? undefined,
    instalment_id: params.get("instalment") ?? undefined,
    student_id: params.get("student") ?? undefined,
    overdue: params.get("overdue") === "1" ? true : undefined,
    offset: Number(params.get("offset") ?? 0) || 0,
  };
  const update = (changes: Partial<InvoiceFilters>) => {
    const next = { ...filters, offset: 0, ...changes };
    const names: Record<string, string | number | undefined> = {
      status: next.status,
      class: next.class_id,
      section: next.section_id,
      instalment: next.instalment_id,
      student: next.student_id,
      overdue: next.overdue ? 1 : undefined,
      offset: next.offset || undefined,
    };
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(names)) if (value) search.set(key, String(value));
    setParams(search, { replace: true });
  };
  return [filters, update];
}

export default function InvoicesPage() {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const today = useSchoolToday();
  const [filters, setFilters] = useInvoiceFilters();
  const invoices = useQuery(invoicesQuery(filters));
  const canGenerate = me.permissions.includes("fees:manage");
  const filtered = Boolean(
    filters.status || filters.class_id || filters.section_id || filters.instalment_id || filters.student_id || filters.overdue,
  );

  return (
    <>
      <PageHeader title={t("invoices.title")}>
        {invoices.data && (
          <p className="page-subtitle">{t("invoices.count", { count: formatNumber(invoices.data.total, language) })}</p>
        )}
      </PageHeader>
      <BillingNav />
      <InvoiceFilterBar filters={filters} onChange={setFilters} />
      {invoices.isPending ? (
        <Loading />
      ) : invoices.isError ? (
        <ErrorPanel error={invoices.error} onRetry={() => void invoices.refetch()} />
      ) : invoices.data.items.length === 0 ? (
        filtered ? (
          <EmptyState
            title={t("invoices.noMatchTitle")}
            action={
              <button type="button" className="button" onClick={() => setFilters({ status: undefined, class_id: undefined, section_id: undefined, instalment_id: undefined, student_id: undefined, overdue: undefined })}>
                {t("invoices.clearFilters")}
              </button>
            }
          >
            {t("invoices.noMatchBody")}
          </EmptyState>
        ) : (
          <EmptyState
            title={t("invoices.emptyTitle")}
            action={
              canGenerate ? (
                <Link className="button primary" to="/invoices/generate">
                  {t("billing.generate")}
                </Link>
              ) : undefined
            }
          >
            {canGenerate ? t("invoices.emptyManager") : t("invoices.emptyBody")}
          </EmptyState>
        )
      ) : (
        <>
          <table className="records invoice-table">
            <caption className="visually-hidden">{t("invoices.title")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("invoices.student")}</th>
                <th scope="col">{t("invoices.number")}</th>
                <th scope="col">{t("invoices.classSection")}</th>
                <th scope="col">{t("invoices.instalment")}</th>
                <th scope="col">{t("invoices.dueOn")}</th>
                <th scope="col" className="num">{t("invoices.total")}</th>
                <th scope="col" className="num">{t("invoices.balance")}</th>
                <th scope="col">{t("invoices.statusLabel")}</th>
              </tr>
            </thead>
            <tbody>
              {invoices.data.items.map((invoice) => (
                <tr key={invoice.id} data-testid="invoice-row">
                  <th scope="row">
                    <Link to={`/invoices/${invoice.id}`}>{invoice.student_name}</Link>
                    <span className="muted small"> · {invoice.admission_number}</span>
                  </th>
                  <td data-label={t("invoices.number")}>{invoice.number}</td>
                  <td data-label={t("invoices.classSection")}>{invoice.section_label ?? "—"}</td>
                  <td data-label={t("invoices.instalment")}>{invoice.instalment_name}</td>
                  <td data-label={t("invoices.dueOn")}>{formatDay(invoice.due_on, language)}</td>
                  <td data-label={t("invoices.total")} className="num">
                    {formatPaise(invoice.total, language)}
                  </td>
                  <td data-label={t("invoices.balance")} className="num">
                    <strong>{formatPaise(invoice.balance, language)}</strong>
                  </td>
                  <td data-label={t("invoices.statusLabel")}>
                    <InvoiceStatusBadge invoice={invoice} today={today} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            offset={invoices.data.offset}
            limit={INVOICE_PAGE_SIZE}
            total={invoices.data.total}
            onChange={(offset) => setFilters({ ...filters, offset })}
          />
        </>
      )}
    </>
  );
}

function InvoiceFilterBar({ filters, onChange }: { filters: InvoiceFilters; onChange: (changes: Partial<InvoiceFilters>) => void }) {
  const { t, language } = useI18n();
  const classes = useQuery(classesQuery);
  const sections = useQuery(sectionsQuery);
  const instalments = useQuery(instalmentsQuery);
  const classSections = (sections.data ?? []).filter((section) => !filters.class_id || section.class_id === filters.class_id);
  return (
    <div className="filters invoice-filters" role="group" aria-label={t("invoices.filters")}>
      <div>
        <label htmlFor="inv-status">{t("invoices.statusLabel")}</label>
        <select id="inv-status" value={filters.status ?? ""} onChange={(e) => onChange({ status: (e.target.value || undefined) as InvoiceStatus | undefined })}>
          <option value="">{t("invoices.anyStatus")}</option>
          {INVOICE_STATUSES.map((status) => (
            <option key={status} value={status}>
              {t(`invoices.status.${status}` as MessageKey)}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="inv-instalment">{t("invoices.instalment")}</label>
        <select id="inv-instalment" value={filters.instalment_id ?? ""} onChange={(e) => onChange({ instalment_id: e.target.value || undefined })}>
          <option value="">{t("invoices.anyInstalment")}</option>
          {(instalments.data?.items ?? []).map((instalment) => (
            <option key={instalment.id} value={instalment.id}>
              {instalment.name} · {formatDay(instalment.due_on, language)}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="inv-class">{t("invoices.class")}</label>
        <select id="inv-class" value={filters.class_id ?? ""} onChange={(e) => onChange({ class_id: e.target.value || undefined, section_id: undefined })}>
          <option value="">{t("invoices.allClasses")}</option>
          {(classes.data ?? []).map((schoolClass) => (
            <option key={schoolClass.id} value={schoolClass.id}>
              {schoolClass.name}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="inv-section">{t("invoices.section")}</label>
        <select id="inv-section" value={filters.section_id ?? ""} onChange={(e) => onChange({ section_id: e.target.value || undefined })}>
          <option value="">{t("invoices.allSections")}</option>
          {classSections.map((section) => (
            <option key={section.id} value={section.id}>
              {section.label}
            </option>
          ))}
        </select>
      </div>
      <label className="checkbox filter-overdue">
        <input type="checkbox" checked={Boolean(filters.overdue)} onChange={(e) => onChange({ overdue: e.target.checked || undefined })} />
        {t("invoices.onlyOverdue")}
      </label>
      {filters.student_id && (
        <p className="filter-student">
          {t("invoices.oneStudent")}{" "}
          <button type="button" className="button link" onClick={() => onChange({ student_id: undefined })}>
            {t("invoices.allStudents")}
          </button>
        </p>
      )}
    </div>
  );
}
