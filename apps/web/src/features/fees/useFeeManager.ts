import { useMutation, useQueryClient } from "@tanstack/react-query";

import { useCurrentUser } from "../identity/currentUser";

/** Whether the signed-in user may change fee set-up (else the screens are read-only). */
export function useCanManageFees(): boolean {
  return useCurrentUser().permissions.includes("fees:manage");
}

/** A fee set-up write that refreshes every fee list when it succeeds. */
export function useFeeMutation<TArgs, TResult>(mutationFn: (args: TArgs) => Promise<TResult>, onDone?: (result: TResult) => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: ["fees"] });
      onDone?.(result);
    },
  });
}
