import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { EmptyState } from "../../components/EmptyState";
import { ErrorPanel, Loading } from "../../components/Status";
import { useI18n } from "../../i18n";
import { classesQuery } from "../academics/api";
import {
  createStructure,
  deleteStructure,
  FREQUENCIES,
  headsQuery,
  instalmentsQuery,
  structureGrid,
  structuresQuery,
  type Frequency,
  type Structure,
} from "./api";
import { formatPaise, parseRupees } from "./money";
import { useCanManageFees, useFeeMutation } from "./useFeeManager";

/** What each class pays this year: heads by instalments, as on the printed fee chart. */
export function StructuresSection() {
  const { t } = useI18n();
  const canManage = useCanManageFees();
  const structures = useQuery(structuresQuery);
  const [adding, setAdding] = useState(false);
  return (
    <>
      {canManage && !adding && (
        <div className="toolbar page-actions">
          <button type="button" className="button primary" onClick={() => setAdding(true)}>
            {t("feeSetup.addStructure")}
          </button>
        </div>
      )}
      {adding && <StructureForm taken={structures.data?.items.map((s) => s.class_id) ?? []} onClose={() => setAdding(false)} />}
      {structures.isPending ? (
        <Loading />
      ) : structures.isError ? (
        <ErrorPanel error={structures.error} onRetry={() => void structures.refetch()} />
      ) : structures.data.items.length === 0 ? (
        <EmptyState title={t("fees.emptyTitle")}>{canManage ? t("feeSetup.noStructuresManager") : t("fees.emptyBody")}</EmptyState>
      ) : (
        structures.data.items.map((structure) => <StructureCard key={structure.id} structure={structure} canManage={canManage} />)
      )}
    </>
  );
}

