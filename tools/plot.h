/* A small wrapper around PLplot (DESIGN.md §5) for the plots of the aihw tool: one chart of
 * a curve y(x) with a shaded band y ± band(x) around it, written to a PNG or SVG file.
 *
 * Look: white background, dark axes and text, light grey grid, the curve in dark blue and
 * the band in a semi-transparent light blue (PLplot's default is a black background, so
 * every colour used is set before plinit). Optional dashed vertical markers with a label
 * each, and a two-entry legend.
 *
 * Files: the device follows the extension — ".png" (pngcairo) or ".svg" (svgcairo). The
 * chart is drawn into a temporary file next to the target, which is renamed over it only
 * when complete, so a failed or interrupted run never leaves half a file.
 *
 * PLplot keeps global state: not thread-safe, one chart at a time.
 */
#ifndef AIHW_TOOLS_PLOT_H
#define AIHW_TOOLS_PLOT_H

#include <stddef.h>

/* A vertical dashed marker at x with a short label drawn near the top of the chart. */
typedef struct plot_marker {
  double x;
  const char *label; /* may be NULL */
} plot_marker;

/* A curve with a band around it. Arrays are caller-owned and only read. */
typedef struct plot_band_chart {
  const char *title, *x_label, *y_label; /* UTF-8 text; PLplot escapes start with '#' */
  const double *x, *y, *band;            /* n points each; band >= 0 (e.g. one std) */
  size_t n;                              /* >= 2 */
  const char *curve_label, *band_label;  /* legend entries; both NULL: no legend */
  const plot_marker *markers;            /* marker_count markers, may be NULL */
  size_t marker_count;
  int width_px, height_px; /* image size; 0 = 960 x 640 */
} plot_band_chart;

/* PLplot device for a file name by its extension ("pngcairo", "svgcairo"), or NULL if the
 * extension is neither ".png" nor ".svg" (case-insensitive). */
const char *plot_device_for_path(const char *path);

/* Checks before any work that `path` has a plot extension and that a file can be created
 * next to it (creates and removes a temporary file). Returns 0, or -1 with a message. */
int plot_check_path(const char *path, char *err, size_t err_size);

/* Draws the chart into `path`. Returns 0 on success; -1 with a message in err[0..err_size)
 * (bad extension, too few or non-finite points, file not writable, rename failed), in
 * which case no file is left behind and an existing `path` is untouched. */
int plot_band_chart_write(const char *path, const plot_band_chart *chart, char *err,
                          size_t err_size);

/* ---- several series ----------------------------------------------------------------- */

#define PLOT_MAX_SERIES 5

/* One series: points (x[k], y[k]), joined by a line (dashed if asked), with markers if
 * `points`, and a translucent band y ± band[k] in the series' colour when band is not
 * NULL. Arrays are caller-owned. */
typedef struct plot_series {
  const double *x, *y, *band;
  size_t n; /* >= 1 */
  const char *label; /* legend entry; NULL: not in the legend */
  int dashed, points;
} plot_series;

/* Up to PLOT_MAX_SERIES series in distinct colours (blue, orange, green, red, grey), a
 * legend inside the top right corner, and a logarithmic x axis (labels 10^k; every x must
 * be > 0) when log_x is set. y_min < y_max fixes the y range; otherwise it follows the
 * data. */
typedef struct plot_lines_chart {
  const char *title, *x_label, *y_label;
  const plot_series *series;
  size_t count;
  int log_x;
  double y_min, y_max;
  int width_px, height_px; /* 0 = 960 x 640 */
  double x_tick;           /* > 0: major x ticks this far apart, no minor ticks (epochs: 1) */
} plot_lines_chart;

/* Draws the chart into `path` (.png or .svg), atomically as plot_band_chart_write.
 * Returns 0, or -1 with a message (bad extension, no series, non-finite points, x <= 0
 * on a log axis, unwritable file). */
int plot_lines_chart_write(const char *path, const plot_lines_chart *chart, char *err,
                           size_t err_size);

#endif
