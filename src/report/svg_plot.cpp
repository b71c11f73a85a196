#include "collapse/report/svg_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace collapse::svg {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kFont =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
constexpr double kTickFont = 11.0, kLabelFont = 12.0, kTitleFont = 13.5, kLegendFont = 11.5;
constexpr const char* kInk = "#222";
constexpr const char* kMuted = "#666";
constexpr const char* kGrid = "#e6e6e6";

// Width of a text in px, estimated (average glyph ~0.56 em in a sans-serif face).
double text_width(std::string_view text, double font) {
  return 0.56 * font * static_cast<double>(text.size());
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

// A linear or log10 mapping of an axis range onto pixels.
struct Scale {
  double lo = 0, hi = 1;  // data range (log10 of it for log axes)
  double p0 = 0, p1 = 1;  // pixels
  bool log = false;
  double operator()(double v) const {
    const double t = ((log ? std::log10(v) : v) - lo) / (hi - lo);
    return p0 + t * (p1 - p0);
  }
};

bool drawable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= raw * 0.999) return m * magnitude;
  }
  return 10 * magnitude;
}

struct Ticks {
  std::vector<double> values;
  double step = 1;  // linear axes
};

// The data range [lo, hi] (log10 units for log axes) widened to nice tick values.
Ticks fit_axis(const Axis& axis, double data_lo, double data_hi, double& lo, double& hi) {
  Ticks ticks;
  if (axis.log) {
    double a = std::log10(data_lo), b = std::log10(data_hi);
    if (axis.min) a = std::log10(*axis.min);
    if (axis.max) b = std::log10(*axis.max);
    if (b - a < 1e-9) a -= 0.5, b += 0.5;
    lo = axis.min ? a : std::floor(a + 1e-9);
    hi = axis.max ? b : std::ceil(b - 1e-9);
    if (hi - lo < 1e-9) hi = lo + 1;
    const bool sub = hi - lo <= 2.0;  // few decades: label 2 and 5 too
    for (double e = std::floor(lo); e <= hi + 1e-9; e += 1.0) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !sub) continue;
        const double v = m * std::pow(10.0, e);
        const double l = std::log10(v);
        if (l >= lo - 1e-9 && l <= hi + 1e-9) ticks.values.push_back(v);
      }
    }
    return ticks;
  }
  double a = axis.min ? *axis.min : data_lo, b = axis.max ? *axis.max : data_hi;
  if (b - a < 1e-12 * std::max(1.0, std::abs(a))) {
    const double pad = a == 0 ? 1.0 : std::abs(a) * 0.1;
    if (!axis.min) a -= pad;
    if (!axis.max) b += pad;
  } else if (!axis.integer) {  // a little air above and below the data
    const double pad = (b - a) * 0.04;
    if (!axis.min) a -= pad;
    if (!axis.max) b += pad;
  }
  double step = nice_step((b - a) / 5.0);
  if (axis.integer) step = std::max(1.0, std::round(step));
  lo = axis.min ? a : std::floor(a / step + 1e-9) * step;
  hi = axis.max ? b : std::ceil(b / step - 1e-9) * step;
  if (axis.floor && lo < *axis.floor) lo = *axis.floor;
  if (axis.ceiling && hi > *axis.ceiling) hi = *axis.ceiling;
  if (axis.integer && !axis.min && !axis.max) {  // integer axes keep half a step of room
    lo = a - 0.3 * step;
    hi = b + 0.3 * step;
  }
  ticks.step = step;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) {
    ticks.values.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
  }
  return ticks;
}

std::string text(double x, double y, std::string_view content, double font,
                 const char* anchor = "start", const char* fill = kInk,
                 const std::string& extra = "") {
  return fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{}\" fill=\"{}\"{}>{}</text>\n",
      num(x), num(y), font, anchor, fill, extra, escape(content));
}

