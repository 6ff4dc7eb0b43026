#include "package_kit.h"

#include "firmware/soft_sealer.h"
#include "firmware_image/keystore.h"
#include "firmware_image/package.h"
#include "station_side.h"
#include "vendor_keystore.h"

#include <QBuffer>
#include <catch2/catch.hpp>

namespace keyline::devicetest {

QByteArray kitPattern(qsizetype size, char seed) {
    QByteArray out(size, '\0');
    for (qsizetype i = 0; i < size; ++i)
        out[i] = char((i * 31 + seed) & 0xff);
    return out;
}

PackageKit::PackageKit(QString customerId)
    : m_customer(std::move(customerId))
    , m_imageKey(randomBytes(32)) {
    using namespace keyline::firmware;
    KeystoreContent content;
    content.customerId = m_customer;
    content.environment = Environment::Development;
    content.serial = 1;
    content.entries.push_back(
        {KeyPurpose::ApplicationSigning, KeyAlgorithm::EcdsaP256, m_appKey.point()});
    content.entries.push_back(
        {KeyPurpose::UpdateAuthorisation, KeyAlgorithm::EcdsaP256, test::SoftSigner().point()});
    content.entries.push_back(
        {KeyPurpose::BackendE2e, KeyAlgorithm::EcdhP256, test::SoftSigner().point()});
    auto built = buildKeystore(content, VendorKeystoreKey::instance().signer());
    REQUIRE(built.ok());
    m_keystore = *built;
}

void PackageKit::prepare(flashing::DeviceClient& client) const {
    auto status = client.otpStatus();
    REQUIRE(status.ok());
    if (!status->burned) {
        auto ephemeral = client.ephemeralKey();
        REQUIRE(ephemeral.ok());
        REQUIRE(client.burnOtpKey(makeOtpBurn(ephemeral->publicKey, m_imageKey)).ok());
    }
    auto written = client.writeKeystore(m_keystore);
    if (!written.ok())
        FAIL(written.error().toString().toStdString());
}

QByteArray PackageKit::package(const Release& release) const {
    using namespace keyline::firmware;
    AppRelease app;
    app.customerId = m_customer;
    app.environment = Environment::Development;
    app.name = QStringLiteral("reference-app");
    app.version = release.appVersion;
    app.counter = release.appCounter;
    app.hardware = {release.hardware};
    auto signedApp = buildSignedApp(app, kitPattern(40 * 1024, 'a'), m_appKey);
    if (!signedApp.ok())
        FAIL(signedApp.error().toString().toStdString());

    PackageInput input;
    input.osVersion = release.osVersion;
    input.osCounter = release.osCounter;
    input.osHardware = {release.hardware};
    const qsizetype half = release.osBytes / 2;
    input.components.push_back(
        {QStringLiteral("kernel"), QStringLiteral("6.1.0"), kitPattern(half, 'k')});
    input.components.push_back(
        {QStringLiteral("rootfs"), release.osVersion, kitPattern(release.osBytes - half, 'r')});
    input.signedApp = *signedApp;
    test::SoftSealer sealer(m_imageKey);
    QBuffer out;
    REQUIRE(out.open(QIODevice::WriteOnly));
    auto written = writePackage(input, sealer, &m_appKey, out);
    if (!written.ok())
        FAIL(written.error().toString().toStdString());
    return out.data();
}

} // namespace keyline::devicetest
