#pragma once

// Everything a production run needs to know about its order, read and checked once before the
// first device: the keystore and package bytes, what secure boot must report for that package,
// and the certificate profile.

#include "firmware_image/package.h"
#include "flashing/flash_writer.h"
#include "hsm/issuing_ca.h"

#include <vector>

namespace keyline::provisioning {

// What a device that booted this order's package must measure (docs/package-format.md).
struct ExpectedBoot {
    QByteArray packageSha256; // the whole package, as flashed
    QByteArray measurement;   // SHA-256 of header ‖ manifest
    QByteArray applicationSha256;
    QString osVersion;
    QString appVersion;
    quint64 osCounter = 0;
    quint64 appCounter = 0;
    struct Component {
        QString name;
        QString version;
        QByteArray sha256;
    };
    std::vector<Component> components;
};

// Reads the manifest of a package the station is about to flash. BadInput naming the package
// region when it does not parse.
Result<ExpectedBoot> expectedBootOf(const flashing::FlashImage& package);

struct OrderPlan {
    QString orderId;
    QString customerId;
    firmware::Environment environment = firmware::Environment::Development;
    int quantity = 0;
    QByteArray keystore;
    QByteArray keystoreSha256;
    flashing::FlashImage package;
    ExpectedBoot expected;
    hsm::DeviceCertificateProfile certificateProfile;
};

} // namespace keyline::provisioning
