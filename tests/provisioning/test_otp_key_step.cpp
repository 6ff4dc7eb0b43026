// The image-key burn (DESIGN.md §1 step 2) end to end: a SoftHSM2 dev token in a temp dir, the
// virtual wearable on a Unix socket, and the engine's chip check and OtpKeyStep between them.
// Every failure case also checks what did NOT happen (no ephemeral key asked for, no wrap in
// the HSM, nothing burned) and that no error text carries the image key or the wrapped key.
#include "counting_hsm.h"
#include "flashing/socket_transport.h"
#include "hsm/hsm_fixture.h"
#include "hsm/image_key_helpers.h"
#include "hsm/key_inventory.h"
#include "provisioning/chip_check_step.h"
#include "provisioning/otp_key_step.h"
#include "sim/simulator.h"
#include "tap_transport.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <openssl/evp.h>

using namespace keyline;
using keyline::protocol::Command;
using keyline::provisioning::OtpKeyOutcome;

namespace {

struct Connection {
    std::shared_ptr<test::Tap> tap = std::make_shared<test::Tap>();
    std::unique_ptr<flashing::DeviceClient> client;
};

struct BurnFixture {
    test::DevTokenFixture token;
    std::unique_ptr<hsm::Pkcs11Hsm> realHsm = token.open();
    test::CountingHsm hsm{*realHsm};
    hsm::KeyUri imageKey = realHsm->uriFor(hsm::labels::imageKey, QStringLiteral("secret"));
    QTemporaryDir dir{QStringLiteral("/tmp/kl-burn-XXXXXX")};
    std::unique_ptr<sim::Simulator> simulator;
    std::optional<provisioning::ChipAuthenticator> authenticator;
    std::vector<Error> errors; // every error a run returned, for the no-secret checks

    explicit BurnFixture(const QStringList& faults = {}) {
        REQUIRE(dir.isValid());
        sim::SimOptions o;
        o.ports = 1;
        o.stateDir = dir.filePath(QStringLiteral("state"));
        o.socketDir = dir.filePath(QStringLiteral("s"));
        o.timing = sim::Timing::none();
        for (const QString& text : faults) {
            auto spec = sim::parseFaultSpec(text);
            REQUIRE(spec.ok());
            o.faults.append(*spec);
        }
        simulator = std::make_unique<sim::Simulator>(o);
        REQUIRE(simulator->startServing().ok());
        auto auth = provisioning::ChipAuthenticator::fromRootFile(simulator->vendorRootPath());
        REQUIRE(auth.ok());
        authenticator.emplace(std::move(*auth));
    }
    ~BurnFixture() { simulator->stop(); }

    Connection connect(std::function<void(protocol::Frame&)> rewrite = {}) {
        Connection c;
        c.tap->rewriteAnswer = std::move(rewrite);
        flashing::PortInfo port{
            QStringLiteral("sim:port-01"), QStringLiteral("sim"), {}, simulator->socketPath(1)};
        auto transport = flashing::SocketTransport::connect(port);
        REQUIRE(transport.ok());
        c.client = std::make_unique<flashing::DeviceClient>(
            std::make_unique<test::TapTransport>(std::move(*transport), c.tap));
        return c;
    }

    // What the engine does for this step: chip check, then ensure the image key. The link is
    // closed afterwards (the device serves one connection at a time); the tap stays readable.
    Result<OtpKeyOutcome> run(Connection& c) {
        auto outcome = [&]() -> Result<OtpKeyOutcome> {
            KL_TRY_ASSIGN(provisioning::GenuineChip chip,
                          provisioning::authenticateChip(*c.client, *authenticator));
            provisioning::OtpKeyStep step(*authenticator, hsm, imageKey);
            return step.ensure(*c.client, chip);
        }();
        c.client.reset();
        if (!outcome)
            errors.push_back(outcome.error());
        return outcome;
    }

    QByteArray expectedKcv() {
        auto kcv = realHsm->keyCheckValue(imageKey);
        REQUIRE(kcv.ok());
        return *kcv;
    }

    protocol::OtpStatusResponse otpStatus() {
        Connection c = connect();
        auto status = c.client->otpStatus();
        REQUIRE(status.ok());
        return *status;
    }

