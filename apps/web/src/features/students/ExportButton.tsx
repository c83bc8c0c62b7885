import { useMutation } from "@tanstack/react-query";

import { ErrorPanel } from "../../components/Status";
import { saveFile } from "../../download";
import { useT } from "../../i18n";
import { exportStudents, type StudentFilters } from "./api";

/** Download the filtered list in the import's columns (CSV or Excel). */
export function ExportButton({ filters }: { filters: StudentFilters }) {
  const t = useT();
  const download = useMutation({
    mutationFn: (format: "csv" | "xlsx") => exportStudents(format, filters),
    onSuccess: (blob, format) => saveFile(blob, `students.${format}`),
  });
  return (
    <>
      <button type="button" className="button" disabled={download.isPending} onClick={() => download.mutate("csv")}>
        {t("students.exportCsv")}
      </button>
      <button type="button" className="button" disabled={download.isPending} onClick={() => download.mutate("xlsx")}>
        {t("students.exportXlsx")}
      </button>
      {download.isError && <ErrorPanel error={download.error} />}
    </>
  );
}
