// Slot threads update the same metrics at once and a scrape reads them meanwhile: no update is
// lost and a histogram's +Inf bucket always equals its count.
#include "metrics/registry.h"

#include <QList>
#include <QRegularExpression>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace keyline::metrics;

namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 50000;

} // namespace

TEST_CASE("counters gauges and histograms lose no update across threads",
          "[metrics][concurrency]") {
    Registry r;
    Counter& c = r.counter(QStringLiteral("keyline_c_total"), QStringLiteral("c"));
    Gauge& g = r.gauge(QStringLiteral("keyline_g"), QStringLiteral("g"));
    Histogram& h = r.histogram(QStringLiteral("keyline_h"), QStringLiteral("h"), {}, {0.5, 1, 2});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                c.inc();
                g.add(1);
                h.observe(double((t + i) % 4)); // 0, 1, 2, 3: one per bucket and +Inf
            }
        });
    for (auto& t : threads)
        t.join();
    const std::uint64_t total = std::uint64_t(kThreads) * kPerThread;
    CHECK(c.value() == total);
    CHECK(g.value() == double(total));
    const Histogram::Snapshot s = h.snapshot();
    CHECK(s.count == total);
    CHECK(s.cumulative.back() == total);
    CHECK(s.cumulative[0] == total / 4); // the zeros
    CHECK(s.cumulative[1] == total / 2);
    CHECK(s.cumulative[2] == total / 4 * 3);
    CHECK(s.sum == double(total / 4 * (0 + 1 + 2 + 3)));
}

TEST_CASE("a scrape during updates sees +Inf equal to the count", "[metrics][concurrency]") {
    Registry r;
    Histogram& h = r.histogram(QStringLiteral("keyline_h"), QStringLiteral("h"), {}, {1});
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&] {
            while (!stop)
                h.observe(0.5);
        });
    // Registering more series while others update must not move the ones in use.
    std::thread registrar([&] {
        for (int i = 0; i < 200; ++i)
            r.counter(QStringLiteral("keyline_c_total"), QStringLiteral("c"),
                      {{QStringLiteral("n"), QString::number(i)}})
                .inc();
    });
    const QRegularExpression inf(QStringLiteral("keyline_h_bucket\\{le=\"\\+Inf\"\\} (\\d+)"));
    const QRegularExpression count(QStringLiteral("keyline_h_count (\\d+)"));
    for (int i = 0; i < 200; ++i) {
        const QString text = QString::fromUtf8(r.expose());
        const auto a = inf.match(text), b = count.match(text);
        REQUIRE(a.hasMatch());
        REQUIRE(b.hasMatch());
        CHECK(a.captured(1) == b.captured(1));
    }
    stop = true;
    for (auto& t : writers)
        t.join();
    registrar.join();
    CHECK(QString::fromUtf8(r.expose()).count(QStringLiteral("keyline_c_total{")) == 200);
}
