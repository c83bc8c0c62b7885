import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { formatPaise, paiseToInput, parseRupees } from "../fees/money";
import { useCurrentUser } from "../identity/currentUser";
import { invoicesQuery, isOpen, type Invoice } from "../invoices/api";
import { AccessDenied } from "../../app/guards";
import { BillingNav } from "../invoices/BillingNav";
import { useSchoolToday } from "../schools/useSchoolToday";
import { studentQuery } from "../students/api";
import { classSection } from "../students/api";
import { COUNTER_METHODS, recordPayment, type CounterMethod, type CounterPaymentInput, type Receipt } from "./api";
import { useIdempotencyKey } from "./idempotency";
import { ReceiptCard } from "./ReceiptCard";
import { StudentPicker, type PickedStudent } from "./StudentPicker";
import "../fees/fees.css";

export interface CounterForm {
  student: PickedStudent | null;
  amount: string;
  method: CounterMethod;
  reference: string;
  receivedOn: string;
  invoiceIds: string[];
}

export type CounterProblem = "student" | "amount" | "reference" | "date";

/** What is wrong with the form, field by field, before anything is sent. */
export function checkCounterForm(form: CounterForm, today: string): CounterProblem[] {
  const problems: CounterProblem[] = [];
  if (!form.student) problems.push("student");
  const paise = parseRupees(form.amount);
  if (paise === null || paise <= 0) problems.push("amount");
  if (form.method !== "cash" && !form.reference.trim()) problems.push("reference");
  if (!form.receivedOn || form.receivedOn > today) problems.push("date");
  return problems;
}

export function counterBody(form: CounterForm): CounterPaymentInput | null {
  const amount = parseRupees(form.amount);
  if (!form.student || amount === null) return null;
  return {
    student_id: form.student.id,
    amount,
    method: form.method,
    reference: form.method === "cash" ? null : form.reference.trim() || null,
    received_on: form.receivedOn,
    invoice_ids: form.invoiceIds.length > 0 ? form.invoiceIds : null,
  };
}

/** Money at the counter: find the student, tick what is being paid, record, hand over the receipt. */
export default function CounterPaymentPage() {
  const { t } = useI18n();
  const me = useCurrentUser();
  const [params] = useSearchParams();
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const [formKey, setFormKey] = useState(0);
  if (!me.permissions.includes("payments:record")) return <AccessDenied />;
  return (
    <>
      <PageHeader title={t("payments.recordTitle")} />
      <BillingNav />
      {receipt ? (
        <>
          <ReceiptCard receipt={receipt} />
          <div className="toolbar">
            <button
              type="button"
              className="button primary"
              onClick={() => {
                setReceipt(null);
                setFormKey((key) => key + 1);
              }}
            >
              {t("payments.recordAnother")}
            </button>
            <Link className="button" to={`/invoices?student=${receipt.student_id}`}>
              {t("payments.studentInvoices")}
            </Link>
          </div>
        </>
      ) : (
        <CounterPaymentForm
          key={formKey}
          initialStudentId={formKey === 0 ? params.get("student") : null}
          initialInvoiceId={formKey === 0 ? params.get("invoice") : null}
          onRecorded={setReceipt}
        />
      )}
    </>
  );
}

