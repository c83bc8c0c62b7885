import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { decideLeave, leaveQuery } from "./api";
import { LeaveDates } from "./LeaveDates";

/** Pending leave applications from parents, for the class teacher (or staff) to decide. */
export default function LeaveRequestsPage() {
  const t = useT();
  const queryClient = useQueryClient();
  const pending = useQuery(leaveQuery({ status: "pending" }));
  const decide = useMutation({
    mutationFn: ({ id, approve }: { id: string; approve: boolean }) => decideLeave(id, approve),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["attendance", "leave"] }),
  });
  return (
    <>
      <PageHeader title={t("leave.requestsTitle")}>
        <p className="page-subtitle">
          <Link to="/attendance">{t("attendance.title")}</Link>
        </p>
      </PageHeader>
      {decide.isError && <ErrorPanel error={decide.error} />}
      {pending.isPending ? (
        <Loading />
      ) : pending.isError ? (
        <ErrorPanel error={pending.error} onRetry={() => void pending.refetch()} />
      ) : pending.data.items.length === 0 ? (
        <EmptyState title={t("leave.noneTitle")}>{t("leave.noneBody")}</EmptyState>
      ) : (
        <ul className="plain-list cards">
          {pending.data.items.map((leave) => (
            <li key={leave.id} className="card">
              <h2>{leave.student_name}</h2>
              <LeaveDates leave={leave} />
              <p>{leave.reason}</p>
              <div className="toolbar">
                <button
                  type="button"
                  className="button primary"
                  disabled={decide.isPending}
                  onClick={() => decide.mutate({ id: leave.id, approve: true })}
                >
                  {t("leave.approve")}
                </button>
                <button
                  type="button"
                  className="button"
                  disabled={decide.isPending}
                  onClick={() => decide.mutate({ id: leave.id, approve: false })}
                >
                  {t("leave.reject")}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
