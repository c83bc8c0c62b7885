import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { JobProgress } from "../../components/JobProgress";
import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay, formatNumber } from "../../format";
import { useI18n } from "../../i18n";
import { classesQuery, sectionsQuery } from "../academics/api";
import { instalmentsQuery } from "../fees/api";
import { formatPaise } from "../fees/money";
import { jobQuery } from "../jobs/api";
import { useIdempotencyKey } from "../payments/idempotency";
import { StudentPicker, type PickedStudent } from "../payments/StudentPicker";
import { generateInvoices, previewInvoices, type GenerationPreview, type InvoiceScope } from "./api";
import { BillingNav } from "./BillingNav";
import "../fees/fees.css";

type ScopeKind = "class" | "section" | "student" | "school";
const SCOPE_KINDS: readonly ScopeKind[] = ["class", "section", "student", "school"];

export function scopeFor(kind: ScopeKind, ids: { classId: string; sectionId: string; student: PickedStudent | null }): InvoiceScope | null {
  switch (kind) {
    case "class":
      return ids.classId ? { class_id: ids.classId } : null;
    case "section":
      return ids.sectionId ? { section_id: ids.sectionId } : null;
    case "student":
      return ids.student ? { student_id: ids.student.id } : null;
    case "school":
      return { school: true };
  }
}

/** An invoice run in three steps: what and for whom, check the preview, then generate as a job with progress. */
export default function GeneratePage() {
  const { t, language } = useI18n();
  const instalments = useQuery(instalmentsQuery);
  const classes = useQuery(classesQuery);
  const sections = useQuery(sectionsQuery);
  const [instalmentId, setInstalmentId] = useState("");
  const [kind, setKind] = useState<ScopeKind>("class");
  const [classId, setClassId] = useState("");
  const [sectionId, setSectionId] = useState("");
  const [student, setStudent] = useState<PickedStudent | null>(null);
  const scope = scopeFor(kind, { classId, sectionId, student });
  const body = instalmentId && scope ? { instalment_id: instalmentId, scope } : null;
  const idempotencyKey = useIdempotencyKey(body);
  const preview = useMutation({ mutationFn: previewInvoices });
  const generate = useMutation({ mutationFn: (b: NonNullable<typeof body>) => generateInvoices(b, idempotencyKey) });

  // A preview is for one choice: changing the choice asks again.
  useEffect(() => {
    preview.reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(body)]);

  if (instalments.isPending) return <Loading />;
  if (instalments.isError) return <ErrorPanel error={instalments.error} onRetry={() => void instalments.refetch()} />;

  const running = generate.data !== undefined;
  return (
    <>
      <PageHeader title={t("generate.title")} />
      <BillingNav />
      {instalments.data.items.length === 0 ? (
        <EmptyState
          title={t("generate.noInstalmentsTitle")}
          action={
            <Link className="button primary" to="/fees?tab=instalments">
              {t("generate.setUpFees")}
            </Link>
          }
        >
          {t("generate.noInstalmentsBody")}
        </EmptyState>
      ) : (
        <form
          className="card generate-form"
          aria-labelledby="generate-what"
          onSubmit={(event) => {
            event.preventDefault();
            if (body) preview.mutate(body);
          }}
        >
          <h2 id="generate-what">{t("generate.step1")}</h2>
          <label htmlFor="gen-instalment">{t("invoices.instalment")}</label>
          <select id="gen-instalment" value={instalmentId} disabled={running} onChange={(e) => setInstalmentId(e.target.value)}>
            <option value="">{t("generate.chooseInstalment")}</option>
            {instalments.data.items.map((instalment) => (
              <option key={instalment.id} value={instalment.id}>
                {instalment.name} · {t("generate.due", { date: formatDay(instalment.due_on, language) })}
              </option>
            ))}
          </select>
          <fieldset className="fieldset">
            <legend>{t("generate.for")}</legend>
            <div className="chip-group" role="radiogroup" aria-label={t("generate.for")}>
              {SCOPE_KINDS.map((option) => (
                <button
                  key={option}
                  type="button"
                  role="radio"
                  className="chip"
                  aria-checked={kind === option}
                  disabled={running}
                  onClick={() => setKind(option)}
                >
                  {t(`generate.scope.${option}`)}
                </button>
              ))}
            </div>
            {kind === "class" && (
              <>
                <label htmlFor="gen-class">{t("invoices.class")}</label>
                <select id="gen-class" value={classId} disabled={running} onChange={(e) => setClassId(e.target.value)}>
                  <option value="">{t("generate.chooseClass")}</option>
                  {(classes.data ?? []).map((schoolClass) => (
                    <option key={schoolClass.id} value={schoolClass.id}>
                      {schoolClass.name}
                    </option>
                  ))}
                </select>
              </>
            )}
            {kind === "section" && (
              <>
                <label htmlFor="gen-section">{t("invoices.section")}</label>
                <select id="gen-section" value={sectionId} disabled={running} onChange={(e) => setSectionId(e.target.value)}>
                  <option value="">{t("generate.chooseSection")}</option>
                  {(sections.data ?? []).map((section) => (
                    <option key={section.id} value={section.id}>
                      {section.label}
                    </option>
                  ))}
                </select>
              </>
            )}
            {kind === "student" && <StudentPicker picked={student} onPick={setStudent} />}
            {kind === "school" && <p className="hint">{t("generate.schoolHint")}</p>}
          </fieldset>
          <div className="toolbar">
            <button type="submit" className="button primary" disabled={!body || preview.isPending || running}>
              {preview.isPending ? t("generate.previewing") : t("generate.preview")}
            </button>
          </div>
          {preview.isError && <ErrorPanel error={preview.error} />}
        </form>
      )}
      {preview.data && body && (
        <PreviewCard
          preview={preview.data}
          starting={generate.isPending}
          started={running}
          onGenerate={() => generate.mutate(body)}
        />
      )}
      {generate.isError && <ErrorPanel error={generate.error} />}
      {generate.data && <GenerationRunning jobId={generate.data.job_id} instalmentId={instalmentId} scope={scope} />}
    </>
  );
}