function CounterPaymentForm({
  initialStudentId,
  initialInvoiceId,
  onRecorded,
}: {
  initialStudentId: string | null;
  initialInvoiceId: string | null;
  onRecorded: (receipt: Receipt) => void;
}) {
  const { t, language } = useI18n();
  const today = useSchoolToday();
  const queryClient = useQueryClient();
  const preset = useQuery({ ...studentQuery(initialStudentId ?? ""), enabled: Boolean(initialStudentId) });
  const [form, setForm] = useState<CounterForm>({
    student: null,
    amount: "",
    method: "cash",
    reference: "",
    receivedOn: today,
    invoiceIds: initialInvoiceId ? [initialInvoiceId] : [],
  });
  const [showProblems, setShowProblems] = useState(false);
  const [amountTouched, setAmountTouched] = useState(false);
  const set = (changes: Partial<CounterForm>) => setForm((current) => ({ ...current, ...changes }));

  useEffect(() => {
    if (preset.data && !form.student) {
      set({ student: { id: preset.data.id, name: preset.data.name, admission_number: preset.data.admission_number, class_section: classSection(preset.data) } });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [preset.data]);

  const openInvoices = useQuery({
    ...invoicesQuery({ student_id: form.student?.id, limit: 100 }),
    enabled: Boolean(form.student),
    placeholderData: undefined,
  });
  const open = useMemo(
    () => (openInvoices.data?.items ?? []).filter(isOpen).sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : 0)),
    [openInvoices.data],
  );
  const chosen = open.filter((invoice) => form.invoiceIds.includes(invoice.id));
  const suggested = (chosen.length > 0 ? chosen : open).reduce((sum, invoice) => sum + invoice.balance, 0);

  // The amount follows the ticked invoices until the cashier types their own.
  useEffect(() => {
    if (!amountTouched && suggested > 0) set({ amount: paiseToInput(suggested) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [suggested, amountTouched]);

  const body = counterBody(form);
  const idempotencyKey = useIdempotencyKey(body);
  const record = useMutation({
    mutationFn: (payment: CounterPaymentInput) => recordPayment(payment, idempotencyKey),
    onSuccess: (receipt) => {
      void queryClient.invalidateQueries({ queryKey: ["invoices"] });
      void queryClient.invalidateQueries({ queryKey: ["payments"] });
      void queryClient.invalidateQueries({ queryKey: ["fee-reports"] });
      onRecorded(receipt);
    },
  });
  const problems = checkCounterForm(form, today);
  const shown = showProblems ? problems : [];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setShowProblems(true);
    if (problems.length === 0 && body) record.mutate(body);
  };
  const amountPaise = parseRupees(form.amount);
  const advance = amountPaise !== null && suggested > 0 && amountPaise > suggested ? amountPaise - suggested : 0;

  return (
    <form className="card counter-form" onSubmit={submit} aria-label={t("payments.recordTitle")} noValidate>
      {initialStudentId && preset.isPending && !form.student ? (
        <Loading />
      ) : (
        <StudentPicker
          picked={form.student}
          onPick={(student) => {
            set({ student, invoiceIds: [] });
            setAmountTouched(false);
            if (!student) set({ amount: "" });
          }}
        />
      )}
      {shown.includes("student") && (
        <p className="form-error" role="alert">
          {t("payments.problem.student")}
        </p>
      )}
      {form.student && (
        <fieldset className="fieldset">
          <legend>{t("payments.whatIsPaid")}</legend>
          {openInvoices.isPending ? (
            <Loading />
          ) : openInvoices.isError ? (
            <ErrorPanel error={openInvoices.error} onRetry={() => void openInvoices.refetch()} />
          ) : open.length === 0 ? (
            <p className="muted">{t("payments.nothingDue")}</p>
          ) : (
            <>
              <p className="hint">{t("payments.tickHint")}</p>
              <ul className="plain-list invoice-ticks">
                {open.map((invoice) => (
                  <InvoiceTick
                    key={invoice.id}
                    invoice={invoice}
                    today={today}
                    checked={form.invoiceIds.includes(invoice.id)}
                    onChange={(checked) =>
                      set({ invoiceIds: checked ? [...form.invoiceIds, invoice.id] : form.invoiceIds.filter((id) => id !== invoice.id) })
                    }
                  />
                ))}
              </ul>
              <p className="stat-line">
                {t("payments.dueNow", { amount: formatPaise(suggested, language) })}
              </p>
            </>
          )}
        </fieldset>
      )}
      <div className="field-grid two">
        <div>
          <label htmlFor="pay-amount">{t("payments.amount")}</label>
          <div className="rupee-input">
            <span aria-hidden="true">₹</span>
            <input
              id="pay-amount"
              type="text"
              inputMode="decimal"
              autoComplete="off"
              value={form.amount}
              aria-invalid={shown.includes("amount") || undefined}
              aria-describedby="pay-amount-hint"
              onChange={(event) => {
                setAmountTouched(true);
                set({ amount: event.target.value });
              }}
            />
          </div>
          <p id="pay-amount-hint" className={shown.includes("amount") ? "form-error" : "hint"} role={shown.includes("amount") ? "alert" : undefined}>
            {shown.includes("amount")
              ? t("payments.problem.amount")
              : advance > 0
                ? t("payments.advanceHint", { amount: formatPaise(advance, language) })
                : t("payments.amountHint")}
          </p>
        </div>
        <div>
          <label htmlFor="pay-date">{t("payments.receivedOn")}</label>
          <input
            id="pay-date"
            type="date"
            value={form.receivedOn}
            max={today}
            aria-invalid={shown.includes("date") || undefined}
            onChange={(event) => set({ receivedOn: event.target.value })}
          />
          {shown.includes("date") && (
            <p className="form-error" role="alert">
              {t("payments.problem.date")}
            </p>
          )}
        </div>
      </div>
      <fieldset className="fieldset">
        <legend>{t("payments.method")}</legend>
        <div className="chip-group" role="radiogroup" aria-label={t("payments.method")}>
          {COUNTER_METHODS.map((method) => (
            <button key={method} type="button" role="radio" className="chip" aria-checked={form.method === method} onClick={() => set({ method })}>
              {t(`payments.methods.${method}`)}
            </button>
          ))}
        </div>
        {form.method !== "cash" && (
          <>
            <label htmlFor="pay-reference">{t(`payments.reference.${form.method}`)}</label>
            <input
              id="pay-reference"
              type="text"
              autoComplete="off"
              maxLength={100}
              value={form.reference}
              aria-invalid={shown.includes("reference") || undefined}
              onChange={(event) => set({ reference: event.target.value })}
            />
            {shown.includes("reference") && (
              <p className="form-error" role="alert">
                {t("payments.problem.reference")}
              </p>
            )}
          </>
        )}
      </fieldset>
      {record.isError && <ErrorPanel error={record.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary big" disabled={record.isPending}>
          {record.isPending
            ? t("payments.recording")
            : amountPaise
              ? t("payments.recordAmount", { amount: formatPaise(amountPaise, language) })
              : t("payments.record")}
        </button>
      </div>
    </form>
  );
}

function InvoiceTick({ invoice, today, checked, onChange }: { invoice: Invoice; today: string; checked: boolean; onChange: (checked: boolean) => void }) {
  const { t, language } = useI18n();
  const overdue = invoice.due_on < today;
  return (
    <li>
      <label className="checkbox invoice-tick">
        <input type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} />
        <span className="tick-text">
          <span>
            {invoice.instalment_name} · {invoice.number}
          </span>
          <span className="muted small">
            {t("generate.due", { date: formatDay(invoice.due_on, language) })}
            {overdue ? ` · ${t("invoices.overdue")}` : ""}
          </span>
        </span>
        <strong className="num">{formatPaise(invoice.balance, language)}</strong>
      </label>
    </li>
  );
}
