import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";

import { onSessionEnded } from "./api";
import { AppProviders } from "./app/AppProviders";
import { createQueryClient } from "./app/queryClient";
import { routes } from "./app/routes";
import { signInPath } from "./app/signInPath";
import "./styles.css";

const queryClient = createQueryClient();
const router = createBrowserRouter(routes);

// The session could not be renewed: drop everything cached for this user and
// ask them to sign in again, coming back to where they were.
onSessionEnded(() => {
  queryClient.clear();
  const { pathname, search } = router.state.location;
  if (pathname === "/login") return;
  const { to, state } = signInPath(pathname + search, "expired");
  void router.navigate(to, { replace: true, state });
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AppProviders queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProviders>
  </StrictMode>,
);