function StructureCard({ structure, canManage }: { structure: Structure; canManage: boolean }) {
  const { t, language } = useI18n();
  const grid = structureGrid(structure);
  const [confirming, setConfirming] = useState(false);
  const remove = useFeeMutation(() => deleteStructure(structure.id));
  const headingId = `structure-${structure.id}`;
  return (
    <section className="card structure-card" aria-labelledby={headingId}>
      <h2 id={headingId}>
        {t("feeSetup.classLabel", { class: structure.class_name })} · {structure.name}
      </h2>
      <p className="stat-line">{t("feeSetup.annualTotal", { amount: formatPaise(structure.annual_total, language) })}</p>
      <div className="table-scroll" tabIndex={0} role="region" aria-label={t("feeSetup.gridLabel", { class: structure.class_name })}>
        <table className="fee-grid">
          <thead>
            <tr>
              <th scope="col">{t("feeSetup.head")}</th>
              {grid.instalments.map((instalment) => (
                <th scope="col" key={instalment.id} className="num">
                  {instalment.name}
                </th>
              ))}
              <th scope="col" className="num">
                {t("feeSetup.year")}
              </th>
            </tr>
          </thead>
          <tbody>
            {grid.rows.map((row) => (
              <tr key={row.head_id}>
                <th scope="row">{row.head_code}</th>
                {row.cells.map((cell, index) => (
                  <td key={index} className="num">
                    {cell === null ? "—" : formatPaise(cell, language)}
                  </td>
                ))}
                <td className="num">
                  <strong>{formatPaise(row.total, language)}</strong>
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{t("invoices.total")}</th>
              {grid.totals.map((total, index) => (
                <td key={index} className="num">
                  <strong>{formatPaise(total, language)}</strong>
                </td>
              ))}
              <td className="num">
                <strong>{formatPaise(structure.annual_total, language)}</strong>
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
      {canManage &&
        (confirming ? (
          <div className="toolbar">
            <span>{t("feeSetup.deleteStructureQuestion")}</span>
            <button type="button" className="button danger-outline" disabled={remove.isPending} onClick={() => remove.mutate(undefined)}>
              {t("feeSetup.deleteConfirm")}
            </button>
            <button type="button" className="button" onClick={() => setConfirming(false)}>
              {t("common.cancel")}
            </button>
          </div>
        ) : (
          <button type="button" className="button link" onClick={() => setConfirming(true)}>
            {t("feeSetup.deleteStructure")}
          </button>
        ))}
      {remove.isError && <ErrorPanel error={remove.error} />}
    </section>
  );
}

interface SplitRow {
  key: number;
  headId: string;
  amount: string;
  frequency: Frequency;
}

function StructureForm({ taken, onClose }: { taken: string[]; onClose: () => void }) {
  const { t, language } = useI18n();
  const classes = useQuery(classesQuery);
  const heads = useQuery(headsQuery);
  const instalments = useQuery(instalmentsQuery);
  const [classId, setClassId] = useState("");
  const [name, setName] = useState("");
  const [rows, setRows] = useState<SplitRow[]>([{ key: 1, headId: "", amount: "", frequency: "quarterly" }]);
  const [invalid, setInvalid] = useState(false);
  const create = useFeeMutation(createStructure, onClose);
  const activeHeads = (heads.data?.items ?? []).filter((head) => head.is_active);
  const free = (classes.data ?? []).filter((schoolClass) => !taken.includes(schoolClass.id));
  const setRow = (key: number, changes: Partial<SplitRow>) => setRows((current) => current.map((row) => (row.key === key ? { ...row, ...changes } : row)));
  const annual = rows.reduce((sum, row) => sum + (parseRupees(row.amount) ?? 0), 0);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const splits = rows.map((row) => ({ head_id: row.headId, annual_amount: parseRupees(row.amount) ?? 0, frequency: row.frequency }));
    const ok = Boolean(classId && name.trim()) && splits.length > 0 && splits.every((split) => split.head_id && split.annual_amount > 0);
    setInvalid(!ok);
    if (ok) create.mutate({ class_id: classId, name: name.trim(), splits });
  };

  if (heads.isPending || instalments.isPending || classes.isPending) return <Loading />;
  if (activeHeads.length === 0 || (instalments.data?.items.length ?? 0) === 0) {
    return (
      <section className="card">
        <p className="notice">{t("feeSetup.needHeadsAndInstalments")}</p>
        <button type="button" className="button" onClick={onClose}>
          {t("common.cancel")}
        </button>
      </section>
    );
  }
  return (
    <form className="card structure-form" onSubmit={submit} aria-labelledby="structure-form-title" noValidate>
      <h2 id="structure-form-title">{t("feeSetup.addStructure")}</h2>
      <div className="field-grid two">
        <div>
          <label htmlFor="structure-class">{t("invoices.class")}</label>
          <select
            id="structure-class"
            value={classId}
            onChange={(e) => {
              setClassId(e.target.value);
              const chosen = free.find((c) => c.id === e.target.value);
              if (chosen && !name) setName(t("feeSetup.defaultName", { class: chosen.name }));
            }}
          >
            <option value="">{t("generate.chooseClass")}</option>
            {free.map((schoolClass) => (
              <option key={schoolClass.id} value={schoolClass.id}>
                {schoolClass.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="structure-name">{t("feeSetup.structureName")}</label>
          <input id="structure-name" type="text" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
      </div>
      <p className="hint">{t("feeSetup.splitHint")}</p>
      {rows.map((row, index) => (
        <fieldset key={row.key} className="fieldset split-fieldset">
          <legend>{t("feeSetup.headNumber", { number: index + 1 })}</legend>
          <div className="field-grid three">
            <div>
              <label htmlFor={`split-head-${row.key}`}>{t("feeSetup.head")}</label>
              <select id={`split-head-${row.key}`} value={row.headId} onChange={(e) => setRow(row.key, { headId: e.target.value })}>
                <option value="">{t("feeSetup.chooseHead")}</option>
                {activeHeads.map((head) => (
                  <option key={head.id} value={head.id}>
                    {head.name}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor={`split-amount-${row.key}`}>{t("feeSetup.annualAmount")}</label>
              <div className="rupee-input">
                <span aria-hidden="true">₹</span>
                <input id={`split-amount-${row.key}`} type="text" inputMode="decimal" value={row.amount} onChange={(e) => setRow(row.key, { amount: e.target.value })} />
              </div>
            </div>
            <div>
              <label htmlFor={`split-frequency-${row.key}`}>{t("feeSetup.frequency")}</label>
              <select id={`split-frequency-${row.key}`} value={row.frequency} onChange={(e) => setRow(row.key, { frequency: e.target.value as Frequency })}>
                {FREQUENCIES.map((option) => (
                  <option key={option} value={option}>
                    {t(`feeSetup.frequency.${option}`)}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {rows.length > 1 && (
            <button type="button" className="button link" onClick={() => setRows((current) => current.filter((r) => r.key !== row.key))}>
              {t("feeSetup.removeHead")}
            </button>
          )}
        </fieldset>
      ))}
      <button
        type="button"
        className="button"
        onClick={() => setRows((current) => [...current, { key: Math.max(...current.map((r) => r.key)) + 1, headId: "", amount: "", frequency: "quarterly" }])}
      >
        {t("feeSetup.addHeadRow")}
      </button>
      <p className="stat-line">{t("feeSetup.annualTotal", { amount: formatPaise(annual, language) })}</p>
      {invalid && (
        <p className="form-error" role="alert">
          {t("feeSetup.structureInvalid")}
        </p>
      )}
      {create.isError && <ErrorPanel error={create.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={create.isPending}>
          {create.isPending ? t("common.saving") : t("feeSetup.saveStructure")}
        </button>
        <button type="button" className="button" onClick={onClose}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
