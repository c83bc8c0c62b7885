/** Long jobs (imports, promotions later): GET /api/jobs/{id}, polled until done or failed. */
import { queryOptions } from "@tanstack/react-query";

import { api } from "../../api";

export interface Job {
  id: string;
  kind: string;
  status: "queued" | "running" | "done" | "failed" | string;
  total: number;
  done: number;
  percent: number;
  message: string | null;
  result: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
  created_at: string;
  finished_at: string | null;
}

export const isFinished = (job: Job | undefined) => job?.status === "done" || job?.status === "failed";

export const jobQuery = (jobId: string) =>
  queryOptions({
    queryKey: ["jobs", jobId],
    queryFn: ({ signal }) => api<Job>(`/api/jobs/${jobId}`, { signal }),
    refetchInterval: (query) => (isFinished(query.state.data) ? false : 700),
    staleTime: 0,
  });
