import { useEffect, type ReactNode } from "react";

import { useT } from "../i18n";

/** The page's one <h1>; also names the browser tab. */
export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  const t = useT();
  useEffect(() => {
    document.title = `${title} · ${t("app.name")}`;
  }, [title, t]);
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children}
    </div>
  );
}
