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
    // keystore refuses every package: it has nothing to trust one against. `imageSha256`, when
    // the caller has just measured the file, answers a package already verified against the
    // same anchors without reading and hashing it again (a 4 MiB image was hashed four times
    // per device, most of the simulator's CPU on a line).
    Result<firmware::VerifiedPackage> verify(const QString& path, const DeviceState& state,
                                             const QByteArray& imageSha256 = {}) const;

    // Copies what boot measured into the report.
    static void measure(const firmware::VerifiedPackage& verified, protocol::BootReport& report);

private:
    firmware::PublicKey m_vendorKey;
    QString m_hardware;
};

// Packages that verified, and what they verified against, shared by every virtual device of
// the process. A real wearable spends its own CPU on its boot check; hundreds of virtual ones
// share the host's, and a line flashes the same package against the same OTP key, keystore
// and ROM key on every device. The same bytes against the same anchors give the same answer,
// and counters raised no higher than the package's own still pass rollback, so that answer is
// reused; anything else (another image, a damaged copy, a raised counter) is verified in full.
class VerifiedPackageMemo {
public:
    struct Anchors {
        QByteArray imageSha256, otpKey, keystore, vendorKeyId;
        QString hardware;
        bool operator==(const Anchors&) const = default;
    };
    static std::optional<firmware::VerifiedPackage> find(const Anchors& anchors,
                                                         const DeviceState& state);
    static void remember(const Anchors& anchors, const firmware::VerifiedPackage& verified);
};

} // namespace keyline::sim
