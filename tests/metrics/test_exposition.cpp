// The Prometheus text format 0.0.4 as the registry writes it: HELP and TYPE once per family,
// histogram buckets cumulative up to le="+Inf", label values and help texts escaped.
#include "metrics/exposition.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace keyline::metrics;

TEST_CASE("counters and gauges are written with HELP and TYPE lines", "[metrics][exposition]") {
    Registry r;
    r.counter(QStringLiteral("keyline_test_total"), QStringLiteral("Things counted."),
              {{QStringLiteral("station"), QStringLiteral("s1")}})
        .inc(3);
    r.gauge(QStringLiteral("keyline_depth"), QStringLiteral("A depth.")).set(2.5);
    CHECK(r.expose().toStdString() == "# HELP keyline_test_total Things counted.\n"
                                      "# TYPE keyline_test_total counter\n"
                                      "keyline_test_total{station=\"s1\"} 3\n"
                                      "# HELP keyline_depth A depth.\n"
                                      "# TYPE keyline_depth gauge\n"
                                      "keyline_depth 2.5\n");
}

TEST_CASE("series of one family share its HELP and TYPE lines", "[metrics][exposition]") {
    Registry r;
    const QString name = QStringLiteral("keyline_failed_total");
    Counter& a =
        r.counter(name, QStringLiteral("h"), {{QStringLiteral("step"), QStringLiteral("a")}});
    Counter& b =
        r.counter(name, QStringLiteral("h"), {{QStringLiteral("step"), QStringLiteral("b")}});
    CHECK(&a != &b);
    CHECK(&a ==
          &r.counter(name, QStringLiteral("h"), {{QStringLiteral("step"), QStringLiteral("a")}}));
    a.inc();
    CHECK(r.expose().toStdString() == "# HELP keyline_failed_total h\n"
                                      "# TYPE keyline_failed_total counter\n"
                                      "keyline_failed_total{step=\"a\"} 1\n"
                                      "keyline_failed_total{step=\"b\"} 0\n");
}

TEST_CASE("a histogram writes cumulative buckets up to +Inf then sum and count",
          "[metrics][exposition]") {
    Registry r;
    Histogram& h = r.histogram(QStringLiteral("keyline_step_seconds"), QStringLiteral("Steps."),
                               {{QStringLiteral("step"), QStringLiteral("flash")}}, {0.1, 1, 2.5});
    h.observe(0.05);
    h.observe(0.1); // on a bound: counted in that bucket (le is "less than or equal")
    h.observe(2);
    h.observe(7);
    CHECK(r.expose().toStdString() == "# HELP keyline_step_seconds Steps.\n"
                                      "# TYPE keyline_step_seconds histogram\n"
                                      "keyline_step_seconds_bucket{step=\"flash\",le=\"0.1\"} 2\n"
                                      "keyline_step_seconds_bucket{step=\"flash\",le=\"1\"} 2\n"
                                      "keyline_step_seconds_bucket{step=\"flash\",le=\"2.5\"} 3\n"
                                      "keyline_step_seconds_bucket{step=\"flash\",le=\"+Inf\"} 4\n"
                                      "keyline_step_seconds_sum{step=\"flash\"} 9.15\n"
                                      "keyline_step_seconds_count{step=\"flash\"} 4\n");
}

TEST_CASE("a histogram without labels has le as its only label", "[metrics][exposition]") {
    Registry r;
    r.histogram(QStringLiteral("keyline_h"), QStringLiteral("h"), {}, {1});
    const std::string text = r.expose().toStdString();
    CHECK(text.find("keyline_h_bucket{le=\"1\"} 0\n") != std::string::npos);
    CHECK(text.find("keyline_h_bucket{le=\"+Inf\"} 0\n") != std::string::npos);
    CHECK(text.find("keyline_h_sum 0\n") != std::string::npos);
    CHECK(text.find("keyline_h_count 0\n") != std::string::npos);
}

TEST_CASE("label values escape backslash quote and line feed", "[metrics][exposition]") {
    CHECK(escapeLabelValue(QStringLiteral("a\\b\"c\nd")).toStdString() == "a\\\\b\\\"c\\nd");
    CHECK(escapeLabelValue(QStringLiteral("plain-value_1.0")).toStdString() == "plain-value_1.0");
    CHECK(escapeLabelValue(QString::fromUtf8("Zürich")) == QByteArray("Z\xc3\xbcrich"));
    Registry r;
    r.counter(QStringLiteral("keyline_c_total"), QStringLiteral("c"),
              {{QStringLiteral("order"), QStringLiteral("PO \"7\"\\x\n")}});
    CHECK(r.expose().contains("keyline_c_total{order=\"PO \\\"7\\\"\\\\x\\n\"} 0\n"));
}

TEST_CASE("help texts escape backslash and line feed but not quotes", "[metrics][exposition]") {
    CHECK(escapeHelp(QStringLiteral("a \"b\" c\\d\ne")).toStdString() == "a \"b\" c\\\\d\\ne");
}

TEST_CASE("sample values are shortest decimals or Inf and NaN", "[metrics][exposition]") {
    CHECK(formatValue(0.005).toStdString() == "0.005");
    CHECK(formatValue(1).toStdString() == "1");
    CHECK(formatValue(-2.5).toStdString() == "-2.5");
    CHECK(formatValue(1e21).toStdString() == "1e+21");
    CHECK(formatValue(HUGE_VAL).toStdString() == "+Inf");
    CHECK(formatValue(-HUGE_VAL).toStdString() == "-Inf");
    CHECK(formatValue(std::nan("")).toStdString() == "NaN");
}

TEST_CASE("metric and label names follow the Prometheus data model", "[metrics][exposition]") {
    CHECK(isValidMetricName(QStringLiteral("keyline_units_passed_total")));
    CHECK(isValidMetricName(QStringLiteral("ns:rule_name")));
    CHECK_FALSE(isValidMetricName(QStringLiteral("1abc")));
    CHECK_FALSE(isValidMetricName(QStringLiteral("a-b")));
    CHECK_FALSE(isValidMetricName(QString()));
    CHECK(isValidLabelName(QStringLiteral("step")));
    CHECK_FALSE(isValidLabelName(QStringLiteral("__reserved")));
    CHECK_FALSE(isValidLabelName(QStringLiteral("a:b")));
}

TEST_CASE("exponential buckets grow by the factor", "[metrics][exposition]") {
    const std::vector<double> b = exponentialBuckets(0.5, 2, 4);
    CHECK(b == std::vector<double>{0.5, 1, 2, 4});
}
