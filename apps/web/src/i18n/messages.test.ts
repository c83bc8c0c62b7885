import { describe, expect, it } from "vitest";

import { en, hi } from "./messages";
import { languageFrom, translate } from "./index";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the dictionaries", () => {
  it("have a Hindi text for every English one, with the same placeholders", () => {
    expect(Object.keys(hi).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(hi[key].trim(), key).not.toBe("");
      expect(placeholders(hi[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("fill placeholders and leave unknown ones visible", () => {
    expect(translate("en", "dashboard.greeting", { name: "Sunita" })).toBe("Hello, Sunita");
    expect(translate("hi", "dashboard.greeting", { name: "Sunita" })).toBe("नमस्ते, Sunita");
    expect(translate("en", "dashboard.greeting")).toBe("Hello, {name}");
  });

  it("read a user's preferred language", () => {
    expect(languageFrom("hi-IN")).toBe("hi");
    expect(languageFrom("en")).toBe("en");
    expect(languageFrom("ta")).toBeNull();
  });
});
