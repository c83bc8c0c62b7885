/** A handful of line icons, inline so they cost no request. Decorative: labels carry the meaning. */
const PATHS = {
  dashboard: "M4 13h6V4H4zm0 7h6v-5H4zm10 0h6v-9h-6zm0-16v5h6V4z",
  students: "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 9c0-3.3 3.1-6 7-6s7 2.7 7 6M17 3.5a4 4 0 0 1 0 7.5M22 20c0-2.6-1.7-4.8-4-5.6",
  attendance: "M9 11l3 3 8-8M20 12v7a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h9",
  fees: "M6 4h12M6 9h12M6 4c5 0 7 2 7 5s-2 5-7 5l8 7",
  invoices: "M6 2h9l5 5v15H6zM14 2v6h6M9 13h8M9 17h6",
  chat: "M21 12a8 8 0 0 1-11.6 7.1L4 21l1.9-5.4A8 8 0 1 1 21 12z",
  settings:
    "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm7.4-3 2-1.6-2-3.4-2.4.8a7 7 0 0 0-1.7-1L15 4h-4l-.3 2.8a7 7 0 0 0-1.7 1L6.6 7 4.6 10.4l2 1.6a7 7 0 0 0 0 2l-2 1.6 2 3.4 2.4-.8a7 7 0 0 0 1.7 1L11 22h4l.3-2.8a7 7 0 0 0 1.7-1l2.4.8 2-3.4-2-1.6a7 7 0 0 0 0-2z",
  menu: "M3 6h18M3 12h18M3 18h18",
  close: "M6 6l12 12M18 6L6 18",
  signOut: "M15 4h4a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1h-4M10 17l5-5-5-5M15 12H3",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name }: { name: IconName }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} />
    </svg>
  );
}