    // The key the device holds in OTP, read from its state file: the test's way to learn the
    // image key, which the HSM never shows.
    QByteArray burnedKey() {
        Connection c = connect();
        auto info = c.client->identify();
        REQUIRE(info.ok());
        QFile file(QDir(dir.filePath(QStringLiteral("state/devices")))
                       .filePath(QString::fromLatin1(info->chipUid.toHex()) +
                                 QStringLiteral("/device.json")));
        REQUIRE(file.open(QIODevice::ReadOnly));
        const QJsonObject state = QJsonDocument::fromJson(file.readAll()).object();
        return QByteArray::fromBase64(state.value(QLatin1String("otpKey")).toString().toLatin1());
    }

    // No error message names a secret, in any of the usual spellings.
    void checkNoSecretsIn(const QList<QByteArray>& secrets) const {
        for (const Error& e : errors) {
            const QString text = e.toString();
            for (const QByteArray& secret : secrets) {
                REQUIRE(secret.size() >= 16);
                INFO(text.toStdString());
                CHECK_FALSE(
                    text.contains(QString::fromLatin1(secret.toHex()), Qt::CaseInsensitive));
                CHECK_FALSE(text.contains(QString::fromLatin1(secret.toBase64())));
                CHECK_FALSE(text.toLatin1().contains(secret));
            }
        }
    }
};

// Flips a bit inside the r value of the ephemeral key's DER signature: still DER, wrong value.
void corruptEphemeralSignature(protocol::Frame& frame) {
    if (frame.command != quint16(Command::EphemeralKey) || frame.isError())
        return;
    auto answer = protocol::EphemeralKeyResponse::decode(frame.payload);
    REQUIRE(answer.ok());
    REQUIRE(answer->signature.size() > 10);
    answer->signature[10] = char(answer->signature[10] ^ 0x01);
    frame.payload = answer->encode();
}

} // namespace

TEST_CASE("a genuine device gets the image key once, a second run burns nothing",
          "[provisioning][otp]") {
    BurnFixture f;
    Connection first = f.connect();
    auto burned = f.run(first);
    INFO((burned.ok() ? QString() : burned.error().toString()).toStdString());
    REQUIRE(burned.ok());
    CHECK(burned->burnedNow);
    CHECK(burned->keyCheckValue == f.expectedKcv());
    CHECK(first.tap->count(Command::EphemeralKey) == 1);
    CHECK(first.tap->count(Command::OtpBurn) == 1);
    CHECK(f.hsm.wraps == 1);
    CHECK(f.otpStatus().keyCheckValue == f.expectedKcv());

    // The device holds the HSM's image key, and it never crossed the link in plain text.
    const QByteArray imageKey = f.burnedKey();
    REQUIRE(imageKey.size() == 32);
    CHECK(keyline::test::opensslKcv(imageKey) == f.expectedKcv());
    REQUIRE(first.tap->otpBurnPayloads.size() == 1);
    CHECK_FALSE(first.tap->otpBurnPayloads.constFirst().contains(imageKey));

    Connection second = f.connect();
    auto again = f.run(second);
    REQUIRE(again.ok());
    CHECK_FALSE(again->burnedNow);
    CHECK(again->keyCheckValue == f.expectedKcv());
    CHECK(second.tap->count(Command::OtpStatus) == 1);
    CHECK(second.tap->count(Command::EphemeralKey) == 0);
    CHECK(second.tap->count(Command::OtpBurn) == 0);
    CHECK(f.hsm.wraps == 1);
}

TEST_CASE("OTP burned with another key is refused: scrap, never burn twice",
          "[provisioning][otp][fault]") {
    BurnFixture f({QStringLiteral("1:otp-burned-other")});
    const QByteArray before = f.otpStatus().keyCheckValue;
    REQUIRE(before.size() == 3);
    Connection c = f.connect();
    auto outcome = f.run(c);
    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().code() == ErrorCode::Refused);
    const QString message = outcome.error().toString();
    CHECK(message.contains(
        QStringLiteral("OTP holds another key (KCV %1)").arg(QString::fromLatin1(before.toHex()))));
    CHECK(message.contains(QStringLiteral("device must be scrapped")));
    CHECK(message.contains(QStringLiteral("never burned twice")));
    CHECK(c.tap->count(Command::EphemeralKey) == 0);
    CHECK(c.tap->count(Command::OtpBurn) == 0);
    CHECK(f.hsm.wraps == 0);
    CHECK(f.otpStatus().keyCheckValue == before);
    f.checkNoSecretsIn({f.burnedKey()});
}

