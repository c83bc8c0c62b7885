import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { createYear, yearsQuery } from "../academics/api";

/** The academic years (April–March); the next one is added here before year-end promotion. */
export default function YearsPage() {
  const { t, language } = useI18n();
  const years = useQuery(yearsQuery);
  return (
    <section className="card" aria-labelledby="years-title">
      <h2 id="years-title">{t("settings.years")}</h2>
      {years.isPending ? (
        <Loading />
      ) : years.isError ? (
        <ErrorPanel error={years.error} onRetry={() => void years.refetch()} />
      ) : (
        <ul className="plain-list">
          {years.data.map((year) => (
            <li key={year.id}>
              <strong>{year.name}</strong> · {formatDay(year.starts_on, language)} – {formatDay(year.ends_on, language)}
              {year.is_current && <span className="badge">{t("years.current")}</span>}
            </li>
          ))}
        </ul>
      )}
      <YearForm lastEnd={years.data?.[0]?.ends_on} />
    </section>
  );
}

/** The year after one ending on `lastEnd` ("2027-03-31" → 2027-28, April to March). */
export function nextYear(lastEnd?: string) {
  const start = lastEnd ? Number(lastEnd.slice(0, 4)) : new Date().getFullYear();
  return { name: `${start}-${String(start + 1).slice(2)}`, starts_on: `${start}-04-01`, ends_on: `${start + 1}-03-31` };
}

function YearForm({ lastEnd }: { lastEnd?: string }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState(() => nextYear(lastEnd));
  const add = useMutation({
    mutationFn: () => createYear({ ...draft, is_current: false }),
    onSuccess: (year) => {
      void queryClient.invalidateQueries({ queryKey: yearsQuery.queryKey });
      setDraft(nextYear(year.ends_on));
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t("years.add")}>
      <div className="field-grid">
        <div>
          <label htmlFor="year-name">{t("years.name")}</label>
          <input id="year-name" type="text" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </div>
        <div>
          <label htmlFor="year-start">{t("years.starts")}</label>
          <input id="year-start" type="date" value={draft.starts_on} onChange={(e) => setDraft({ ...draft, starts_on: e.target.value })} />
        </div>
        <div>
          <label htmlFor="year-end">{t("years.ends")}</label>
          <input id="year-end" type="date" value={draft.ends_on} onChange={(e) => setDraft({ ...draft, ends_on: e.target.value })} />
        </div>
      </div>
      {add.isError && <ErrorPanel error={add.error} />}
      <button type="submit" className="button" disabled={add.isPending}>
        {t("years.add")}
      </button>
    </form>
  );
}
