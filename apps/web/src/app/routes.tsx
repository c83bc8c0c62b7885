/**
 * Every screen and who may open it. Pages are loaded on demand (React.lazy) so the
 * first page a phone downloads holds only the shell and the sign-in form.
 */
import { lazy, Suspense, type ReactNode } from "react";
import { Navigate, useRouteError, type RouteObject } from "react-router";

import { ErrorPanel, Loading } from "../components/Status";
import { useCurrentUser } from "../features/identity/currentUser";
import { isFamilyAccount } from "../features/identity/permissions";
import { useT } from "../i18n";
import { AppShell } from "./AppShell";
import { FamilyOnly, NotFoundPage, StaffOnly } from "./guards";
import { RequireSession } from "./RequireSession";

const LoginPage = lazy(() => import("../features/identity/LoginPage"));
const DashboardPage = lazy(() => import("../features/dashboard/DashboardPage"));
const StudentsPage = lazy(() => import("../features/students/StudentsPage"));
const AttendancePage = lazy(() => import("../features/attendance/AttendancePage"));
const FeesPage = lazy(() => import("../features/fees/FeesPage"));
const InvoicesPage = lazy(() => import("../features/invoices/InvoicesPage"));
const ChatPage = lazy(() => import("../features/chat/ChatPage"));
const SettingsPage = lazy(() => import("../features/settings/SettingsPage"));
const SchoolProfilePage = lazy(() => import("../features/schools/SchoolProfilePage"));
const FamilyHome = lazy(() => import("../features/family/FamilyHome"));
const ChildPage = lazy(() => import("../features/family/ChildPage"));

function Page({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

/** "/" is the dashboard for staff and the children's overview for a family. */
function Home() {
  const me = useCurrentUser();
  return isFamilyAccount(me.roles) ? <FamilyHome /> : <DashboardPage />;
}

function RouteError() {
  const error = useRouteError();
  const t = useT();
  return (
    <div className="full-page">
      <h1>{t("errors.unknown")}</h1>
      <ErrorPanel error={error} onRetry={() => window.location.reload()} />
    </div>
  );
}

export const routes: RouteObject[] = [
  {
    path: "/login",
    element: (
      <Page>
        <LoginPage />
      </Page>
    ),
  },
  {
    path: "/",
    element: (
      <RequireSession>
        <AppShell />
      </RequireSession>
    ),
    errorElement: <RouteError />,
    children: [
      { index: true, element: <Home /> },
      { path: "students", element: <StaffOnly area="/students"><StudentsPage /></StaffOnly> },
      { path: "attendance", element: <StaffOnly area="/attendance"><AttendancePage /></StaffOnly> },
      { path: "fees", element: <StaffOnly area="/fees"><FeesPage /></StaffOnly> },
      { path: "invoices", element: <StaffOnly area="/invoices"><InvoicesPage /></StaffOnly> },
      { path: "chat", element: <StaffOnly area="/chat"><ChatPage /></StaffOnly> },
      {
        path: "settings",
        element: <StaffOnly area="/settings"><SettingsPage /></StaffOnly>,
        children: [
          { index: true, element: <Navigate to="school" replace /> },
          { path: "school", element: <SchoolProfilePage /> },
        ],
      },
      { path: "children/:childId", element: <FamilyOnly><ChildPage /></FamilyOnly> },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];
