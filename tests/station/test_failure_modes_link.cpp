// Failure modes (docs/failure-modes.md): the cable pulled in the middle of each step. The
// virtual wearable drops its link on receiving the command each step sends (`disconnect-at`,
// once per device); the run names the failure (errorCode disconnected, the step), and a second
// run, as after re-plugging, finishes every device with one OTP burn and one certificate.
#include "line_checks.h"
#include "line_fixture.h"
#include "run_process.h"

#include <QJsonDocument>

using namespace keyline;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::simPort;
using keyline::test::SimProcess;

namespace {

struct PulledAt {
    const char* step;    // the step the report names
    const char* command; // the command the link drops on, sent in the middle of that step
};

// Registration is not a device step: it goes through the outbox after the certificate is
// recorded (tests/registration covers the back-end side).
const PulledAt kPulled[] = {
    {"chip-check", "challenge"},          // after identify, before the chip proves genuine
    {"otp-key", "otp-burn"},              // the wrapped key is on its way, nothing burned yet
    {"keystore", "keystore-write"},       //
    {"certificate", "certificate-write"}, // issued and recorded, not yet on the device
    {"flash", "flash-commit"},            // every chunk sent, not installed
    {"verify", "boot-report"},            //
    {"lock", "factory-lock"},             // verified, still in factory mode
};

} // namespace

TEST_CASE("a cable pulled in the middle of each step is a named failure and a re-plug finishes "
          "the device",
          "[station][run][faults][failure-modes]") {
    LineFixture f;
    const int n = int(std::size(kPulled));
    test::makeOrder(f, QStringLiteral("PO-PULL"), n);
    QStringList faults;
    for (int i = 0; i < n; ++i)
        faults << QStringLiteral("--fault")
               << QStringLiteral("%1:disconnect-at=%2")
                      .arg(i + 1)
                      .arg(QLatin1String(kPulled[i].command));
    SimProcess sim(f, n, 1, faults);

    {
        RunProcess run(f, QStringLiteral("PO-PULL"), 4, 2);
        run.readUntil({}, 120000);
        INFO(QJsonDocument(run.report()).toJson().toStdString());
        REQUIRE(run.process.exitStatus() == QProcess::NormalExit);
        CHECK(run.process.exitCode() == 1);
        const auto last = run.lastByPort();
        for (int i = 0; i < n; ++i) {
            INFO("cable pulled at " << kPulled[i].command << " in " << kPulled[i].step);
            const QJsonObject d = last.value(simPort(i + 1));
            CHECK(d.value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"));
            CHECK(d.value(QStringLiteral("step")).toString() == QLatin1String(kPulled[i].step));
            CHECK(d.value(QStringLiteral("errorCode")).toString() ==
                  QStringLiteral("disconnected"));
            CHECK_FALSE(d.value(QStringLiteral("scrapped")).toBool());
        }
        // What was pulled before its record is not recorded: the certificate step's device has
        // its certificate already (recorded before it is sent), the OTP one no burn.
        auto db = f.openDatabase();
        auto devices = db::DeviceRepository(*db).listForOrder(QStringLiteral("PO-PULL"));
        REQUIRE(devices.ok());
        CHECK(int(devices->size()) == n - 1); // the chip-check one has no ID yet
        auto certificates = db::CertificateLedger(*db).listForOrder(QStringLiteral("PO-PULL"));
        REQUIRE(certificates.ok());
        CHECK(int(certificates->size()) == n - 3); // issued from the certificate step on
    }
    RunProcess again(f, QStringLiteral("PO-PULL"), 4, 2);
    again.readUntil({}, 120000);
    INFO(QJsonDocument(again.report()).toJson().toStdString());
    CHECK(again.process.exitCode() == 0);
    CHECK(again.report().value(QStringLiteral("passed")).toInt() == n);
    // Every burn was recorded, so exactly one per device; one certificate per device.
    test::checkInvariants(f, QStringLiteral("PO-PULL"), n, {0, /*exactlyOneBurn=*/true});
}
