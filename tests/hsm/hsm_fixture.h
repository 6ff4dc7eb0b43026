#pragma once

// A hermetic SoftHSM2 token per test: a temp dir holds softhsm2.conf and the token files;
// SOFTHSM2_CONF points there before the module initialises (hsm::initDevToken / Pkcs11Hsm::open
// set it), and the token is always found by label.

#include "hsm/dev_token.h"

#include <QProcess>
#include <QTemporaryDir>
#include <catch2/catch.hpp>

namespace keyline::test {

inline const QString kSoftHsmModule = QStringLiteral("/usr/lib/softhsm/libsofthsm2.so");
inline const QByteArray kTestPin = QByteArrayLiteral("4711-test-pin");

struct DevTokenFixture {
    QTemporaryDir dir;
    hsm::InitDevReport report;

    DevTokenFixture() {
        REQUIRE(dir.isValid());
        hsm::DevTokenOptions o;
        o.dataDir = dir.path();
        o.modulePath = kSoftHsmModule;
        o.userPin = kTestPin;
        o.soPin = QByteArrayLiteral("so-pin-for-tests");
        auto r = hsm::initDevToken(o);
        if (!r.ok())
            FAIL(r.error().toString().toStdString());
        report = *r;
    }

    hsm::HsmConfig config(const QByteArray& pin = kTestPin) const {
        hsm::HsmConfig c;
        c.modulePath = kSoftHsmModule;
        c.tokenLabel = QStringLiteral("keyline-dev");
        c.pin = hsm::PinSource::fixed(pin);
        c.softhsmConfig = report.softhsmConfig;
        return c;
    }

    std::unique_ptr<hsm::Pkcs11Hsm> open() const {
        auto h = hsm::Pkcs11Hsm::open(config());
        if (!h.ok())
            FAIL(h.error().toString().toStdString());
        return std::move(h).value();
    }
};

struct ProcessResult {
    int exitCode = -1;
    QString output;
};

inline ProcessResult run(const QString& program, const QStringList& args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    p.waitForFinished(60000);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromLocal8Bit(p.readAll())};
}

} // namespace keyline::test
