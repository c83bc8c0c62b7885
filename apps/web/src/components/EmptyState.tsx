import type { ReactNode } from "react";

/** What is not there yet, and what to do about it. */
export function EmptyState({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <section className="empty-state" aria-label={title}>
      <svg className="empty-state-art" viewBox="0 0 48 48" aria-hidden="true">
        <rect x="8" y="10" width="32" height="28" rx="4" />
        <path d="M8 18h32M16 26h16M16 31h10" />
      </svg>
      <h2>{title}</h2>
      <p>{children}</p>
      {action}
    </section>
  );
}
