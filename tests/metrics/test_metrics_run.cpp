// End to end: `keyline run` against the virtual wearable with [metrics] textfile configured.
// Two genuine devices pass, a counterfeit one fails its chip check; the textfile left at the
// end of the run counts them, their step durations, the registrations waiting in the outbox
// and the HSM calls, and names no device.
#include "station/config.h"
#include "station/line_fixture.h"
#include "station/run_process.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTemporaryDir>

using namespace keyline;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

namespace {

QByteArray readFile(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The value of the sample `series` (name and labels exactly as written), or -1 without one.
double sample(const QByteArray& text, const QString& series) {
    for (const QByteArray& line : text.split('\n'))
        if (line.startsWith(series.toUtf8() + ' '))
            return line.mid(series.toUtf8().size() + 1).toDouble();
    return -1;
}

} // namespace

TEST_CASE("a run writes its line metrics to the node_exporter textfile", "[metrics][run]") {
    LineFixture f;
    const QString prom = f.path(QStringLiteral("keyline.prom"));
    {
        QFile config(f.config);
        REQUIRE(config.open(QIODevice::Append));
        config.write("[metrics]\ntextfile = " + prom.toUtf8() + "\ninterval_ms = 200\n");
    }
    test::makeOrder(f, QStringLiteral("PO-MET"), 3);
    SimProcess sim(f, 3, 1, {QStringLiteral("--fault"), QStringLiteral("3:counterfeit")});
    RunProcess run(f, QStringLiteral("PO-MET"), 3, 2);
    run.readUntil({}, 120000);
    REQUIRE(run.process.exitStatus() == QProcess::NormalExit);
    const QJsonObject report = run.report();
    INFO(QJsonDocument(report).toJson().toStdString());
    CHECK(run.process.exitCode() == 1); // the counterfeit failed
    REQUIRE(report.value(QStringLiteral("passed")).toInt() == 2);

    const QByteArray text = readFile(prom);
    INFO(text.toStdString());
    REQUIRE_FALSE(text.isEmpty());
    const QString run_ = QStringLiteral("station=\"test-line\",order=\"PO-MET\"");
    CHECK(sample(text, QStringLiteral("keyline_units_passed_total{%1}").arg(run_)) == 2);
    CHECK(sample(text, QStringLiteral("keyline_units_failed_total{%1,step=\"chip-check\","
                                      "error=\"verification-failed\"}")
                           .arg(run_)) == 1);
    for (const char* step :
         {"chip-check", "otp-key", "keystore", "certificate", "flash", "verify", "lock"}) {
        INFO(step);
        const QString series = QStringLiteral("keyline_step_duration_seconds%1{%2,step=\"%3\","
                                              "outcome=\"ok\"%4}");
        CHECK(sample(text, series.arg(QStringLiteral("_count"), run_, QLatin1String(step),
                                      QString())) == 2);
        CHECK(sample(text, series.arg(QStringLiteral("_bucket"), run_, QLatin1String(step),
                                      QStringLiteral(",le=\"+Inf\""))) == 2);
        CHECK(sample(text,
                     series.arg(QStringLiteral("_sum"), run_, QLatin1String(step), QString())) > 0);
    }
    CHECK(sample(text, QStringLiteral("keyline_step_duration_seconds_count{%1,step=\"chip-check\","
                                      "outcome=\"failed\"}")
                           .arg(run_)) == 1);
    // No [backend] url: both registrations wait in the outbox.
    CHECK(sample(text, QStringLiteral("keyline_outbox_pending{station=\"test-line\"}")) == 2);
    const QString hsm = QStringLiteral(
        "keyline_hsm_operation_duration_seconds_count{station=\"test-line\",operation=\"%1\"}");
    // The issuing CA signs a probe when it opens, then one certificate per device.
    CHECK(sample(text, hsm.arg(QStringLiteral("sign"))) == 3);
    CHECK(sample(text, hsm.arg(QStringLiteral("wrap_image_key"))) == 2); // one per burn
    CHECK(sample(text, hsm.arg(QStringLiteral("key_check_value"))) >= 1);
    CHECK(text.contains("# TYPE keyline_build_info gauge\n"));
    CHECK(QRegularExpression(QStringLiteral("keyline_build_info\\{version=\"[^\"]+\",qt_version="
                                            "\"[^\"]+\",station=\"test-line\"\\} 1\\n"))
              .match(QString::fromUtf8(text))
              .hasMatch());
    // Bounded labels only: no device ID, chip UID or reason text.
    for (const QJsonValue& v : report.value(QStringLiteral("devices")).toArray()) {
        const QJsonObject d = v.toObject();
        for (const char* key : {"deviceId", "chipUid", "reason"}) {
            const QString value = d.value(QLatin1String(key)).toString();
            if (!value.isEmpty())
                CHECK_FALSE(text.contains(value.toUtf8()));
        }
    }
    CHECK(QDir(f.dir.path()).entryList({QStringLiteral("keyline.prom*")}, QDir::Files) ==
          QStringList{QStringLiteral("keyline.prom")});
}

TEST_CASE("a run with an unwritable metrics textfile stops before any device", "[metrics][run]") {
    LineFixture f;
    {
        QFile config(f.config);
        REQUIRE(config.open(QIODevice::Append));
        config.write("[metrics]\ntextfile = " +
                     f.path(QStringLiteral("no/such/dir/k.prom")).toUtf8() + "\n");
    }
    test::makeOrder(f, QStringLiteral("PO-MET2"), 1);
    SimProcess sim(f, 1, 1); // the chip trust root the run needs before it reaches the metrics
    const test::CliRun r =
        f.run({QStringLiteral("run"), QStringLiteral("--order"), QStringLiteral("PO-MET2"),
               QStringLiteral("--idle-timeout"), QStringLiteral("1")});
    INFO(r.all().toStdString());
    CHECK(r.code == 3);
    CHECK(r.all().contains(QStringLiteral("metrics textfile")));
    // Stopped before the run started: no device was looked at.
    CHECK_FALSE(r.all().contains(QStringLiteral("plug devices in")));
}

TEST_CASE("the metrics settings are checked when the configuration loads", "[metrics][run]") {
    LineFixture f;
    for (const char* bad : {"listen = localhost:9464", "listen = 127.0.0.1", "textfile = rel.prom",
                            "textfile = /tmp/keyline.txt", "interval_ms = 0", "color = red"}) {
        INFO(bad);
        const QString path =
            f.writeFile(QStringLiteral("bad.conf"), QByteArray("[metrics]\n") + bad + "\n",
                        QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        const test::CliRun r =
            test::runKeyline(path, {QStringLiteral("order"), QStringLiteral("list")});
        CHECK(r.code == 2);
        CHECK(r.all().contains(QStringLiteral("metrics/")));
    }
}

TEST_CASE("the metrics settings are read from the configuration and off by default",
          "[metrics][config]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("keyline.conf"));
    {
        QFile f(path);
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write("[metrics]\nlisten = [::1]:9464\ntextfile = /var/lib/node_exporter/keyline.prom\n"
                "interval_ms = 2500\n");
    }
    auto config = station::loadConfig(path);
    REQUIRE(config.ok());
    CHECK(config->metrics.listen == QStringLiteral("[::1]:9464"));
    CHECK(config->metrics.textfile == QStringLiteral("/var/lib/node_exporter/keyline.prom"));
    CHECK(config->metrics.intervalMs == 2500);
    CHECK(config->metrics.enabled());
    const station::StationConfig defaults = station::defaultConfig();
    CHECK_FALSE(defaults.metrics.enabled());
    CHECK(defaults.metrics.intervalMs == 5000);
}