function PreviewCard({
  preview,
  starting,
  started,
  onGenerate,
}: {
  preview: GenerationPreview;
  starting: boolean;
  started: boolean;
  onGenerate: () => void;
}) {
  const { t, language } = useI18n();
  return (
    <section className="card" aria-labelledby="generate-preview" aria-live="polite">
      <h2 id="generate-preview">{t("generate.step2")}</h2>
      <dl className="figures">
        <div>
          <dt>{t("generate.newInvoices")}</dt>
          <dd data-testid="preview-count">{formatNumber(preview.count, language)}</dd>
        </div>
        <div>
          <dt>{t("generate.totalBilled")}</dt>
          <dd data-testid="preview-total">{formatPaise(preview.total, language)}</dd>
        </div>
        <div>
          <dt>{t("generate.concessions")}</dt>
          <dd>{formatPaise(preview.concession, language)}</dd>
        </div>
        <div>
          <dt>{t("generate.alreadyInvoiced")}</dt>
          <dd>{formatNumber(preview.already_invoiced, language)}</dd>
        </div>
      </dl>
      {preview.count === 0 ? (
        <p className="notice">{preview.already_invoiced > 0 ? t("generate.nothingNewAllDone") : t("generate.nothingNew")}</p>
      ) : (
        <>
          <p className="hint">{t("generate.safeToRepeat")}</p>
          <button type="button" className="button primary" disabled={starting || started} onClick={onGenerate}>
            {starting ? t("generate.starting") : t("generate.generateCount", { count: formatNumber(preview.count, language) })}
          </button>
        </>
      )}
    </section>
  );
}

function GenerationRunning({ jobId, instalmentId, scope }: { jobId: string; instalmentId: string; scope: InvoiceScope | null }) {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const job = useQuery(jobQuery(jobId));
  const done = job.data?.status === "done";
  useEffect(() => {
    if (done) {
      void queryClient.invalidateQueries({ queryKey: ["invoices"] });
      void queryClient.invalidateQueries({ queryKey: ["fee-reports"] });
    }
  }, [done, queryClient]);
  const result = job.data?.result as
    | { created?: number; first_number?: string | null; last_number?: string | null; advance_applied?: number }
    | null
    | undefined;
  const listParams = new URLSearchParams({ instalment: instalmentId });
  if (scope && "class_id" in scope) listParams.set("class", scope.class_id);
  if (scope && "section_id" in scope) listParams.set("section", scope.section_id);
  if (scope && "student_id" in scope) listParams.set("student", scope.student_id);
  return (
    <section className="card" aria-labelledby="generate-run">
      <h2 id="generate-run">{t("generate.step3")}</h2>
      <JobProgress jobId={jobId} label={t("generate.running")} />
      {done && result && (
        <>
          <p className="notice success" role="status">
            {t("generate.doneCount", { count: formatNumber(result.created ?? 0, language) })}
            {result.first_number && result.last_number ? ` (${result.first_number} – ${result.last_number})` : ""}
            {result.advance_applied ? ` ${t("generate.advanceApplied", { amount: formatPaise(result.advance_applied, language) })}` : ""}
          </p>
          <Link className="button primary" to={`/invoices?${listParams.toString()}`}>
            {t("generate.seeInvoices")}
          </Link>
        </>
      )}
    </section>
  );
}
