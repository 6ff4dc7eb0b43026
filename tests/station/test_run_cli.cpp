// `keyline run` as a process against the virtual wearable as a process: a whole order, then the
// station killed (SIGKILL) at every step boundary and inside steps and started again. Whatever
// happens, every device ends provisioned, no OTP is burned twice, no device gets a second
// certificate, the audit chain stays intact and the database passes its integrity check.
#include "line_fixture.h"
#include "run_checks.h"
#include "run_process.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QThread>
#include <csignal>

using namespace keyline;
using keyline::test::checkInvariants;
using keyline::test::LineFixture;
using keyline::test::makeOrder;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

TEST_CASE("a run provisions every device of the order and reports each", "[station][run]") {
    LineFixture f;
    makeOrder(f, QStringLiteral("PO-RUN"), 6);
    SimProcess sim(f, 3, 3); // 9 devices for 6 units: the run stops when the order is done
    RunProcess run(f, QStringLiteral("PO-RUN"), 3, 10);
    run.readUntil({});
    REQUIRE(run.process.exitStatus() == QProcess::NormalExit);
    const QJsonObject report = run.report();
    INFO(QJsonDocument(report).toJson().toStdString());
    CHECK(run.process.exitCode() == 0);
    CHECK(report.value(QStringLiteral("passed")).toInt() == 6);
    CHECK(report.value(QStringLiteral("failed")).toInt() == 0);
    CHECK(report.value(QStringLiteral("stopReason")).toString() ==
          QStringLiteral("order complete"));
    checkInvariants(f, QStringLiteral("PO-RUN"), 6);
}

TEST_CASE("a station killed at any point finishes every device correctly after a restart",
          "[station][run][crash]") {
    LineFixture f;
    const int quantity = 4;
    makeOrder(f, QStringLiteral("PO-KILL"), quantity);
    // One device per port: a device locked just before a kill stays plugged in, as an operator
    // re-plugs it after a crash, so the next run can verify it and record it.
    SimProcess sim(f, 4, 1);
    // Kill points: right after each step of some device ends (a step boundary), in the middle
    // of a flash, and after fixed delays that land inside steps.
    const QStringList boundaries{QStringLiteral("chip-check"), QStringLiteral("otp-key"),
                                 QStringLiteral("keystore"),   QStringLiteral("certificate"),
                                 QStringLiteral("flash"),      QStringLiteral("verify"),
                                 QStringLiteral("lock")};
    int kills = 0;
    for (const QString& step : boundaries) {
        RunProcess run(f, QStringLiteral("PO-KILL"), 2, 2);
        const bool fired = run.readUntil([&](const QJsonObject& e) {
            return e.value(QStringLiteral("event")).toString() == QStringLiteral("step-done") &&
                   e.value(QStringLiteral("step")).toString() == step;
        });
        if (fired) {
            run.kill();
            ++kills;
        }
    }
    {
        RunProcess run(f, QStringLiteral("PO-KILL"), 2, 2);
        if (run.readUntil([](const QJsonObject& e) {
                return e.value(QStringLiteral("event")).toString() ==
                           QStringLiteral("flash-progress") &&
                       e.value(QStringLiteral("fraction")).toDouble() >= 0.5;
            })) {
            run.kill();
            ++kills;
        }
    }
    for (int delayMs : {40, 90, 160}) {
        RunProcess run(f, QStringLiteral("PO-KILL"), 2, 2);
        QThread::msleep(ulong(delayMs));
        if (run.process.state() == QProcess::Running) {
            run.kill();
            ++kills;
        }
    }
    CHECK(kills >= 3);
    RunProcess last(f, QStringLiteral("PO-KILL"), 2, 3);
    last.readUntil({});
    INFO(QJsonDocument(last.report()).toJson().toStdString());
    CHECK(last.process.exitCode() == 0);
    checkInvariants(f, QStringLiteral("PO-KILL"), quantity);
}
