// Every fault the virtual wearable can inject, in one run: each device ends PASS or as a FAIL
// that names its step and reason in the report — never a hang, never a crash.
#include "line_checks.h"
#include "line_fixture.h"
#include "run_process.h"

#include <QJsonArray>
#include <QJsonDocument>

using namespace keyline;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

TEST_CASE("each simulator fault ends as PASS or a named failure in the run report",
          "[station][run][faults]") {
    LineFixture f;
    const int ports = 10;
    test::makeOrder(f, QStringLiteral("PO-FAULT"), ports);
    const QStringList faults{
        QStringLiteral("1:disconnect-after-bytes=2000000"),
        QStringLiteral("2:disconnect-at=boot-report"),
        QStringLiteral("3:corrupt-chunk=3"),
        QStringLiteral("4:brownout-at-commit"),
        QStringLiteral("5:counterfeit"),
        QStringLiteral("6:otp-burned-other"),
        QStringLiteral("7:rng-repeat"),
        QStringLiteral("8:rng-repeat"),
        QStringLiteral("9:garbage"),
        QStringLiteral("10:flood"),
    };
    QStringList args;
    for (const QString& spec : faults)
        args << QStringLiteral("--fault") << spec;
    SimProcess sim(f, ports, 1, args);
    RunProcess run(f, QStringLiteral("PO-FAULT"), 4, 3);
    run.readUntil({}, 120000);
    REQUIRE(run.process.exitStatus() == QProcess::NormalExit);
    CHECK(run.process.exitCode() == 1);
    const QJsonObject report = run.report();
    INFO(QJsonDocument(report).toJson().toStdString());
    REQUIRE_FALSE(report.isEmpty());

    // The last result of each port.
    QMap<QString, QJsonObject> last;
    for (const QJsonValue& v : report.value(QStringLiteral("devices")).toArray())
        last[v.toObject().value(QStringLiteral("port")).toString()] = v.toObject();
    REQUIRE(last.size() == ports);
    auto result = [&](int port) {
        return last.value(QStringLiteral("sim:port-%1").arg(port, 2, 10, QLatin1Char('0')));
    };
    auto failedAt = [&](int port, const QString& step, const QString& reason) {
        const QJsonObject d = result(port);
        INFO("port " << port);
        CHECK(d.value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"));
        CHECK(d.value(QStringLiteral("step")).toString() == step);
        CHECK(d.value(QStringLiteral("reason")).toString().contains(reason, Qt::CaseInsensitive));
    };
    for (int port = 1; port <= ports; ++port) {
        const QJsonObject d = result(port);
        INFO("port " << port);
        if (d.value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"))
            CHECK_FALSE(d.value(QStringLiteral("reason")).toString().isEmpty());
    }
    // Damage the station repairs by itself: a damaged chunk is sent again.
    CHECK(result(3).value(QStringLiteral("result")).toString() == QStringLiteral("PASS"));
    failedAt(5, QStringLiteral("chip-check"), QStringLiteral("genuine"));
    failedAt(6, QStringLiteral("otp-key"), QStringLiteral("another key"));
    CHECK(result(6).value(QStringLiteral("scrapped")).toBool());
    failedAt(9, QStringLiteral("chip-check"), QStringLiteral("frame"));
    // A device that floods the link with answers nobody asked for: a named protocol violation,
    // not a hang and not a station that reads (and keeps) all it is sent.
    CHECK(result(10).value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"));
    CHECK(result(10).value(QStringLiteral("errorCode")).toString() ==
          QStringLiteral("protocol-violation"));
    CHECK(result(10)
              .value(QStringLiteral("reason"))
              .toString()
              .contains(QStringLiteral("expected the answer to")));
    // Two devices with the same key: the second is refused before its certificate.
    const QJsonObject a = result(7), b = result(8);
    const bool firstPassed = a.value(QStringLiteral("result")).toString() == QStringLiteral("PASS");
    failedAt(firstPassed ? 8 : 7, QStringLiteral("certificate"), QStringLiteral("key"));
    CHECK((firstPassed ? a : b).value(QStringLiteral("result")).toString() ==
          QStringLiteral("PASS"));
    // Links that drop mid-flash, before the boot report, or at a power cut are named failures;
    // re-plugging finishes them (the station does not retry a device that stays in its port).
    const std::pair<int, const char*> dropped[] = {{1, "flash"}, {2, "verify"}, {4, "flash"}};
    for (const auto& [port, step] : dropped) {
        INFO("port " << port);
        const QJsonObject d = result(port);
        CHECK(d.value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"));
        CHECK(d.value(QStringLiteral("step")).toString() == QLatin1String(step));
        CHECK(d.value(QStringLiteral("errorCode")).toString() == QStringLiteral("disconnected"));
        CHECK_FALSE(d.value(QStringLiteral("scrapped")).toBool());
    }

    // The next run (as after re-plugging) resumes the transfer, boots and commits again: the
    // three PASS; the refused devices are refused again, nothing is burned or issued twice.
    RunProcess again(f, QStringLiteral("PO-FAULT"), 4, 3);
    again.readUntil({}, 120000);
    const QJsonObject second = again.report();
    INFO(QJsonDocument(second).toJson().toStdString());
    const auto secondLast = again.lastByPort();
    for (int port : {1, 2, 4}) {
        INFO("port " << port << " after re-plugging");
        CHECK(secondLast.value(test::simPort(port)).value(QStringLiteral("result")).toString() ==
              QStringLiteral("PASS"));
    }
    CHECK(secondLast.value(test::simPort(3)).value(QStringLiteral("alreadyProvisioned")).toBool());
    auto db = f.openDatabase();
    auto devices = db::DeviceRepository(*db).listForOrder(QStringLiteral("PO-FAULT"));
    REQUIRE(devices.ok());
    int provisioned = 0;
    for (const db::Device& d : *devices) {
        INFO(d.id.toStdString());
        CHECK(test::recordedBurns(*db, d.id) <= 1);
        provisioned += d.state == db::DeviceState::Provisioned ? 1 : 0;
    }
    CHECK(provisioned == 5); // ports 1, 2, 3, 4 and the first of 7 and 8
    auto certificates = db::CertificateLedger(*db).listForOrder(QStringLiteral("PO-FAULT"));
    REQUIRE(certificates.ok());
    CHECK(int(certificates->size()) == 5);
    test::checkRecordsSound(f);
}
