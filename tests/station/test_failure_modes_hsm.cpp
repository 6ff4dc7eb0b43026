// Failure modes (docs/failure-modes.md): the HSM token removed, and its login lost or PIN
// refused, while a run is under way. The device at work fails with a named HSM error before
// anything is burned or issued, the run stops (exit 3, one line that says what to do), and a
// restart with the token back finishes the order.
#include "failure_modes.h"
#include "hsm/forwarding_hsm.h"
#include "hsm/p11.h"
#include "station/run_setup.h"

#include <QDir>

using namespace keyline;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

TEST_CASE("the HSM token removed mid-run stops the run and a restart with the token back "
          "finishes the order",
          "[station][run][faults][failure-modes][hsm]") {
    // The real condition: SoftHSM2 keeps a logged-in token in memory but looks its objects up
    // in the token folder; with the folder gone, a key search finds nothing and a key handle
    // found before answers CKR_OBJECT_HANDLE_INVALID.
    struct Row {
        const char* removedAfter; // the step whose end the test waits for
        const char* failsAt;      // the next step, whose HSM call finds the token gone
    };
    const Row rows[] = {{"chip-check", "otp-key"}, {"keystore", "certificate"}};
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-HSM"), 2);
    SimProcess sim(f, 2, 1, test::slowKeygenSim(1500));
    const QString tokens = QDir(f.dataDir()).filePath(QStringLiteral("softhsm/tokens"));
    const QString away = tokens + QStringLiteral(".away");
    REQUIRE(QDir(tokens).exists());

    for (const Row& row : rows) {
        INFO("token removed after " << row.removedAfter);
        const int certificatesBefore = test::certificatesOf(f, QStringLiteral("PO-HSM"));
        {
            RunProcess run(f, QStringLiteral("PO-HSM"), 1, 2);
            REQUIRE(run.readUntil(test::stepDone(QLatin1String(row.removedAfter))));
            REQUIRE(QDir().rename(tokens, away));
            run.readUntil({});
            const QJsonObject failed = test::checkStoppedForEnvironment(
                run, QStringLiteral("HSM token"), QLatin1String(row.failsAt));
            CHECK(failed.value(QStringLiteral("reason"))
                      .toString()
                      .contains(QStringLiteral("put the token back")));
            // Nothing the HSM did not do: no burn, no certificate.
            const QStringList passed =
                test::passedSteps(f, failed.value(QStringLiteral("deviceId")).toString());
            CHECK_FALSE(passed.contains(QLatin1String(row.failsAt)));
            CHECK(test::certificatesOf(f, QStringLiteral("PO-HSM")) == certificatesBefore);
        }
        // Whatever the module may have left in the folder's place goes; the token comes back.
        if (QDir(tokens).exists())
            REQUIRE(QDir(tokens).removeRecursively());
        REQUIRE(QDir().rename(away, tokens));
        test::checkRecordsSound(f);
    }
    RunProcess last(f, QStringLiteral("PO-HSM"), 1, 2);
    last.readUntil({});
    INFO(QJsonDocument(last.report()).toJson().toStdString() << last.errors().toStdString());
    CHECK(last.process.exitCode() == 0);
    test::checkInvariants(f, QStringLiteral("PO-HSM"), 2, {0, /*exactlyOneBurn=*/true});
}

namespace {

// A fake at the hsm::Hsm boundary, because SoftHSM2 cannot produce the condition: its login
// lives in the process, so a PIN changed or a token logged out by another process leaves a
// running station's sessions working (checked with pkcs11-tool --change-pin on a running
// session); only a network or smart-card HSM drops the login under a running station. This
// one answers wrapping the image key with the given PKCS#11 error, as such an HSM would.
class LoginLostHsm final : public test::ForwardingHsm {
public:
    LoginLostHsm(hsm::Hsm& real, CK_RV rv)
        : ForwardingHsm(real)
        , m_rv(rv) {}
    Result<hsm::ImageKeyBurn> wrapImageKeyForDevice(const hsm::KeyUri&,
                                                    const QByteArray&) override {
        return hsm::p11Error(QStringLiteral("C_DeriveKey"), m_rv);
    }

private:
    CK_RV m_rv;
};

} // namespace

TEST_CASE("the HSM login lost or its PIN refused mid-run stops the run before the burn and a "
          "restart finishes the order",
          "[station][run][faults][failure-modes][hsm]") {
    struct Row {
        CK_RV rv;
        const char* name;
    };
    const Row rows[] = {{CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
                        {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"}};
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-PIN"), 2);
    SimProcess sim(f, 2, 1);
    auto config = station::loadConfig(f.config);
    REQUIRE(config.ok());
    for (const Row& row : rows) {
        INFO(row.name);
        // The engine of `keyline run`, in this process so its HSM can be wrapped.
        station::StationContext context(*config);
        auto order = db::OrderRepository(*f.openDatabase()).find(QStringLiteral("PO-PIN"));
        REQUIRE(order.ok());
        auto setup = station::prepareRun(context, *order, QStringLiteral("line-service"));
        REQUIRE(setup.ok());
        LoginLostHsm hsm(*(*setup)->hsm, row.rv);
        const provisioning::StationServices& real = *(*setup)->services;
        const provisioning::StationServices services{real.chips, hsm, real.ca, real.imageKey,
                                                     real.imageKeyCheckValue};
        std::vector<flashing::PortProvider*> providers;
        for (const auto& p : context.portProviders())
            providers.push_back(p.get());
        provisioning::RunOptions options;
        options.slots = 1;
        options.idleTimeout = Millis(2000);
        options.timeouts = context.deviceTimeouts();
        provisioning::ProductionRun run((*setup)->plan, services, *(*setup)->records, providers,
                                        options, {});
        auto summary = run.run();
        REQUIRE(summary.ok());
        REQUIRE(summary->stationError);
        const Error& error = *summary->stationError;
        INFO(error.toString().toStdString());
        CHECK(exitCodeFor(error.code()) == 3);
        CHECK(error.toString().contains(QLatin1String(row.name)));
        CHECK(error.toString().contains(QStringLiteral("check [hsm] pin in keyline.conf")));
        CHECK(summary->stopReason == QStringLiteral("station not ready"));
        REQUIRE(summary->devices.size() == 1); // the other device was not started
        const provisioning::DeviceResult& d = summary->devices.front();
        CHECK(d.failedStep == provisioning::Step::OtpKey);
        CHECK_FALSE(test::passedSteps(f, d.deviceId).contains(QStringLiteral("otp-key")));
    }
    RunProcess last(f, QStringLiteral("PO-PIN"), 2, 2);
    last.readUntil({});
    INFO(QJsonDocument(last.report()).toJson().toStdString() << last.errors().toStdString());
    CHECK(last.process.exitCode() == 0);
    test::checkInvariants(f, QStringLiteral("PO-PIN"), 2, {0, /*exactlyOneBurn=*/true});
}
