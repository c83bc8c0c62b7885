import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { useDebounced } from "../../hooks/useDebounced";
import { useT } from "../../i18n";
import { yearsQuery } from "../academics/api";
import { useCurrentUser } from "../identity/currentUser";
import {
  applyPromotion,
  classSection,
  previewPromotion,
  studentsQuery,
  type PromotionInput,
  type PromotionPreview,
  type Student,
} from "./api";

type Exception = "held_back" | "leaving";
type Picked = Record<string, { student: Student; as: Exception }>;

/** Year-end promotion: everyone moves up a class, except the named few held back or leaving. */
export default function PromotionPage() {
  const t = useT();
  const me = useCurrentUser();
  const years = useQuery(yearsQuery);
  const [yearId, setYearId] = useState("");
  const [picked, setPicked] = useState<Picked>({});
  const queryClient = useQueryClient();

  const body = (): PromotionInput => ({
    to_academic_year_id: yearId,
    held_back: Object.keys(picked).filter((id) => picked[id].as === "held_back"),
    leaving: Object.keys(picked).filter((id) => picked[id].as === "leaving"),
  });
  const preview = useMutation({ mutationFn: () => previewPromotion(body()) });
  const apply = useMutation({
    mutationFn: () => applyPromotion(body()),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["students"] }),
  });
  const changed = () => {
    preview.reset();
    apply.reset();
  };

  if (years.isPending) return <Loading />;
  if (years.isError) return <ErrorPanel error={years.error} onRetry={() => void years.refetch()} />;
  const targets = years.data.filter((year) => !year.is_current);
  const current = years.data.find((year) => year.is_current);

  return (
    <>
      <PageHeader title={t("promotion.title")}>
        <p className="page-subtitle">
          <Link to="/students">{t("students.backToList")}</Link>
        </p>
      </PageHeader>
      {targets.length === 0 ? (
        <EmptyState
          title={t("promotion.noYearTitle")}
          action={
            me.permissions.includes("settings:manage") ? (
              <Link className="button primary" to="/settings/years">
                {t("promotion.addYear")}
              </Link>
            ) : undefined
          }
        >
          {t("promotion.noYearBody", { year: current?.name ?? "" })}
        </EmptyState>
      ) : (
        <>
          <section className="card" aria-labelledby="promotion-year">
            <h2 id="promotion-year">{t("promotion.step1")}</h2>
            <label htmlFor="promotion-target">{t("promotion.toYear")}</label>
            <select
              id="promotion-target"
              value={yearId}
              onChange={(event) => {
                setYearId(event.target.value);
                changed();
              }}
            >
              <option value="">{t("promotion.chooseYear")}</option>
              {targets.map((year) => (
                <option key={year.id} value={year.id}>
                  {year.name}
                </option>
              ))}
            </select>
          </section>
          <ExceptionPicker
            picked={picked}
            onChange={(next) => {
              setPicked(next);
              changed();
            }}
          />
          <section className="card" aria-labelledby="promotion-check">
            <h2 id="promotion-check">{t("promotion.step3")}</h2>
            <button type="button" className="button" disabled={!yearId || preview.isPending} onClick={() => preview.mutate()}>
              {t("promotion.preview")}
            </button>
            {preview.isError && <ErrorPanel error={preview.error} />}
            {preview.data && <PreviewTable preview={preview.data} />}
            {preview.data && !apply.isSuccess && (
              <button type="button" className="button primary" disabled={apply.isPending} onClick={() => apply.mutate()}>
                {apply.isPending ? t("promotion.applying") : t("promotion.apply", { year: preview.data.to_academic_year })}
              </button>
            )}
            {apply.isError && <ErrorPanel error={apply.error} />}
            {apply.data && (
              <p className="notice" role="status">
                {t("promotion.done", {
                  enrolled: apply.data.enrolled,
                  left: apply.data.marked_left,
                  alumni: apply.data.marked_alumni,
                })}
              </p>
            )}
          </section>
        </>
      )}
    </>
  );
}

function ExceptionPicker({ picked, onChange }: { picked: Picked; onChange: (next: Picked) => void }) {
  const t = useT();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim());
  const found = useQuery({ ...studentsQuery({ q, status: "active" }), enabled: q.length >= 2 });
  const mark = (student: Student, as: Exception) => onChange({ ...picked, [student.id]: { student, as } });
  const unmark = (id: string) => {
    const next = { ...picked };
    delete next[id];
    onChange(next);
  };
  const chosen = Object.values(picked);
  return (
    <section className="card" aria-labelledby="promotion-exceptions">
      <h2 id="promotion-exceptions">{t("promotion.step2")}</h2>
      <p className="hint">{t("promotion.exceptionsHint")}</p>
      {chosen.length > 0 && (
        <ul className="plain-list">
          {chosen.map(({ student, as }) => (
            <li key={student.id} className="picked">
              <span>
                {student.name} <span className="muted">({classSection(student) ?? "—"})</span> —{" "}
                {as === "held_back" ? t("promotion.heldBack") : t("promotion.leaving")}
              </span>
              <button type="button" className="button link" onClick={() => unmark(student.id)}>
                {t("promotion.remove", { name: student.name })}
              </button>
            </li>
          ))}
        </ul>
      )}
      <label htmlFor="promotion-search">{t("promotion.findStudent")}</label>
      <input id="promotion-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      {found.data && (
        <ul className="plain-list">
          {found.data.items.slice(0, 10).map((student) => (
            <li key={student.id} className="picked">
              <span>
                {student.name} <span className="muted">({classSection(student) ?? "—"} · {student.admission_number})</span>
              </span>
              <span className="toolbar">
                <button type="button" className="button" onClick={() => mark(student, "held_back")}>
                  {t("promotion.holdBack")}
                </button>
                <button type="button" className="button" onClick={() => mark(student, "leaving")}>
                  {t("promotion.markLeaving")}
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function PreviewTable({ preview }: { preview: PromotionPreview }) {
  const t = useT();
  return (
    <>
      <p role="status">
        {t("promotion.summary", {
          from: preview.from_academic_year,
          to: preview.to_academic_year,
          promoted: preview.promoted,
          held: preview.held_back,
          leaving: preview.leaving,
          graduating: preview.graduating,
        })}
      </p>
      {preview.sections_to_create.length > 0 && (
        <p className="hint">{t("promotion.newSections", { sections: preview.sections_to_create.join(", ") })}</p>
      )}
      <div className="table-scroll">
        <table className="records">
          <thead>
            <tr>
              <th scope="col">{t("promotion.from")}</th>
              <th scope="col">{t("promotion.to")}</th>
              <th scope="col">{t("promotion.promoted")}</th>
              <th scope="col">{t("promotion.heldBack")}</th>
              <th scope="col">{t("promotion.leaving")}</th>
            </tr>
          </thead>
          <tbody>
            {preview.moves.map((move) => (
              <tr key={move.from_section_id}>
                <th scope="row">{move.from_label}</th>
                <td data-label={t("promotion.to")}>{move.to_label ?? t("promotion.graduates")}</td>
                <td data-label={t("promotion.promoted")}>{move.promoted + move.graduating}</td>
                <td data-label={t("promotion.heldBack")}>{move.held_back}</td>
                <td data-label={t("promotion.leaving")}>{move.leaving}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
