#pragma once

// Shared by the failure-mode tests (docs/failure-modes.md): a simulator slow enough at key
// generation that a test can change the station's environment between two steps of a device,
// and the checks every "the station stopped" row makes.

#include "line_checks.h"
#include "line_fixture.h"
#include "run_process.h"

#include <QJsonDocument>

namespace keyline::test {

// Realistic timing with every cost zero but key generation, which takes `keygenMs`: after the
// chip check (before ephemeral-key) and after the keystore (before device-key-generate) the
// station waits that long for the device, with no HSM or database call under way.
inline QStringList slowKeygenSim(int keygenMs) {
    return {QStringLiteral("--timing"),      QStringLiteral("realistic"),
            QStringLiteral("--keygen-ms"),   QString::number(keygenMs),
            QStringLiteral("--sign-ms"),     QStringLiteral("0"),
            QStringLiteral("--otp-burn-ms"), QStringLiteral("0"),
            QStringLiteral("--boot-ms"),     QStringLiteral("0"),
            QStringLiteral("--usb-rate"),    QStringLiteral("10000"),
            QStringLiteral("--flash-rate"),  QStringLiteral("10000")};
}

inline std::function<bool(const QJsonObject&)> stepDone(const QString& step) {
    return [step](const QJsonObject& e) {
        return e.value(QStringLiteral("event")).toString() == QStringLiteral("step-done") &&
               e.value(QStringLiteral("step")).toString() == step;
    };
}

// A run the station stopped for its environment: exit 3, one line on stderr that contains
// `named`, and the device that was at work failed with environment-not-ready, at `step` unless
// that is empty. Returns that device's report entry.
inline QJsonObject checkStoppedForEnvironment(RunProcess& run, const QString& named,
                                              const QString& step) {
    const QString error = run.errors();
    INFO("stderr: " << error.toStdString()
                    << "\nreport: " << QJsonDocument(run.report()).toJson().toStdString());
    REQUIRE(run.process.exitStatus() == QProcess::NormalExit);
    CHECK(run.process.exitCode() == 3);
    CHECK_FALSE(error.contains(QLatin1Char('\n')));
    CHECK(error.contains(named));
    CHECK(run.report().value(QStringLiteral("stopReason")).toString() ==
          QStringLiteral("station not ready"));
    QJsonObject failed;
    for (const QJsonObject& d : run.lastByPort())
        if (d.value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"))
            failed = d;
    if (!step.isEmpty())
        CHECK(failed.value(QStringLiteral("step")).toString() == step);
    CHECK(failed.value(QStringLiteral("errorCode")).toString() ==
          QStringLiteral("environment-not-ready"));
    return failed;
}

// Step results of one device that passed.
inline QStringList passedSteps(const LineFixture& f, const QString& deviceId) {
    auto db = f.openDatabase();
    auto steps = db::StepResultRepository(*db).forDevice(deviceId);
    REQUIRE(steps.ok());
    QStringList passed;
    for (const db::StepResult& s : *steps)
        if (s.outcome == db::StepOutcome::Pass)
            passed << s.step;
    return passed;
}

inline int certificatesOf(const LineFixture& f, const QString& order) {
    auto db = f.openDatabase();
    auto certificates = db::CertificateLedger(*db).listForOrder(order);
    REQUIRE(certificates.ok());
    return int(certificates->size());
}

} // namespace keyline::test
