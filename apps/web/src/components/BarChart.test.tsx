import { render, screen } from "@testing-library/react";
import { expect, it } from "vitest";

import { I18nProvider } from "../i18n";
import { BarChart } from "./BarChart";

it("draws one bar per row, scaled to the largest, and describes itself", () => {
  render(
    <I18nProvider language="en">
      <BarChart
        title="Today's attendance"
        bars={[
          { label: "6-A", value: 38, total: 40 },
          { label: "6-B", value: 20, total: 40 },
        ]}
        formatValue={(bar) => `${bar.value}/${bar.total}`}
      />
    </I18nProvider>,
  );
  const chart = screen.getByRole("img", { name: "Today's attendance: 6-A 38/40, 6-B 20/40" });
  const values = chart.querySelectorAll("rect.bar-value");
  expect(values).toHaveLength(2);
  expect(Number(values[0].getAttribute("width"))).toBeCloseTo(2 * Number(values[1].getAttribute("width")) * (38 / 40), 5);
});

it("says what will appear when there is nothing to draw", () => {
  render(
    <I18nProvider language="en">
      <BarChart title="Collection" bars={[]} emptyText="Nothing collected yet." />
    </I18nProvider>,
  );
  expect(screen.getByText("Nothing collected yet.")).toBeInTheDocument();
  expect(screen.queryByRole("img")).not.toBeInTheDocument();
});
