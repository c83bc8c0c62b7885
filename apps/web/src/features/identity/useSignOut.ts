import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";

import { forgetSession } from "../../api";
import { signInPath } from "../../app/signInPath";
import { getAccessToken, getRefreshToken } from "../../session";
import { logout } from "./api";

export function useSignOut() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [pending, setPending] = useState(false);

  async function signOut() {
    setPending(true);
    const refreshToken = getRefreshToken();
    try {
      if (refreshToken) await logout(refreshToken, getAccessToken());
    } catch {
      // Offline or already revoked: the token is forgotten here all the same.
    } finally {
      forgetSession("signed_out");
      queryClient.clear();
      // The same place the shell's own redirect picks, so whichever runs first wins nothing.
      const { to, state } = signInPath("/", "signed_out");
      navigate(to, { replace: true, state });
    }
  }

  return { signOut, pending };
}