std::string svg_open(int width, double height, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" viewBox=\"0 0 {} "
      "{:.0f}\" font-family=\"{}\" role=\"img\">\n<title>{}</title>\n",
      width, std::ceil(height), width, std::ceil(height), kFont, escape(title));
}

struct LegendItem {
  std::string label, color, dash;
  bool bar = false;      // a filled square instead of a line
  bool marker = false;   // a dot on the line
};

// Legend rows wrapped to `width`; returns the SVG and adds its height to `height`.
std::string legend(const std::vector<LegendItem>& items, double left, double top, double width,
                   double& height) {
  std::string out;
  double x = left, y = top + 12;
  for (const LegendItem& item : items) {
    const double w = 26 + text_width(item.label, kLegendFont) + 16;
    if (x > left && x + w > left + width) x = left, y += 18;
    if (item.bar) {
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n",
                         num(x + 4), num(y - 10), item.color);
    } else {
      out += fmt::format(
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2.5\"{}/>\n",
          num(x), num(y - 4), num(x + 20), num(y - 4), item.color,
          item.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", item.dash));
      if (item.marker) {
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", num(x + 10),
                           num(y - 4), item.color);
      }
    }
    out += text(x + 26, y, item.label, kLegendFont);
    x += w;
  }
  height = y - top + 8;
  return out;
}

// Label shortened to fit a width (with an ellipsis).
std::string fit(const std::string& label, double width, double font) {
  if (text_width(label, font) <= width) return label;
  auto chars = static_cast<std::size_t>(std::max(1.0, width / (0.56 * font)) - 1);
  while (chars > 0 && (static_cast<unsigned char>(label[chars]) & 0xC0) == 0x80) --chars;
  return label.substr(0, chars) + "\xE2\x80\xA6";
}

// Plot frame: grid, ticks and labels of both axes. Returns the markup; `sx`, `sy` are ready.
struct Frame {
  Scale sx, sy;
  Ticks tx, ty;
  double left, right, top, bottom;  // plot area in px
};

std::string draw_axes(const Frame& f, const Axis& x_axis, const Axis& y_axis,
                      const std::vector<std::string>* categories = nullptr) {
  std::string out;
  // Horizontal grid lines and y tick labels.
  for (double v : f.ty.values) {
    const double py = f.sy(v);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n",
                       num(f.left), num(py), num(f.right), num(py), kGrid);
    const std::string label = y_axis.log ? format_log_tick(v) : format_tick(v, f.ty.step);
    out += text(f.left - 6, py + 3.5, label, kTickFont, "end", kMuted);
  }
  // X ticks.
  if (categories) {
    const double band = (f.right - f.left) / static_cast<double>(categories->size());
    for (std::size_t i = 0; i < categories->size(); ++i) {
      out += text(f.left + band * (static_cast<double>(i) + 0.5), f.bottom + 16, (*categories)[i],
                  kTickFont, "middle", kInk);
    }
  } else {
    for (double v : f.tx.values) {
      const double px = f.sx(v);
      if (x_axis.log) {
        out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n",
                           num(px), num(f.top), num(px), num(f.bottom), kGrid);
      }
      out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", num(px),
                         num(f.bottom), num(px), num(f.bottom + 4), kMuted);
      const std::string label = x_axis.log ? format_log_tick(v) : format_tick(v, f.tx.step);
      out += text(px, f.bottom + 16, label, kTickFont, "middle", kMuted);
    }
  }
  // Axis lines.
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n",
                     num(f.left), num(f.bottom), num(f.right), num(f.bottom), kMuted);
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n",
                     num(f.left), num(f.top), num(f.left), num(f.bottom), kMuted);
  // Axis labels.
  if (!x_axis.label.empty()) {
    out += text((f.left + f.right) / 2, f.bottom + 34, x_axis.label, kLabelFont, "middle");
  }
  if (!y_axis.label.empty()) {
    // Rotated along the plot's height: a smaller font where the label is longer than that.
    const double room = f.bottom - f.top + 16;
    const double font = std::max(9.0, std::min(kLabelFont, kLabelFont * room /
                                                               text_width(y_axis.label, kLabelFont)));
    const double cx = 14, cy = (f.top + f.bottom) / 2;
    out += text(cx, cy, fit(y_axis.label, room, font), font, "middle", kInk,
                fmt::format(" transform=\"rotate(-90 {} {})\"", num(cx), num(cy)));
  }
  return out;
}

