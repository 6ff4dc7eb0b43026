#pragma once

// A customer, its keystore and packages for the format tests, without an HSM: the OS is sealed
// by OpenSSL's AES-256-GCM with a test image key (what the HSM does on a station), signatures
// come from in-memory keys (soft_signer.h).

#include "common/ossl_ptr.h"
#include "firmware_image/package.h"
#include "soft_sealer.h"
#include "soft_signer.h"

#include <QBuffer>
#include <QRandomGenerator>
#include <catch2/catch.hpp>
#include <openssl/evp.h>

namespace keyline::test {

inline QByteArray pattern(qsizetype size, char seed) {
    QByteArray out(size, '\0');
    for (qsizetype i = 0; i < size; ++i)
        out[i] = char((i * 131 + seed * 7 + (i >> 9)) & 0xff);
    return out;
}

// One customer: vendor key, application key, keystore, image key.
struct PackageWorld {
    SoftSigner vendor, app, update, backend;
    QByteArray imageKey = pattern(32, 'K');
    QString customer = QStringLiteral("acme-42");
    firmware::Environment env = firmware::Environment::Development;
    QString hardware = QStringLiteral("KW-1 rev B");

    QByteArray keystore(const SoftSigner* appKey = nullptr, const QString& customerId = {},
                        std::optional<firmware::Environment> e = {}) const {
        using namespace firmware;
        KeystoreContent c;
        c.customerId = customerId.isEmpty() ? customer : customerId;
        c.environment = e.value_or(env);
        c.serial = 1;
        c.entries = {{KeyPurpose::ApplicationSigning, KeyAlgorithm::EcdsaP256,
                      (appKey ? appKey : &app)->point()},
                     {KeyPurpose::UpdateAuthorisation, KeyAlgorithm::EcdsaP256, update.point()},
                     {KeyPurpose::BackendE2e, KeyAlgorithm::EcdhP256, backend.point()}};
        auto ks = buildKeystore(c, vendor);
        REQUIRE(ks.ok());
        return *ks;
    }

    firmware::AppRelease release(quint64 counter = 5) const {
        return {customer,
                env,
                QStringLiteral("kl-reference-wearable"),
                QStringLiteral("1.2.0"),
                counter,
                {hardware, QStringLiteral("KW-1 rev C")}};
    }

    firmware::PackageInput input(const QByteArray& signedApp) const {
        firmware::PackageInput in;
        in.osVersion = QStringLiteral("12.5.1");
        in.osCounter = 3;
        in.osHardware = {QStringLiteral("KW-1 rev A"), hardware};
        in.components = {
            {QStringLiteral("bootloader"), QStringLiteral("2024.04"), pattern(700, 'b')},
            {QStringLiteral("kernel"), QStringLiteral("6.1.90"), pattern(90000, 'k')},
            {QStringLiteral("rootfs"), QStringLiteral("12.5.1"), pattern(150001, 'r')}};
        in.signedApp = signedApp;
        return in;
    }

    // A package as the station builds it: dev signs the manifest with the app key.
    QByteArray package(quint64 appCounter = 5, const SoftSigner* appKey = nullptr) const {
        const SoftSigner& key = appKey ? *appKey : app;
        auto signedApp = firmware::buildSignedApp(release(appCounter), pattern(5000, 'a'), key);
        REQUIRE(signedApp.ok());
        SoftSealer sealer(imageKey);
        QBuffer out;
        REQUIRE(out.open(QIODevice::WriteOnly));
        auto written =
            firmware::writePackage(input(*signedApp), sealer,
                                   env == firmware::Environment::Development ? &key : nullptr, out);
        if (!written.ok())
            FAIL(written.error().toString().toStdString());
        return out.data();
    }

    firmware::DeviceTrustAnchors anchors() const {
        firmware::DeviceTrustAnchors a;
        a.otpImageKey = imageKey;
        a.vendorKeystoreKey = *firmware::PublicKey::parse(vendor.publicKeyDer());
        a.keystore = keystore();
        a.hardwareId = hardware;
        a.minimumCounter = 5;
        a.minimumOsCounter = 3;
        return a;
    }
};

} // namespace keyline::test
