#pragma once

// The metrics model: counters, gauges and histograms that the engine's slot threads update
// without a lock (atomics only), and a registry that names them for the exposition
// (exposition.h). Registration is rare and takes a mutex; updating a metric never does, so a
// caller keeps the reference it got at registration and updates that.

#include <QByteArray>
#include <QString>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace keyline::metrics {

struct Label {
    QString name;
    QString value;
    bool operator==(const Label&) const = default;
};
using Labels = std::vector<Label>;

class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> m_value{0};
};

class Gauge {
public:
    void set(double v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    void add(double v) noexcept { m_value.fetch_add(v, std::memory_order_relaxed); }
    double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value{0.0};
};

class Histogram {
public:
    // `upperBounds`: finite, strictly increasing; the +Inf bucket is implicit.
    explicit Histogram(std::vector<double> upperBounds);

    void observe(double v) noexcept;

    struct Snapshot {
        std::vector<double> upperBounds;
        std::vector<std::uint64_t> cumulative; // one per bound, then +Inf (== count)
        double sum = 0.0;
        std::uint64_t count = 0;
    };
    // The cumulative counts are summed from one read of each bucket, so the +Inf bucket always
    // equals the count even while other threads observe.
    Snapshot snapshot() const;

private:
    std::vector<double> m_bounds;
    std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets; // not cumulative; last is +Inf
    std::atomic<double> m_sum{0.0};
};

// Buckets for durations in seconds: `count` bounds from `start`, each `factor` times the last.
std::vector<double> exponentialBuckets(double start, double factor, int count);

enum class Kind { Counter, Gauge, Histogram };

// Metric and label names of the Prometheus data model.
bool isValidMetricName(const QString& name);
bool isValidLabelName(const QString& name);

class Registry {
public:
    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // The metric `name` with these label values, created on first use. The reference stays
    // valid as long as the registry. A name used with two kinds, two helps, two bucket layouts
    // or an invalid name is a bug in the caller and stops the process.
    Counter& counter(const QString& name, const QString& help, const Labels& labels = {});
    Gauge& gauge(const QString& name, const QString& help, const Labels& labels = {});
    Histogram& histogram(const QString& name, const QString& help, const Labels& labels,
                         const std::vector<double>& upperBounds);

    // Text exposition format 0.0.4 of every metric, families in registration order.
    QByteArray expose() const;

    struct Series {
        Labels labels;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
    };
    struct Family {
        QString name;
        QString help;
        Kind kind = Kind::Counter;
        std::vector<double> upperBounds;
        std::vector<std::unique_ptr<Series>> series;
    };

private:
    Series& series(const QString& name, const QString& help, Kind kind, const Labels& labels,
                   const std::vector<double>& upperBounds);

    mutable std::mutex m_mutex;
    std::vector<std::unique_ptr<Family>> m_families;
};

} // namespace keyline::metrics
