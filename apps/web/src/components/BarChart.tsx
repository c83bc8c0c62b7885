/**
 * A tiny horizontal bar chart in SVG: label, bar, value. Enough for "attendance by
 * class" and "collected against due" without shipping a chart library to phones.
 * Each bar may carry a `total`, drawn as a faint track behind the value.
 */
import { useT } from "../i18n";

export interface Bar {
  label: string;
  value: number;
  /** The whole the value is part of (e.g. students on roll, amount due). */
  total?: number;
}

const ROW = 28;
const LABEL_WIDTH = 84;
const VALUE_WIDTH = 64;
const WIDTH = 360;

export function BarChart({
  bars,
  title,
  formatValue = (bar) => String(bar.value),
  emptyText,
}: {
  bars: readonly Bar[];
  title: string;
  formatValue?: (bar: Bar) => string;
  emptyText?: string;
}) {
  const t = useT();
  if (bars.length === 0) {
    return <p className="chart-empty">{emptyText ?? t("chart.noData")}</p>;
  }
  const scale = Math.max(1, ...bars.map((bar) => Math.max(bar.value, bar.total ?? 0)));
  const barSpace = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = bars.length * ROW;
  return (
    <svg
      className="bar-chart"
      role="img"
      aria-label={`${title}: ${bars.map((bar) => `${bar.label} ${formatValue(bar)}`).join(", ")}`}
      viewBox={`0 0 ${WIDTH} ${height}`}
      preserveAspectRatio="xMinYMin meet"
    >
      {bars.map((bar, index) => {
        const y = index * ROW;
        const width = (Math.max(0, bar.value) / scale) * barSpace;
        return (
          <g key={bar.label} data-testid="bar">
            <text x={0} y={y + ROW / 2} dominantBaseline="middle" className="bar-label">
              {bar.label}
            </text>
            {bar.total !== undefined && (
              <rect className="bar-track" x={LABEL_WIDTH} y={y + 6} width={(bar.total / scale) * barSpace} height={ROW - 12} rx={3} />
            )}
            <rect className="bar-value" x={LABEL_WIDTH} y={y + 6} width={width} height={ROW - 12} rx={3} />
            <text x={WIDTH} y={y + ROW / 2} dominantBaseline="middle" textAnchor="end" className="bar-number">
              {formatValue(bar)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
