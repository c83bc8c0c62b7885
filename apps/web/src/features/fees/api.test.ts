import { expect, it } from "vitest";

import { structureGrid, type Structure } from "./api";

const line = (head: string, code: string, inst: string, name: string, due: string, amount: number) => ({
  id: `${head}-${inst}`,
  head_id: head,
  head_code: code,
  instalment_id: inst,
  instalment_name: name,
  due_on: due,
  amount,
});

it("lays a structure out as heads by instalments in due order, with totals", () => {
  const structure: Structure = {
    id: "s",
    academic_year_id: "y",
    class_id: "c",
    class_name: "6",
    name: "Class 6",
    annual_total: 0,
    lines: [
      line("h2", "TUITION", "q2", "Quarter 2", "2026-07-10", 300000),
      line("h1", "BUS", "q1", "Quarter 1", "2026-04-10", 100000),
      line("h2", "TUITION", "q1", "Quarter 1", "2026-04-10", 300001),
    ],
  };
  const grid = structureGrid(structure);
  expect(grid.instalments.map((i) => i.name)).toEqual(["Quarter 1", "Quarter 2"]);
  expect(grid.rows.map((r) => [r.head_code, r.cells, r.total])).toEqual([
    ["BUS", [100000, null], 100000],
    ["TUITION", [300001, 300000], 600001],
  ]);
  expect(grid.totals).toEqual([400001, 300000]);
});
