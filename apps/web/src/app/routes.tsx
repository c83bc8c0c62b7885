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
import { AccessDenied, ChatOnly, FamilyOnly, NotFoundPage, StaffOnly } from "./guards";
import { RequireSession } from "./RequireSession";

const LoginPage = lazy(() => import("../features/identity/LoginPage"));
const DashboardPage = lazy(() => import("../features/dashboard/DashboardPage"));
const StudentsPage = lazy(() => import("../features/students/StudentsPage"));
const StudentProfilePage = lazy(() => import("../features/students/StudentProfilePage"));
const StudentFormPage = lazy(() => import("../features/students/StudentFormPage"));
const ImportPage = lazy(() => import("../features/students/ImportPage"));
const PromotionPage = lazy(() => import("../features/students/PromotionPage"));
const AttendancePage = lazy(() => import("../features/attendance/AttendancePage"));
const MarkPage = lazy(() => import("../features/attendance/MarkPage"));
const ReportsPage = lazy(() => import("../features/attendance/ReportsPage"));
const LeaveRequestsPage = lazy(() => import("../features/attendance/LeaveRequestsPage"));
const FeesPage = lazy(() => import("../features/fees/FeesPage"));
const InvoicesPage = lazy(() => import("../features/invoices/InvoicesPage"));
const GeneratePage = lazy(() => import("../features/invoices/GeneratePage"));
const InvoiceDetailPage = lazy(() => import("../features/invoices/InvoiceDetailPage"));
const PaymentsPage = lazy(() => import("../features/payments/PaymentsPage"));
const CounterPaymentPage = lazy(() => import("../features/payments/CounterPaymentPage"));
const PaymentDetailPage = lazy(() => import("../features/payments/PaymentDetailPage"));
const PayLinkPage = lazy(() => import("../features/paylink/PayLinkPage"));
const ChatPage = lazy(() => import("../features/chat/ChatPage"));
const SettingsPage = lazy(() => import("../features/settings/SettingsPage"));
const SchoolProfilePage = lazy(() => import("../features/schools/SchoolProfilePage"));
const AttendanceCodesPage = lazy(() => import("../features/settings/AttendanceCodesPage"));
const CalendarPage = lazy(() => import("../features/settings/CalendarPage"));
const YearsPage = lazy(() => import("../features/settings/YearsPage"));
const UsersPage = lazy(() => import("../features/settings/UsersPage"));
const FamilyHome = lazy(() => import("../features/family/FamilyHome"));
const ChildPage = lazy(() => import("../features/family/ChildPage"));

function Page({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

/** Adding and changing student records needs students:write, not just the Students area. */
function Writer({ children }: { children: ReactNode }) {
  const me = useCurrentUser();
  return me.permissions.includes("students:write") ? <>{children}</> : <AccessDenied />;
}

function Users({ children }: { children: ReactNode }) {
  const me = useCurrentUser();
  return me.permissions.includes("users:manage") ? <>{children}</> : <AccessDenied />;
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
    // A pay link from a WhatsApp reminder: one invoice, no sign-in.
    path: "/pay/:token",
    element: (
      <Page>
        <PayLinkPage />
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
      { path: "students/new", element: <StaffOnly area="/students"><Writer><StudentFormPage /></Writer></StaffOnly> },
      { path: "students/import", element: <StaffOnly area="/students"><Writer><ImportPage /></Writer></StaffOnly> },
      { path: "students/promotion", element: <StaffOnly area="/students"><Writer><PromotionPage /></Writer></StaffOnly> },
      { path: "students/:studentId", element: <StaffOnly area="/students"><StudentProfilePage /></StaffOnly> },
      { path: "students/:studentId/edit", element: <StaffOnly area="/students"><Writer><StudentFormPage /></Writer></StaffOnly> },
      { path: "attendance", element: <StaffOnly area="/attendance"><AttendancePage /></StaffOnly> },
      { path: "attendance/reports", element: <StaffOnly area="/attendance"><ReportsPage /></StaffOnly> },
      { path: "attendance/leave", element: <StaffOnly area="/attendance"><LeaveRequestsPage /></StaffOnly> },
      { path: "attendance/:sectionId", element: <StaffOnly area="/attendance"><MarkPage /></StaffOnly> },
      { path: "fees", element: <StaffOnly area="/fees"><FeesPage /></StaffOnly> },
      { path: "invoices", element: <StaffOnly area="/invoices"><InvoicesPage /></StaffOnly> },
      { path: "invoices/generate", element: <StaffOnly area="/invoices"><GeneratePage /></StaffOnly> },
      { path: "invoices/:invoiceId", element: <StaffOnly area="/invoices"><InvoiceDetailPage /></StaffOnly> },
      { path: "payments", element: <StaffOnly area="/invoices"><PaymentsPage /></StaffOnly> },
      { path: "payments/new", element: <StaffOnly area="/invoices"><CounterPaymentPage /></StaffOnly> },
      { path: "payments/:paymentId", element: <StaffOnly area="/invoices"><PaymentDetailPage /></StaffOnly> },
      { path: "chat", element: <ChatOnly><ChatPage /></ChatOnly> },
      { path: "chat/:conversationId", element: <ChatOnly><ChatPage /></ChatOnly> },
      {
        path: "settings",
        element: <StaffOnly area="/settings"><SettingsPage /></StaffOnly>,
        children: [
          { index: true, element: <Navigate to="school" replace /> },
          { path: "school", element: <SchoolProfilePage /> },
          { path: "attendance", element: <AttendanceCodesPage /> },
          { path: "calendar", element: <CalendarPage /> },
          { path: "years", element: <YearsPage /> },
          { path: "users", element: <Users><UsersPage /></Users> },
        ],
      },
      { path: "children/:childId", element: <FamilyOnly><ChildPage /></FamilyOnly> },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];