// Left margin: the widest y tick label plus room for the rotated axis label.
double left_margin(const Ticks& ticks, const Axis& axis) {
  double widest = 0;
  for (double v : ticks.values) {
    const std::string label = axis.log ? format_log_tick(v) : format_tick(v, ticks.step);
    widest = std::max(widest, text_width(label, kTickFont));
  }
  return widest + 10 + (axis.label.empty() ? 4 : 24);
}

// Title and note; returns the height they take.
std::string header(const std::string& title, const std::string& note, double& height) {
  std::string out;
  height = 8;
  if (!title.empty()) {
    out += text(8, 20, title, kTitleFont, "start", kInk, " font-weight=\"600\"");
    height = 30;
  }
  if (!note.empty()) {
    out += text(8, height + 6, note, kTickFont, "start", kMuted);
    height += 16;
  }
  return out;
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_tick(double value, double step) {
  if (value == 0) return "0";
  const double a = std::abs(value);
  if (a >= 1e4) {
    const double scale = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : 1e3;
    const char* suffix = a >= 1e9 ? "G" : a >= 1e6 ? "M" : "k";
    std::string s = fmt::format("{:.2f}", value / scale);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + suffix;
  }
  if (a < 1e-3) return fmt::format("{:.1e}", value);
  int decimals = 0;
  while (decimals < 8) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) break;
    ++decimals;
  }
  return fmt::format("{:.{}f}", value, decimals);
}

std::string format_log_tick(double value) {
  if (value >= 1e3) return format_tick(value, value);
  if (value >= 1) return fmt::format("{:.0f}", value);
  return fmt::format("{:g}", value);
}

const std::vector<std::string>& categorical_palette() {
  static const std::vector<std::string> palette = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                   "#e69f00", "#56b4e9", "#000000", "#8c564b"};
  return palette;
}

