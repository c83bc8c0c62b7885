import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { Pager } from "../../components/Pager";
import { ErrorPanel, Loading } from "../../components/Status";
import { useDebounced } from "../../hooks/useDebounced";
import { formatNumber } from "../../format";
import { useI18n } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { PAGE_SIZE, studentsQuery, type StudentFilters as Filters, type StudentStatus } from "./api";
import { ExportButton } from "./ExportButton";
import { StudentFilters } from "./StudentFilters";
import { StudentTable } from "./StudentTable";

/** Filters live in the address, so Back and a shared link show the same list. */
function useFilters(): [Filters, (changes: Partial<Filters>) => void] {
  const [params, setParams] = useSearchParams();
  const filters: Filters = {
    q: params.get("q") ?? undefined,
    class_id: params.get("class") ?? undefined,
    section_id: params.get("section") ?? undefined,
    status: (params.get("status") as StudentStatus | null) ?? undefined,
    offset: Number(params.get("offset") ?? 0) || 0,
  };
  const update = (changes: Partial<Filters>) => {
    const next = { ...filters, offset: 0, ...changes };
    const names: Record<string, string | number | undefined> = {
      q: next.q,
      class: next.class_id,
      section: next.section_id,
      status: next.status,
      offset: next.offset || undefined,
    };
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(names)) if (value) search.set(key, String(value));
    setParams(search, { replace: true });
  };
  return [filters, update];
}

export default function StudentsPage() {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const canWrite = me.permissions.includes("students:write");
  const [filters, setFilters] = useFilters();
  const [search, setSearch] = useState(filters.q ?? "");
  const settled = useDebounced(search.trim());
  const students = useQuery(studentsQuery(filters));

  useEffect(() => {
    if ((filters.q ?? "") !== settled) setFilters({ q: settled || undefined });
    // Only a settled search changes the address (one request per pause in typing).
  }, [settled]);

  const filtered = Boolean(filters.q || filters.class_id || filters.section_id || filters.status);

  return (
    <>
      <PageHeader title={t("students.title")}>
        {students.data && (
          <p className="page-subtitle">{t("students.count", { count: formatNumber(students.data.total, language) })}</p>
        )}
      </PageHeader>
      <div className="toolbar page-actions">
        {canWrite && (
          <>
            <Link className="button primary" to="/students/new">
              {t("students.add")}
            </Link>
            <Link className="button" to="/students/import">
              {t("students.import")}
            </Link>
            <Link className="button" to="/students/promotion">
              {t("students.promotion")}
            </Link>
          </>
        )}
        <ExportButton filters={filters} />
      </div>
      <StudentFilters filters={filters} search={search} onSearch={setSearch} onChange={setFilters} />
      {students.isPending ? (
        <Loading />
      ) : students.isError ? (
        <ErrorPanel error={students.error} onRetry={() => void students.refetch()} />
      ) : students.data.items.length === 0 ? (
        filtered ? (
          <EmptyState title={t("students.noMatchTitle")}>{t("students.noMatchBody")}</EmptyState>
        ) : (
          <EmptyState
            title={t("students.emptyTitle")}
            action={
              canWrite ? (
                <Link className="button primary" to="/students/import">
                  {t("students.import")}
                </Link>
              ) : undefined
            }
          >
            {t("students.emptyBody")}
          </EmptyState>
        )
      ) : (
        <>
          <StudentTable students={students.data.items} />
          <Pager
            offset={students.data.offset}
            limit={PAGE_SIZE}
            total={students.data.total}
            onChange={(offset) => setFilters({ ...filters, offset })}
          />
        </>
      )}
    </>
  );
}
