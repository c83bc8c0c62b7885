import { useQuery } from "@tanstack/react-query";

import { jobQuery } from "../features/jobs/api";
import { useT } from "../i18n";
import { ErrorPanel } from "./Status";

/** A long job's progress bar, read from /api/jobs/{id} until it is done or has failed. */
export function JobProgress({ jobId, label }: { jobId: string; label: string }) {
  const t = useT();
  const job = useQuery(jobQuery(jobId));
  if (job.isError) return <ErrorPanel error={job.error} onRetry={() => void job.refetch()} />;
  const data = job.data;
  const percent = data?.percent ?? 0;
  const failed = data?.status === "failed";
  return (
    <div className="job-progress">
      <p id={`job-${jobId}`}>{label}</p>
      <div
        className="progress-track"
        role="progressbar"
        aria-labelledby={`job-${jobId}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className="progress-value" style={{ width: `${percent}%` }} />
      </div>
      <p className="hint" aria-live="polite">
        {failed
          ? t("jobs.failed", { message: data?.message ?? "" })
          : data?.status === "done"
            ? t("jobs.done")
            : t("jobs.progress", { done: data?.done ?? 0, total: data?.total ?? 0, percent })}
      </p>
    </div>
  );
}