std::string ramp_color(double t) {
  // viridis at 0, 0.25, 0.5, 0.75, 0.9 (the last yellows are too light on white).
  static constexpr std::array<std::array<double, 3>, 5> anchors = {{{68, 1, 84},
                                                                    {59, 82, 139},
                                                                    {33, 145, 140},
                                                                    {94, 201, 98},
                                                                    {189, 223, 38}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (anchors.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(t), anchors.size() - 2);
  const double f = t - static_cast<double>(i);
  auto channel = [&](int c) {
    return static_cast<int>(std::lround(anchors[i][c] + f * (anchors[i + 1][c] - anchors[i][c])));
  };
  return fmt::format("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2));
}

std::string render_line_chart(const LineChart& chart) {
  // The data's extent, bands included.
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  auto see_x = [&](double v) {
    if (drawable(v, chart.x.log)) x_lo = std::min(x_lo, v), x_hi = std::max(x_hi, v);
  };
  auto see_y = [&](double v) {
    if (drawable(v, chart.y.log)) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
  };
  for (const Series& s : chart.series) {
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      if (!drawable(s.y[i], chart.y.log)) continue;
      see_y(s.y[i]);
      see_x(s.x[i]);
      if (s.step && i + 1 < s.x.size()) see_x(s.x[i + 1]);
      if (i < s.low.size()) see_y(s.low[i]);
      if (i < s.high.size()) see_y(s.high[i]);
    }
  }
  const bool empty = !(x_lo <= x_hi);
  if (empty) x_lo = 1, x_hi = 10, y_lo = 1, y_hi = 10;

  double header_height = 0;
  std::string body = header(chart.title, chart.note, header_height);
  Frame f;
  double lx = 0, ly = 0;
  f.tx = fit_axis(chart.x, x_lo, x_hi, lx, f.sx.hi);
  f.sx.lo = lx;
  f.ty = fit_axis(chart.y, y_lo, y_hi, ly, f.sy.hi);
  f.sy.lo = ly;
  f.sx.log = chart.x.log;
  f.sy.log = chart.y.log;
  // Ticks are values; the scale works in log10 units for log axes (fit_axis returned those).
  f.left = left_margin(f.ty, chart.y);
  f.right = chart.width - 14.0;
  f.top = header_height + 8;
  f.bottom = chart.height - (chart.x.label.empty() ? 26.0 : 44.0);
  f.sx.p0 = f.left, f.sx.p1 = f.right;
  f.sy.p0 = f.bottom, f.sy.p1 = f.top;
  body += draw_axes(f, chart.x, chart.y);
  if (empty) {
    body += text((f.left + f.right) / 2, (f.top + f.bottom) / 2, "no data", kLabelFont, "middle",
                 kMuted);
  }

  for (const Series& s : chart.series) {
    // Band: one polygon per run of consecutive points that have one.
    if (!s.low.empty() && !s.high.empty()) {
      std::size_t i = 0;
      while (i < s.y.size()) {
        auto has_band = [&](std::size_t k) {
          return k < s.low.size() && k < s.high.size() && drawable(s.low[k], chart.y.log) &&
                 drawable(s.high[k], chart.y.log) && drawable(s.x[k], chart.x.log);
        };
        if (!has_band(i)) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j + 1 < s.y.size() && has_band(j + 1)) ++j;
        std::string points;
        for (std::size_t k = i; k <= j; ++k) {
          points += fmt::format("{},{} ", num(f.sx(s.x[k])), num(f.sy(s.high[k])));
        }
        for (std::size_t k = j + 1; k-- > i;) {
          points += fmt::format("{},{} ", num(f.sx(s.x[k])), num(f.sy(s.low[k])));
        }
        if (j == i) {  // a single point: a short vertical bar
          body += fmt::format(
              "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-opacity=\"0.35\" "
              "stroke-width=\"6\"/>\n",
              num(f.sx(s.x[i])), num(f.sy(s.high[i])), num(f.sy(s.low[i])), s.color);
        } else {
          body += fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.18\"/>\n",
                              points, s.color);
        }
        i = j + 1;
      }
    }
    // Line: one path, broken at gaps.
    std::string d;
    bool pen_down = false;
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      if (!drawable(s.y[i], chart.y.log) || !drawable(s.x[i], chart.x.log) ||
          (s.step && !(i + 1 < s.x.size() && drawable(s.x[i + 1], chart.x.log)))) {
        pen_down = false;
        continue;
      }
      const double py = f.sy(s.y[i]);
      d += fmt::format("{}{} {} ", pen_down ? "L" : "M", num(f.sx(s.x[i])), num(py));
      if (s.step) d += fmt::format("L{} {} ", num(f.sx(s.x[i + 1])), num(py));
      pen_down = true;
    }
    if (!d.empty()) {
      body += fmt::format(
          "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-linejoin=\"round\"{}/>\n",
          d, s.color, s.width,
          s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash));
    }
    if (s.markers && !s.step) {
      for (std::size_t i = 0; i < s.y.size(); ++i) {
        if (!drawable(s.y[i], chart.y.log) || !drawable(s.x[i], chart.x.log)) continue;
        body += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n",
                            num(f.sx(s.x[i])), num(f.sy(s.y[i])), s.color);
      }
    }
  }

  double height = chart.height;
  if (chart.legend && !chart.series.empty()) {
    std::vector<LegendItem> items;
    for (const Series& s : chart.series) {
      items.push_back({s.label, s.color, s.dash, false, s.markers && !s.step});
    }
    double legend_height = 0;
    body += legend(items, f.left, chart.height - 4, chart.width - f.left - 8, legend_height);
    height += legend_height;
  }
  return svg_open(chart.width, height, chart.title) + body + "</svg>\n";
}

