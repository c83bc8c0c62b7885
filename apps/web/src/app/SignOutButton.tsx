import { Icon } from "../components/icons";
import { useSignOut } from "../features/identity/useSignOut";
import { useT } from "../i18n";

export function SignOutButton() {
  const t = useT();
  const { signOut, pending } = useSignOut();
  return (
    <button type="button" className="button ghost sign-out" onClick={() => void signOut()} disabled={pending}>
      <Icon name="signOut" />
      <span className="sign-out-label">{pending ? t("shell.signingOut") : t("shell.signOut")}</span>
    </button>
  );
}
