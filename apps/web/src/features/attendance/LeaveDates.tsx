import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import type { Leave } from "./api";

export function LeaveDates({ leave }: { leave: Pick<Leave, "from_date" | "to_date"> }) {
  const { t, language } = useI18n();
  return (
    <p className="muted">
      {leave.from_date === leave.to_date
        ? formatDay(leave.from_date, language)
        : t("leave.range", { from: formatDay(leave.from_date, language), to: formatDay(leave.to_date, language) })}
    </p>
  );
}
