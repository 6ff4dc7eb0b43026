#include "vendor_keystore.h"

#include "firmware/soft_signer.h"
#include "firmware_image/keystore.h"

#include <QFile>
#include <QTemporaryDir>
#include <catch2/catch.hpp>

namespace keyline::devicetest {

namespace {

firmware::KeystoreContent sampleContent(quint64 serial) {
    using namespace keyline::firmware;
    KeystoreContent content;
    content.customerId = QStringLiteral("acme-42");
    content.environment = Environment::Development;
    content.serial = serial;
    for (KeyPurpose purpose :
         {KeyPurpose::ApplicationSigning, KeyPurpose::UpdateAuthorisation, KeyPurpose::BackendE2e})
        content.entries.push_back({purpose, algorithmFor(purpose), test::SoftSigner().point()});
    return content;
}

QByteArray build(quint64 serial, const Signer& signer) {
    auto built = firmware::buildKeystore(sampleContent(serial), signer);
    REQUIRE(built.ok());
    return *built;
}

} // namespace

struct VendorKeystoreKey::Impl {
    test::SoftSigner signer;
    QTemporaryDir dir;
    QString path;
};

VendorKeystoreKey::VendorKeystoreKey()
    : m_impl(std::make_unique<Impl>()) {
    REQUIRE(m_impl->dir.isValid());
    m_impl->path = m_impl->dir.filePath(QStringLiteral("keystore-signing.pub.pem"));
    const QByteArray der = m_impl->signer.publicKeyDer();
    const QByteArray base64 = der.toBase64();
    QByteArray pem = "-----BEGIN PUBLIC KEY-----\n";
    for (qsizetype i = 0; i < base64.size(); i += 64)
        pem += base64.mid(i, 64) + '\n';
    pem += "-----END PUBLIC KEY-----\n";
    QFile file(m_impl->path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    REQUIRE(file.write(pem) == pem.size());
}

VendorKeystoreKey::~VendorKeystoreKey() = default;

const VendorKeystoreKey& VendorKeystoreKey::instance() {
    static const VendorKeystoreKey key;
    return key;
}

QString VendorKeystoreKey::publicKeyPath() const {
    return m_impl->path;
}

const Signer& VendorKeystoreKey::signer() const {
    return m_impl->signer;
}

QByteArray VendorKeystoreKey::keystore(quint64 serial) const {
    return build(serial, m_impl->signer);
}

QByteArray otherVendorKeystore(quint64 serial) {
    test::SoftSigner other;
    return build(serial, other);
}

QByteArray forgedKeystore() {
    QByteArray bytes = VendorKeystoreKey::instance().keystore();
    // Offset 9 is the first byte of the customer ID ("acme-42" -> "bcme-42"): still well formed.
    bytes[9] = 'b';
    return bytes;
}

QByteArray unsignedKeystore() {
    auto parsed = firmware::parseKeystore(VendorKeystoreKey::instance().keystore());
    REQUIRE(parsed.ok());
    return parsed->signedBytes.chopped(1); // without signature_algorithm and what follows
}

} // namespace keyline::devicetest
