import { describe, expect, it } from "vitest";

import { changedFields } from "./SchoolProfilePage";
import type { School } from "./api";

const SCHOOL: School = {
  id: "s1",
  code: "demo",
  name: "Green Valley",
  timezone: "Asia/Kolkata",
  address: "14 MG Road",
  phone: "+919800000000",
  email: null,
};

const draft = {
  name: "Green Valley",
  address: "14 MG Road",
  phone: "+919800000000",
  email: "",
  timezone: "Asia/Kolkata",
};

describe("changedFields", () => {
  it("sends nothing when nothing changed", () => {
    expect(changedFields(SCHOOL, draft)).toEqual({});
  });

  it("sends only what changed, and clears an emptied optional field", () => {
    expect(
      changedFields(SCHOOL, { ...draft, name: " Green Valley School ", address: "", email: "a@b.in" }),
    ).toEqual({ name: "Green Valley School", address: null, email: "a@b.in" });
  });
});
