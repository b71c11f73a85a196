// Small, dependency-free SVG charts for the report: line charts (with confidence bands, step
// lines for histograms, log axes) and grouped bar charts. Each render function returns one
// complete <svg> element, sized in CSS pixels, that draws the same in any browser without
// scripts, fonts or network.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace collapse::svg {

// Escapes text for XML/HTML content and attribute values (&, <, >, ", ').
std::string escape(std::string_view text);

struct Axis {
  std::string label;               // with its unit, e.g. "perplexity (real test split)"
  bool log = false;                // log10 scale; values <= 0 are not drawn
  std::optional<double> min, max;  // a fixed range; otherwise fitted to the data
  bool integer = false;            // ticks on integers only (e.g. generations)
  // Bounds the fitted range never crosses (e.g. 0 for a share): the padding around the data
  // stops there. Linear axes only.
  std::optional<double> floor, ceiling;
};

struct Series {
  std::string label;
  std::string color;             // any SVG colour, e.g. "#0072b2"
  std::vector<double> x, y;      // NaN in y leaves a gap
  // A band from low to high around the line (same size as x; NaN: no band at that point);
  // empty: no band.
  std::vector<double> low, high;
  bool markers = true;           // a dot at every point
  bool step = false;             // histogram: x holds y.size() + 1 bin edges
  std::string dash;              // stroke-dasharray, e.g. "5 3"; empty = solid
  double width = 2.0;            // stroke width, px
};

struct LineChart {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  int width = 600, height = 330;  // px, legend excluded (it adds its own rows below)
  bool legend = false;            // a legend below the plot, one entry per series
  std::string note;               // one line of small text under the title (e.g. "seed 0")
};
std::string render_line_chart(const LineChart& chart);

struct BarSeries {
  std::string label, color;
  std::vector<double> value;      // one per group; NaN: no bar
  std::vector<double> low, high;  // error bar per group (NaN or empty: none)
  std::vector<double> reference;  // a tick drawn across the bar (NaN or empty: none)
};

struct BarChart {
  std::string title;
  std::vector<std::string> groups;  // category labels along x
  std::vector<BarSeries> series;    // one bar per series in every group
  Axis y;
  std::string reference_label;      // legend entry for the reference ticks ("" = none drawn)
  int width = 900, height = 320;
  std::string note;
};
std::string render_bar_chart(const BarChart& chart);

// Colours: a categorical palette for arms (Okabe-Ito, colour-blind safe, without yellow) and a
// sequential ramp (viridis-like, dark to light; t in [0, 1]) for generations.
const std::vector<std::string>& categorical_palette();
std::string ramp_color(double t);

// A tick label for `value` on a linear axis with tick spacing `step` (e.g. "0.25", "12k").
std::string format_tick(double value, double step);
// A tick label on a log axis (e.g. "1", "100", "10k", "0.001").
std::string format_log_tick(double value);

}  // namespace collapse::svg