std::string render_bar_chart(const BarChart& chart) {
  double y_lo = 0, y_hi = 0;
  for (const BarSeries& s : chart.series) {
    for (std::size_t g = 0; g < s.value.size(); ++g) {
      for (double v : {s.value[g], g < s.high.size() ? s.high[g] : kNaN,
                       g < s.reference.size() ? s.reference[g] : kNaN}) {
        if (std::isfinite(v)) y_hi = std::max(y_hi, v), y_lo = std::min(y_lo, v);
      }
    }
  }
  if (y_hi <= y_lo) y_hi = y_lo + 1;
  double header_height = 0;
  std::string body = header(chart.title, chart.note, header_height);
  Frame f;
  Axis y = chart.y;
  y.log = false;
  double lo = 0, hi = 0;
  f.ty = fit_axis(y, y_lo, y_hi, lo, hi);
  f.sy.lo = lo, f.sy.hi = hi;
  f.left = left_margin(f.ty, y);
  f.right = chart.width - 14.0;
  f.top = header_height + 8;
  f.bottom = chart.height - 30.0;
  f.sy.p0 = f.bottom, f.sy.p1 = f.top;
  body += draw_axes(f, Axis{}, y, &chart.groups);

  const double band = (f.right - f.left) / static_cast<double>(std::max<std::size_t>(1, chart.groups.size()));
  const double n = static_cast<double>(std::max<std::size_t>(1, chart.series.size()));
  const double bar = std::min(36.0, band * 0.8 / n);
  for (std::size_t si = 0; si < chart.series.size(); ++si) {
    const BarSeries& s = chart.series[si];
    for (std::size_t g = 0; g < chart.groups.size() && g < s.value.size(); ++g) {
      const double x0 = f.left + band * (static_cast<double>(g) + 0.5) - bar * n / 2 +
                        bar * static_cast<double>(si);
      if (std::isfinite(s.value[g])) {
        const double top = f.sy(std::max(0.0, s.value[g])), base = f.sy(std::min(0.0, s.value[g]));
        body += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
            num(x0 + 1), num(top), num(bar - 2), num(std::max(0.5, base - top)), s.color,
            escape(s.label), fmt::format("{:.4g}", s.value[g]));
      }
      if (g < s.low.size() && g < s.high.size() && std::isfinite(s.low[g]) &&
          std::isfinite(s.high[g])) {
        const double cx = x0 + bar / 2;
        body += fmt::format(
            "<path d=\"M{0} {1} L{0} {2} M{3} {1} L{4} {1} M{3} {2} L{4} {2}\" stroke=\"{5}\" "
            "stroke-width=\"1.3\" fill=\"none\"/>\n",
            num(cx), num(f.sy(s.high[g])), num(f.sy(s.low[g])), num(cx - 4), num(cx + 4), kInk);
      }
      if (!chart.reference_label.empty() && g < s.reference.size() &&
          std::isfinite(s.reference[g])) {
        const double py = f.sy(s.reference[g]);
        body += fmt::format(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" "
            "stroke-dasharray=\"3 2\"/>\n",
            num(x0 - 1), num(py), num(x0 + bar + 1), num(py), kInk);
      }
    }
  }
  std::vector<LegendItem> items;
  for (const BarSeries& s : chart.series) items.push_back({fit(s.label, 300, kLegendFont), s.color, "", true, false});
  if (!chart.reference_label.empty()) items.push_back({chart.reference_label, kInk, "3 2", false, false});
  double legend_height = 0;
  body += legend(items, f.left, chart.height - 4, chart.width - f.left - 8, legend_height);
  return svg_open(chart.width, chart.height + legend_height, chart.title) + body + "</svg>\n";
}

}  // namespace collapse::svg
