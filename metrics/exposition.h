#pragma once

// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): what the HTTP endpoint serves
// and the textfile holds.

#include "metrics/registry.h"

#include <QByteArray>

namespace keyline::metrics {

inline constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A label value between double quotes: backslash, double quote and line feed escaped.
QByteArray escapeLabelValue(const QString& value);
// A HELP text: backslash and line feed escaped.
QByteArray escapeHelp(const QString& help);
// A sample value: shortest round-trip decimal, or +Inf, -Inf, NaN.
QByteArray formatValue(double value);

// One family: its HELP and TYPE lines, then every series (histograms as _bucket with le,
// _sum and _count).
void writeFamily(QByteArray& out, const Registry::Family& family);

} // namespace keyline::metrics
