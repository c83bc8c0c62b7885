import { describe, expect, it } from "vitest";

import { ApiError } from "./api";
import { errorMessage } from "./errorMessages";
import { translate } from "./i18n";

const t = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => translate("en", key, params);

describe("error messages a school user understands", () => {
  it.each([
    [new ApiError(400, "otp_invalid", "x", { attempts_left: 4 }), "That code is not right. Tries left: 4."],
    [new ApiError(400, "otp_invalid", "x"), "That code is not right. Please check it and try again."],
    [new ApiError(400, "otp_expired", "x"), "This code has expired. Ask for a new code."],
    [new ApiError(429, "otp_cooldown", "x", null, 20), "A code was just sent. Please wait 20 sec before asking for another."],
    [new ApiError(429, "rate_limited", "x", null, 3600), "Too many attempts. Please try again in 60 min."],
    [new ApiError(401, "no_account", "x"), "This number is not registered with the school. Please ask the school office to add it."],
    [new ApiError(401, "refresh_reused", "x"), "Your session has ended. Please sign in again."],
    [new ApiError(403, "permission_denied", "x"), "You do not have permission to do this. Ask your school's administrator if you need it."],
    [new ApiError(0, "network_error", "x"), "Cannot reach the school's server. Check your internet connection and try again."],
    [new ApiError(503, "unavailable", "x"), "Something went wrong on our side. Please try again in a minute."],
    [new ApiError(418, "teapot", "x"), "Something went wrong. Please try again."],
    [new Error("boom"), "Something went wrong. Please try again."],
  ])("%o", (error, expected) => {
    expect(errorMessage(error, t)).toBe(expected);
  });

  it("never shows the raw code", () => {
    expect(errorMessage(new ApiError(409, "school_choice_required", "x"), t)).not.toContain("school_choice_required");
  });
});
