import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate, useSearchParams } from "react-router";

import { isApiError, startSession } from "../../api";
import { LanguageSwitch } from "../../components/LanguageSwitch";
import { errorMessage, formatWait } from "../../errorMessages";
import { useCountdown } from "../../hooks/useCountdown";
import { useI18n, type MessageKey, type Params } from "../../i18n";
import { acknowledgeSessionEnd, hasSession, type SessionEndReason } from "../../session";
import { startOtp, verifyOtp } from "./api";
import { formatPhone, toE164 } from "./phone";

type Step = "phone" | "code";
/** What to say under the form: a local check, or an API error rendered at display time. */
type Problem = { key: MessageKey } | { error: unknown };
type Notice = { key: MessageKey; params?: Params };
/** No new code for `phone` before `until` (epoch ms). */
type Cooldown = { phone: string; until: number };

/** Only same-site paths: `?next=//evil.example` must not send anyone away. */
export function safeNext(value: string | null): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/login")) return "/";
  return value;
}

export default function LoginPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const [searchParams] = useSearchParams();
  const queryClient = useQueryClient();
  const next = safeNext(searchParams.get("next"));
  const reason = (location.state as { reason?: SessionEndReason } | null)?.reason;

  const [step, setStep] = useState<Step>("phone");
  const [phoneInput, setPhoneInput] = useState("");
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  const [cooldown, setCooldown] = useState<Cooldown | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [serverReason, setServerReason] = useState<string | null>(null);
  const codeInput = useRef<HTMLInputElement>(null);
  const phoneField = useRef<HTMLInputElement>(null);
  const ids = { phone: useId(), phoneHint: useId(), code: useId(), problem: useId(), notice: useId() };

  const start = useMutation({ mutationFn: startOtp });
  const verify = useMutation({
    mutationFn: (input: { phone: string; code: string }) => verifyOtp(input.phone, input.code),
  });

  const typedPhone = toE164(phoneInput);
  const cooldownPhone = step === "code" ? phone : typedPhone;
  const secondsLeft = useCountdown(cooldown && cooldown.phone === cooldownPhone ? cooldown.until : 0);

  useEffect(acknowledgeSessionEnd, []);

  useEffect(() => {
    document.title = `${t("login.title")} · ${t("app.name")}`;
  }, [t]);

  useEffect(() => {
    if (step === "code") codeInput.current?.focus();
    else phoneField.current?.focus();
  }, [step]);

  if (hasSession() && !verify.isPending) return <Navigate to={next} replace />;

  const waitUntil = (seconds: number) => Date.now() + seconds * 1000;

  async function requestCode(target: string, isResend: boolean) {
    setProblem(null);
    setServerReason(null);
    try {
      const started = await start.mutateAsync(target);
      setPhone(target);
      setStep("code");
      setCode("");
      setCooldown({ phone: target, until: waitUntil(started.resend_after) });
      setNotice({
        key: "login.codeSent",
        params: { phone: formatPhone(target), minutes: Math.max(1, Math.round(started.expires_in / 60)) },
      });
    } catch (error) {
      if (!isApiError(error)) {
        setProblem({ error });
        return;
      }
      if (error.retryAfter !== null && error.status === 429) {
        setCooldown({ phone: target, until: waitUntil(error.retryAfter) });
      }
      if (error.code === "otp_cooldown" && !isResend) {
        // A code went out moments ago (another tab, a double tap): it still works.
        setPhone(target);
        setStep("code");
        setNotice({ key: "login.codeAlreadySent", params: { phone: formatPhone(target) } });
        return;
      }
      setProblem({ error });
      if (error.code === "invalid_phone" && error.message) setServerReason(error.message);
    }
  }

  function onPhoneSubmit(event: FormEvent) {
    event.preventDefault();
    if (start.isPending || secondsLeft > 0) return;
    if (!typedPhone) {
      setProblem({ key: "errors.phoneFormat" });
      phoneField.current?.focus();
      return;
    }
    void requestCode(typedPhone, false);
  }

  async function onCodeSubmit(event: FormEvent) {
    event.preventDefault();
    if (verify.isPending) return;
    const digits = code.replace(/\D/g, "");
    if (digits.length !== 6) {
      setProblem({ key: "errors.codeFormat" });
      codeInput.current?.focus();
      return;
    }
    setProblem(null);
    try {
      const tokens = await verify.mutateAsync({ phone, code: digits });
      queryClient.clear(); // nothing of a previous user may show for this one
      startSession(tokens);
      navigate(next, { replace: true });
    } catch (error) {
      setProblem({ error });
      if (!isApiError(error)) return;
      if (error.code === "otp_expired") setCooldown(null);
      if (error.code === "otp_locked") {
        setCode("");
        setCooldown(error.retryAfter ? { phone, until: waitUntil(error.retryAfter) } : null);
      }
      codeInput.current?.select();
    }
  }

  function changeNumber() {
    setStep("phone");
    setCode("");
    setNotice(null);
    setProblem(null);
    setServerReason(null);
  }

  const problemText = problem ? ("key" in problem ? t(problem.key) : errorMessage(problem.error, t)) : null;
  const reasonText = reason === "expired" ? t("login.sessionEnded") : reason === "signed_out" ? t("login.signedOut") : null;

  return (
    <div className="login-page">
      <header className="login-top">
        <span className="brand-mark" aria-hidden="true">
          E
        </span>
        <span className="brand-name">{t("app.name")}</span>
        <LanguageSwitch />
      </header>
      <main className="login-card" id="main">
        <h1>{t("login.title")}</h1>
        {reasonText && step === "phone" && !problem && (
          <p className="notice" role="status">
            {reasonText}
          </p>
        )}

        {step === "phone" ? (
          <form onSubmit={onPhoneSubmit} noValidate>
            <p className="muted">{t("login.intro")}</p>
            <label htmlFor={ids.phone}>{t("login.phoneLabel")}</label>
            <div className="phone-input">
              <span className="phone-prefix" aria-hidden="true">
                {t("login.countryCode")}
              </span>
              <input
                ref={phoneField}
                id={ids.phone}
                name="phone"
                type="tel"
                inputMode="tel"
                autoComplete="tel-national"
                value={phoneInput}
                onChange={(event) => setPhoneInput(event.target.value)}
                aria-describedby={`${ids.phoneHint} ${problem ? ids.problem : ""}`.trim()}
                aria-invalid={problem ? true : undefined}
              />
            </div>
            <p className="hint" id={ids.phoneHint}>
              {t("login.phoneHint")}
            </p>
            {problemText && (
              <div className="form-error" role="alert" id={ids.problem}>
                <p>{problemText}</p>
                {serverReason && <p className="form-error-detail">{serverReason}</p>}
              </div>
            )}
            <button className="button primary block" type="submit" disabled={start.isPending || secondsLeft > 0}>
              {start.isPending
                ? t("login.sending")
                : secondsLeft > 0
                  ? t("login.tryAgainIn", { time: formatWait(secondsLeft, t) })
                  : t("login.sendCode")}
            </button>
          </form>
        ) : (
          <form onSubmit={onCodeSubmit} noValidate>
            {notice && (
              <p className="notice" role="status" id={ids.notice}>
                {t(notice.key, notice.params)}
              </p>
            )}
            <label htmlFor={ids.code}>{t("login.codeLabel")}</label>
            <input
              ref={codeInput}
              id={ids.code}
              name="code"
              className="code-input"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={6}
              value={code}
              onChange={(event) => setCode(event.target.value.replace(/\D/g, "").slice(0, 6))}
              aria-describedby={`${notice ? ids.notice : ""} ${problem ? ids.problem : ""}`.trim() || undefined}
              aria-invalid={problem ? true : undefined}
            />
            {problemText && (
              <div className="form-error" role="alert" id={ids.problem}>
                <p>{problemText}</p>
              </div>
            )}
            <button className="button primary block" type="submit" disabled={verify.isPending}>
              {verify.isPending ? t("login.verifying") : t("login.verify")}
            </button>
            <div className="login-secondary">
              <button
                type="button"
                className="button link"
                disabled={start.isPending || secondsLeft > 0}
                onClick={() => void requestCode(phone, true)}
              >
                {secondsLeft > 0 ? t("login.resendIn", { time: formatWait(secondsLeft, t) }) : t("login.resend")}
              </button>
              <button type="button" className="button link" onClick={changeNumber}>
                {t("login.changeNumber")}
              </button>
            </div>
          </form>
        )}
      </main>
    </div>
  );
}
