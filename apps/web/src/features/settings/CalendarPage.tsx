import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { addHoliday, calendarQuery, removeHoliday, setWeeklyOffs } from "../academics/api";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** Weekly offs and holidays: no attendance is taken on those days. */
export default function CalendarPage() {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const calendar = useQuery(calendarQuery());
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["academics", "calendar"] });
  const offs = useMutation({ mutationFn: setWeeklyOffs, onSuccess: refresh });
  const remove = useMutation({ mutationFn: removeHoliday, onSuccess: refresh });

  if (calendar.isPending) return <Loading />;
  if (calendar.isError) return <ErrorPanel error={calendar.error} onRetry={() => void calendar.refetch()} />;
  const weeklyOffs = calendar.data.weekly_offs;
  const toggleOff = (day: string) =>
    offs.mutate(weeklyOffs.includes(day) ? weeklyOffs.filter((d) => d !== day) : [...weeklyOffs, day]);

  return (
    <div className="card-grid">
      <section className="card" aria-labelledby="weekly-offs">
        <h2 id="weekly-offs">{t("calendar.weeklyOffs")}</h2>
        <p className="hint">{t("calendar.weeklyOffsHint")}</p>
        <div className="chip-group" role="group" aria-labelledby="weekly-offs">
          {WEEKDAYS.map((day) => (
            <button
              key={day}
              type="button"
              className="chip"
              aria-pressed={weeklyOffs.includes(day)}
              disabled={offs.isPending}
              onClick={() => toggleOff(day)}
            >
              {t(`calendar.day.${day}`)}
            </button>
          ))}
        </div>
        {weeklyOffs.some((d) => d.includes("-")) && (
          <p className="hint">{t("calendar.nthOffs", { offs: weeklyOffs.filter((d) => d.includes("-")).join(", ") })}</p>
        )}
        {offs.isError && <ErrorPanel error={offs.error} />}
      </section>
      <section className="card" aria-labelledby="holidays">
        <h2 id="holidays">{t("calendar.holidays")}</h2>
        {calendar.data.holidays.length === 0 ? (
          <p className="muted">{t("calendar.noHolidays")}</p>
        ) : (
          <ul className="plain-list">
            {calendar.data.holidays.map((holiday) => (
              <li key={holiday.id} className="picked">
                <span>
                  <strong>{formatDay(holiday.date, language)}</strong> · {holiday.name}
                </span>
                <button type="button" className="button link" disabled={remove.isPending} onClick={() => remove.mutate(holiday.id)}>
                  {t("calendar.remove", { name: holiday.name })}
                </button>
              </li>
            ))}
          </ul>
        )}
        {remove.isError && <ErrorPanel error={remove.error} />}
        <HolidayForm onAdded={refresh} />
      </section>
    </div>
  );
}

function HolidayForm({ onAdded }: { onAdded: () => void }) {
  const { t } = useI18n();
  const [date, setDate] = useState("");
  const [name, setName] = useState("");
  const add = useMutation({
    mutationFn: () => addHoliday({ date, name: name.trim() }),
    onSuccess: () => {
      setDate("");
      setName("");
      onAdded();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (date && name.trim()) add.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t("calendar.add")}>
      <div className="field-grid">
        <div>
          <label htmlFor="holiday-date">{t("calendar.date")}</label>
          <input id="holiday-date" type="date" value={date} onChange={(e) => setDate(e.target.value)} />
        </div>
        <div>
          <label htmlFor="holiday-name">{t("calendar.name")}</label>
          <input id="holiday-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
      </div>
      {add.isError && <ErrorPanel error={add.error} />}
      <button type="submit" className="button" disabled={add.isPending || !date || !name.trim()}>
        {t("calendar.add")}
      </button>
    </form>
  );
}
