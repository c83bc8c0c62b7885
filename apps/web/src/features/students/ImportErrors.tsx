import { useT } from "../../i18n";
import type { ImportRowError } from "./api";

/** Every bad row with its column and reason, so the office can fix the sheet in one go. */
export function ImportErrors({ errors }: { errors: readonly ImportRowError[] }) {
  const t = useT();
  return (
    <div className="table-scroll">
      <table className="records import-errors">
        <caption>{t("import.errorsCaption", { count: errors.length })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("import.row")}</th>
            <th scope="col">{t("import.column")}</th>
            <th scope="col">{t("import.value")}</th>
            <th scope="col">{t("import.reason")}</th>
          </tr>
        </thead>
        <tbody>
          {errors.map((error, index) => (
            <tr key={`${error.row}-${error.column}-${index}`}>
              <th scope="row">{error.row}</th>
              <td data-label={t("import.column")}>{error.column}</td>
              <td data-label={t("import.value")}>{error.value ?? "—"}</td>
              <td data-label={t("import.reason")}>{error.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
