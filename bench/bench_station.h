#pragma once

// The station's side for benchmarks that need real devices: a SoftHSM2 development token in a
// temp dir, and what the station puts on a virtual wearable before it flashes (genuine chip,
// image key in OTP, keystore) and the packages it flashes, all made the station's way.

#include "bench_util.h"
#include "firmware_image/keystore.h"
#include "firmware_image/package.h"
#include "flashing/device_client.h"
#include "flashing/socket_transport.h"
#include "hsm/key_inventory.h"
#include "hsm/x509_sign.h"
#include "provisioning/chip_check_step.h"
#include "provisioning/otp_key_step.h"
#include "sim/device.h"
#include "sim/simulator.h"
#include "station/package_sealer.h"

#include <QBuffer>
#include <QFile>
#include <QTemporaryDir>

namespace keyline::bench {

inline std::unique_ptr<flashing::DeviceClient> connectDevice(sim::Simulator& simulator) {
    flashing::PortInfo port{
        QStringLiteral("sim:port-01"), QStringLiteral("sim"), {}, simulator.socketPath(1)};
    return std::make_unique<flashing::DeviceClient>(
        need(flashing::SocketTransport::connect(port), "connect"));
}

// The station's side: a development token, and what it puts on the device before a flash.
struct BenchStation {
    QTemporaryDir dir;
    std::unique_ptr<hsm::Pkcs11Hsm> hsm;
    QString vendorKeyPem;

    BenchStation() {
        hsm = openDevToken(dir.path());
        vendorKeyPem = dir.filePath(QStringLiteral("keystore-signing.pub.pem"));
        QFile f(vendorKeyPem);
        if (!f.open(QIODevice::WriteOnly) ||
            f.write(hsm::toPem(
                need(hsm->publicKey(hsm->uriFor(hsm::labels::keystoreSigning)), "vendor key"),
                "PUBLIC KEY")) <= 0)
            qFatal("cannot write the vendor key");
    }

    hsm::KeyUri imageKey() const {
        return hsm->uriFor(hsm::labels::imageKey, QStringLiteral("secret"));
    }

    // Steps 1-3 of the plan: genuine chip, image key in OTP, keystore.
    void prepare(sim::Simulator& simulator) {
        auto client = connectDevice(simulator);
        const auto chips =
            need(provisioning::ChipAuthenticator::fromRootFile(simulator.vendorRootPath()),
                 "vendor root");
        const auto chip = need(provisioning::authenticateChip(*client, chips), "chip check");
        need(provisioning::OtpKeyStep(chips, *hsm, imageKey()).ensure(*client, chip), "OTP");
        need(client->writeKeystore(keystore()), "keystore write");
    }

    // The development keystore for customer "bench": the common development keys, signed by
    // the vendor keystore key.
    QByteArray keystore() {
        firmware::KeystoreContent content;
        content.customerId = QStringLiteral("bench");
        for (auto [purpose, label] :
             {std::pair{firmware::KeyPurpose::ApplicationSigning, hsm::labels::devAppSigning},
              std::pair{firmware::KeyPurpose::UpdateAuthorisation, hsm::labels::devUpdateAuth},
              std::pair{firmware::KeyPurpose::BackendE2e, hsm::labels::devBackendE2e}})
            content.entries.push_back({purpose, firmware::algorithmFor(purpose),
                                       need(firmware::p256PointFromPublicKey(need(
                                                hsm->publicKey(hsm->uriFor(label)), "dev key")),
                                            "dev key point")});
        auto signer = need(hsm->signer(hsm->uriFor(hsm::labels::keystoreSigning)), "signer");
        return need(firmware::buildKeystore(content, *signer), "keystore");
    }

    // A development package whose OS is `os`; each build has a fresh IV, so a new image.
    QByteArray package(const QByteArray& os) {
        auto appKey = need(hsm->signer(hsm->uriFor(hsm::labels::devAppSigning)), "app key");
        firmware::AppRelease app;
        app.customerId = QStringLiteral("bench");
        app.name = QStringLiteral("bench-app");
        app.version = QStringLiteral("1.0.0");
        app.counter = 1;
        app.hardware = {QLatin1String(sim::kSimHardwareRevision)};
        firmware::PackageInput input;
        input.osVersion = QStringLiteral("1.0.0");
        input.osCounter = 1;
        input.osHardware = app.hardware;
        input.components.push_back({QStringLiteral("rootfs"), QStringLiteral("1.0.0"), os});
        input.signedApp =
            need(firmware::buildSignedApp(app, QByteArray(64 * 1024, 'a'), *appKey), "app");
        station::HsmOsSealer sealer(*hsm, imageKey());
        QBuffer out;
        out.open(QIODevice::WriteOnly);
        need(firmware::writePackage(input, sealer, appKey.get(), out), "package");
        return out.data();
    }
};

} // namespace keyline::bench
