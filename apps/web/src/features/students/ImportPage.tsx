import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router";

import { JobProgress } from "../../components/JobProgress";
import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel } from "../../components/Status";
import { useT } from "../../i18n";
import { jobQuery } from "../jobs/api";
import { previewImport, startImport, type ImportPreview } from "./api";
import { ImportErrors } from "./ImportErrors";

/** Spreadsheet import in three steps: choose a file, check every row, then import as a job with progress. */
export default function ImportPage() {
  const t = useT();
  const [file, setFile] = useState<File | null>(null);
  const preview = useMutation({ mutationFn: previewImport });
  const commit = useMutation({ mutationFn: startImport });

  const choose = (chosen: File | null) => {
    setFile(chosen);
    preview.reset();
    commit.reset();
    if (chosen) preview.mutate(chosen);
  };

  return (
    <>
      <PageHeader title={t("import.title")}>
        <p className="page-subtitle">
          <Link to="/students">{t("students.backToList")}</Link>
        </p>
      </PageHeader>
      <section className="card" aria-labelledby="import-file">
        <h2 id="import-file">{t("import.step1")}</h2>
        <p className="hint">{t("import.columns")}</p>
        <label htmlFor="import-input">{t("import.chooseFile")}</label>
        <input
          id="import-input"
          type="file"
          accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          disabled={commit.isPending || commit.isSuccess}
          onChange={(event) => choose(event.target.files?.[0] ?? null)}
        />
      </section>
      {preview.isPending && <p role="status">{t("import.checking")}</p>}
      {preview.isError && <ErrorPanel error={preview.error} />}
      {file && preview.data && (
        <PreviewStep
          preview={preview.data}
          committing={commit.isPending}
          committed={commit.isSuccess}
          onCommit={() => commit.mutate(file)}
        />
      )}
      {commit.isError && <ErrorPanel error={commit.error} />}
      {commit.data && <ImportRunning jobId={commit.data.job_id} />}
    </>
  );
}

function PreviewStep({
  preview,
  committing,
  committed,
  onCommit,
}: {
  preview: ImportPreview;
  committing: boolean;
  committed: boolean;
  onCommit: () => void;
}) {
  const t = useT();
  const badRows = new Set(preview.errors.map((e) => e.row)).size;
  return (
    <section className="card" aria-labelledby="import-check">
      <h2 id="import-check">{t("import.step2")}</h2>
      <p role="status">
        {preview.errors.length === 0
          ? t("import.allGood", { rows: preview.rows })
          : t("import.someBad", { rows: preview.rows, bad: badRows })}
      </p>
      {preview.errors.length > 0 ? (
        <ImportErrors errors={preview.errors} />
      ) : preview.rows === 0 ? (
        <p>{t("import.noRows")}</p>
      ) : (
        <button type="button" className="button primary" disabled={committing || committed} onClick={onCommit}>
          {t("import.commit", { rows: preview.valid })}
        </button>
      )}
    </section>
  );
}

function ImportRunning({ jobId }: { jobId: string }) {
  const t = useT();
  const queryClient = useQueryClient();
  const job = useQuery(jobQuery(jobId));
  const done = job.data?.status === "done";
  useEffect(() => {
    if (done) void queryClient.invalidateQueries({ queryKey: ["students"] });
  }, [done, queryClient]);
  return (
    <section className="card" aria-labelledby="import-run">
      <h2 id="import-run">{t("import.step3")}</h2>
      <JobProgress jobId={jobId} label={t("import.running")} />
      {done && (
        <Link className="button primary" to="/students">
          {t("import.seeStudents")}
        </Link>
      )}
    </section>
  );
}
