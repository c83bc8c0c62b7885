import { isFamilyAccount } from "../features/identity/permissions";
import { useCurrentUser } from "../features/identity/currentUser";
import { FamilyShell } from "./FamilyShell";
import { StaffShell } from "./StaffShell";

export function AppShell() {
  const me = useCurrentUser();
  return isFamilyAccount(me.roles) ? <FamilyShell /> : <StaffShell />;
}
