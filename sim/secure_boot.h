#pragma once

// The virtual wearable's boot ROM check of a package (docs/package-format.md): the same
// verification before an install and at every boot, against what the device holds — the image
// key in OTP, the vendor keystore key in ROM, the stored keystore, its hardware revision and
// its anti-rollback counters. The package format code is firmware_image's, the device's own.

#include "firmware_image/package.h"
#include "flashing/commands.h"
#include "sim/device_store.h"

#include <optional>

namespace keyline::sim {

class SecureBoot {
public:
    SecureBoot(firmware::PublicKey vendorKeystoreKey, QString hardwareRevision)
        : m_vendorKey(std::move(vendorKeystoreKey))
        , m_hardware(std::move(hardwareRevision)) {}

    // Verifies the package in the file at `path` against `state`. The file is read once into
    // the device's memory and every check reads that copy. A device without an OTP key or a
    // keystore refuses every package: it has nothing to trust one against.
    Result<firmware::VerifiedPackage> verify(const QString& path, const DeviceState& state) const;

    // Copies what boot measured into the report.
    static void measure(const firmware::VerifiedPackage& verified, protocol::BootReport& report);

private:
    // The last package that verified and what it verified against. Boot checks the image that
    // install checked a moment before; the same bytes against the same OTP key and keystore
    // give the same answer, and counters raised no higher than the package's own still pass
    // rollback, so that answer is reused. Anything else is verified in full.
    struct Verified {
        QByteArray imageSha256, otpKey, keystore;
        firmware::VerifiedPackage result;
    };
    const firmware::VerifiedPackage* remembered(const QByteArray& imageSha256,
                                                const DeviceState& state) const;

    firmware::PublicKey m_vendorKey;
    QString m_hardware;
    mutable std::optional<Verified> m_last;
};

} // namespace keyline::sim
