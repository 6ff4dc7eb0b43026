#include "metrics/registry.h"

#include "metrics/exposition.h"

#include <QRegularExpression>
#include <algorithm>
#include <cmath>

namespace keyline::metrics {

Histogram::Histogram(std::vector<double> upperBounds)
    : m_bounds(std::move(upperBounds))
    , m_buckets(new std::atomic<std::uint64_t>[m_bounds.size() + 1]) {
    for (std::size_t i = 0; i <= m_bounds.size(); ++i)
        m_buckets[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
    // A dozen bounds: a linear scan beats a binary search and keeps the hot path branch-light.
    std::size_t i = 0;
    while (i < m_bounds.size() && v > m_bounds[i])
        ++i;
    m_buckets[i].fetch_add(1, std::memory_order_relaxed);
    m_sum.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    s.upperBounds = m_bounds;
    s.cumulative.reserve(m_bounds.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
        running += m_buckets[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum = m_sum.load(std::memory_order_relaxed);
    return s;
}

std::vector<double> exponentialBuckets(double start, double factor, int count) {
    std::vector<double> bounds;
    double b = start;
    for (int i = 0; i < count; ++i, b *= factor)
        bounds.push_back(b);
    return bounds;
}

bool isValidMetricName(const QString& name) {
    static const QRegularExpression re(QStringLiteral("^[a-zA-Z_:][a-zA-Z0-9_:]*\\z"));
    return re.match(name).hasMatch();
}

bool isValidLabelName(const QString& name) {
    static const QRegularExpression re(QStringLiteral("^[a-zA-Z_][a-zA-Z0-9_]*\\z"));
    return re.match(name).hasMatch() && !name.startsWith(QStringLiteral("__"));
}

namespace {

bool validBounds(const std::vector<double>& bounds) {
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return false;
    return true;
}

} // namespace

Registry::Series& Registry::series(const QString& name, const QString& help, Kind kind,
                                   const Labels& labels, const std::vector<double>& upperBounds) {
    std::lock_guard lock(m_mutex);
    if (!isValidMetricName(name))
        qFatal("metrics: invalid metric name %s", qUtf8Printable(name));
    for (const Label& l : labels)
        if (!isValidLabelName(l.name) || (kind == Kind::Histogram && l.name == u"le"))
            qFatal("metrics: invalid label name %s on %s", qUtf8Printable(l.name),
                   qUtf8Printable(name));
    if (kind == Kind::Histogram && !validBounds(upperBounds))
        qFatal("metrics: %s: bucket bounds must be finite and increasing", qUtf8Printable(name));
    auto found = std::find_if(m_families.begin(), m_families.end(),
                              [&](const auto& f) { return f->name == name; });
    Family* family = nullptr;
    if (found == m_families.end()) {
        auto made = std::make_unique<Family>();
        made->name = name;
        made->help = help;
        made->kind = kind;
        made->upperBounds = upperBounds;
        family = made.get();
        m_families.push_back(std::move(made));
    } else {
        family = found->get();
        if (family->kind != kind || family->help != help ||
            (kind == Kind::Histogram && family->upperBounds != upperBounds))
            qFatal("metrics: %s registered twice with different kinds, helps or buckets",
                   qUtf8Printable(name));
    }
    for (auto& s : family->series)
        if (s->labels == labels)
            return *s;
    auto s = std::make_unique<Series>();
    s->labels = labels;
    switch (kind) {
    case Kind::Counter:
        s->counter = std::make_unique<Counter>();
        break;
    case Kind::Gauge:
        s->gauge = std::make_unique<Gauge>();
        break;
    case Kind::Histogram:
        s->histogram = std::make_unique<Histogram>(upperBounds);
        break;
    }
    family->series.push_back(std::move(s));
    return *family->series.back();
}

Counter& Registry::counter(const QString& name, const QString& help, const Labels& labels) {
    return *series(name, help, Kind::Counter, labels, {}).counter;
}

Gauge& Registry::gauge(const QString& name, const QString& help, const Labels& labels) {
    return *series(name, help, Kind::Gauge, labels, {}).gauge;
}

Histogram& Registry::histogram(const QString& name, const QString& help, const Labels& labels,
                               const std::vector<double>& upperBounds) {
    return *series(name, help, Kind::Histogram, labels, upperBounds).histogram;
}

QByteArray Registry::expose() const {
    QByteArray out;
    std::lock_guard lock(m_mutex);
    for (const auto& family : m_families)
        writeFamily(out, *family);
    return out;
}

} // namespace keyline::metrics