TEST_CASE("a counterfeit chip is refused before any key material is produced",
          "[provisioning][otp][fault]") {
    BurnFixture f({QStringLiteral("1:counterfeit")});
    Connection c = f.connect();
    auto outcome = f.run(c);
    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().code() == ErrorCode::VerificationFailed);
    CHECK(outcome.error().toString().contains(QStringLiteral("not genuine")));
    CHECK(c.tap->count(Command::Challenge) == 1);
    CHECK(c.tap->count(Command::EphemeralKey) == 0);
    CHECK(c.tap->count(Command::OtpBurn) == 0);
    CHECK(f.hsm.wraps == 0);
    CHECK_FALSE(f.otpStatus().burned);
}

TEST_CASE("an ephemeral key the chip did not sign is refused before the HSM wraps anything",
          "[provisioning][otp][fault]") {
    BurnFixture f;
    Connection tampered = f.connect(corruptEphemeralSignature);
    auto outcome = f.run(tampered);
    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().code() == ErrorCode::VerificationFailed);
    CHECK(outcome.error().toString().contains(QStringLiteral("ephemeral key")));
    CHECK(tampered.tap->count(Command::EphemeralKey) == 1);
    CHECK(tampered.tap->count(Command::OtpBurn) == 0);
    CHECK(f.hsm.wraps == 0);
    CHECK_FALSE(f.otpStatus().burned);

    // The chip itself is fine: over an honest link the step completes.
    Connection honest = f.connect();
    auto burned = f.run(honest);
    REQUIRE(burned.ok());
    CHECK(burned->burnedNow);
    CHECK(f.hsm.wraps == 1);
}

TEST_CASE("a link dropped at otp-burn fails the step, re-running burns exactly once",
          "[provisioning][otp][fault]") {
    BurnFixture f({QStringLiteral("1:disconnect-at=otp-burn")});
    Connection dropped = f.connect();
    auto outcome = f.run(dropped);
    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().code() == ErrorCode::Disconnected);
    CHECK(dropped.tap->count(Command::OtpBurn) == 1);
    CHECK_FALSE(f.otpStatus().burned); // the device dropped the link before burning

    Connection retry = f.connect();
    auto burned = f.run(retry);
    INFO((burned.ok() ? QString() : burned.error().toString()).toStdString());
    REQUIRE(burned.ok());
    CHECK(burned->burnedNow);
    CHECK(burned->keyCheckValue == f.expectedKcv());
    CHECK(retry.tap->count(Command::OtpBurn) == 1);

    Connection third = f.connect();
    auto done = f.run(third);
    REQUIRE(done.ok());
    CHECK_FALSE(done->burnedNow);
    CHECK(third.tap->count(Command::OtpBurn) == 0);
    // Two otp-burn requests went out, one of them was cut: the device burned once.
    CHECK(f.hsm.wraps == 2);
    CHECK(f.otpStatus().keyCheckValue == f.expectedKcv());

    QList<QByteArray> secrets = f.hsm.wrappedKeys;
    secrets.append(f.burnedKey());
    f.checkNoSecretsIn(secrets);
}

TEST_CASE("a device that answers another KCV after the burn fails verification",
          "[provisioning][otp][fault]") {
    BurnFixture f;
    const QByteArray lie = QByteArray::fromHex("0badc0");
    Connection c = f.connect([&](protocol::Frame& frame) {
        if (frame.command != quint16(Command::OtpBurn) || frame.isError())
            return;
        frame.payload = protocol::OtpStatusResponse{true, lie}.encode();
    });
    auto outcome = f.run(c);
    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().code() == ErrorCode::VerificationFailed);
    const QString message = outcome.error().toString();
    CHECK(message.contains(QStringLiteral("0badc0")));
    CHECK(message.contains(QString::fromLatin1(f.expectedKcv().toHex())));

    QList<QByteArray> secrets = f.hsm.wrappedKeys;
    secrets.append(c.tap->otpBurnPayloads);
    secrets.append(f.burnedKey());
    REQUIRE(secrets.size() == 3);
    f.checkNoSecretsIn(secrets);
}
