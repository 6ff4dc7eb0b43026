#include "metrics/exposition.h"

#include <charconv>
#include <cmath>

namespace keyline::metrics {

namespace {

// Backslash and line feed always; the double quote only inside label values.
QByteArray escaped(const QString& text, bool quote) {
    const QByteArray utf8 = text.toUtf8();
    QByteArray out;
    out.reserve(utf8.size());
    for (char c : utf8) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

} // namespace

QByteArray escapeLabelValue(const QString& value) {
    return escaped(value, true);
}

QByteArray escapeHelp(const QString& help) {
    return escaped(help, false);
}

QByteArray formatValue(double value) {
    if (std::isnan(value))
        return QByteArrayLiteral("NaN");
    if (std::isinf(value))
        return value > 0 ? QByteArrayLiteral("+Inf") : QByteArrayLiteral("-Inf");
    char buffer[64];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
    return QByteArray(buffer, int(r.ptr - buffer));
}

namespace {

const char* typeName(Kind kind) {
    switch (kind) {
    case Kind::Counter:
        return "counter";
    case Kind::Gauge:
        return "gauge";
    case Kind::Histogram:
        return "histogram";
    }
    return "untyped";
}

// `{a="x",b="y"}`, with `extra` (the histogram's le) last; nothing when there are no labels.
QByteArray labelSet(const Labels& labels, const QByteArray& extra = {}) {
    if (labels.empty() && extra.isEmpty())
        return {};
    QByteArray out = "{";
    for (const Label& l : labels) {
        if (out.size() > 1)
            out += ',';
        out += l.name.toUtf8() + "=\"" + escapeLabelValue(l.value) + '"';
    }
    if (!extra.isEmpty()) {
        if (out.size() > 1)
            out += ',';
        out += extra;
    }
    return out + '}';
}

void sample(QByteArray& out, const QByteArray& name, const QByteArray& labels,
            const QByteArray& value) {
    out += name + labels + ' ' + value + '\n';
}

} // namespace

void writeFamily(QByteArray& out, const Registry::Family& family) {
    const QByteArray name = family.name.toUtf8();
    out += "# HELP " + name + ' ' + escapeHelp(family.help) + '\n';
    out += "# TYPE " + name + ' ' + typeName(family.kind) + '\n';
    for (const auto& s : family.series) {
        switch (family.kind) {
        case Kind::Counter:
            sample(out, name, labelSet(s->labels), QByteArray::number(s->counter->value()));
            break;
        case Kind::Gauge:
            sample(out, name, labelSet(s->labels), formatValue(s->gauge->value()));
            break;
        case Kind::Histogram: {
            const Histogram::Snapshot h = s->histogram->snapshot();
            for (std::size_t i = 0; i < h.upperBounds.size(); ++i)
                sample(out, name + "_bucket",
                       labelSet(s->labels, "le=\"" + formatValue(h.upperBounds[i]) + '"'),
                       QByteArray::number(h.cumulative[i]));
            sample(out, name + "_bucket", labelSet(s->labels, "le=\"+Inf\""),
                   QByteArray::number(h.count));
            sample(out, name + "_sum", labelSet(s->labels), formatValue(h.sum));
            sample(out, name + "_count", labelSet(s->labels), QByteArray::number(h.count));
            break;
        }
        }
    }
}

} // namespace keyline::metrics
