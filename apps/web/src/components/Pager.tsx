import { useI18n } from "../i18n";
import { formatNumber } from "../format";

/** "51–100 of 1,480" with previous / next: every long list pages the same way. */
export function Pager({
  offset,
  limit,
  total,
  onChange,
}: {
  offset: number;
  limit: number;
  total: number;
  onChange: (offset: number) => void;
}) {
  const { t, language } = useI18n();
  if (total <= limit && offset === 0) return null;
  const first = Math.min(total, offset + 1);
  const last = Math.min(total, offset + limit);
  return (
    <nav className="pager" aria-label={t("pager.label")}>
      <button type="button" className="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        {t("pager.previous")}
      </button>
      <span aria-live="polite">
        {t("pager.range", {
          first: formatNumber(first, language),
          last: formatNumber(last, language),
          total: formatNumber(total, language),
        })}
      </span>
      <button type="button" className="button" disabled={last >= total} onClick={() => onChange(offset + limit)}>
        {t("pager.next")}
      </button>
    </nav>
  );
}
