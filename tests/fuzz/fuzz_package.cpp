// libFuzzer target for the package parser and the device's verifier (firmware_image/package_*).
// Build: the `fuzz` preset; scripts/fuzz runs it with seeds from tests/fuzz/corpus/fuzz_package/
// (small development packages made with the fixed test keys below: regenerate them with
//   KEYLINE_FUZZ_PACKAGE_SEEDS=<dir> build/fuzz/tests/fuzz/fuzz_package -runs=0).
//
// Properties checked beyond "no crash":
//  - whatever parses re-encodes to exactly its header and manifest bytes (one content, one
//    encoding), and its regions tile the file with nothing left over;
//  - every refusal of the device's verifier names a package region (detail());
//  - whatever the device accepts also parses.

#include "common/ossl_ptr.h"
#include "firmware_image/package_format.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <cstdint>
#include <cstdlib>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace {

using namespace keyline;
using namespace keyline::firmware;

// Test-only keys, public in this file: never a real vendor's or customer's.
const char kVendorPem[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMkRF5jZ5miudnxLV\n"
                          "qLqjym3kuYnXWZTV+mpyr0Rl2nShRANCAAQ7oh+7FQFQNbXVHw25nZk+V3L0mjZb\n"
                          "bXOeqDKjg60lMtFji7i8AZcrZrVmFlfv0fnRtfLNHvsGnE7Zrz4ffSIS\n"
                          "-----END PRIVATE KEY-----\n";
const char kAppPem[] = "-----BEGIN PRIVATE KEY-----\n"
                       "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5dC/mocQhSXEMgSb\n"
                       "DS8OrMJZNbQ/nTLUWTijt3Nqw3ChRANCAATbueeKJsqtDpDkNBpAuRZ1dLmoKS/q\n"
                       "jOUwKgLClgKJ2+lJGEENyMxxf8ejqAfc6uxaUv4dX36SfFPe6Mc9iLu5\n"
                       "-----END PRIVATE KEY-----\n";
const QByteArray kImageKey(32, '\x42');

class PemSigner final : public Signer {
public:
    explicit PemSigner(const char* pem) {
        OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(pem, -1));
        m_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    }
    Result<QByteArray> signDigest(const QByteArray& d) const override {
        OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(m_key.get(), nullptr));
        unsigned char sig[80];
        size_t len = sizeof sig;
        EVP_PKEY_sign_init(ctx.get());
        EVP_PKEY_sign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(d.constData()),
                      std::size_t(d.size()));
        return QByteArray(reinterpret_cast<const char*>(sig), int(len));
    }
    QByteArray publicKeyDer() const override {
        unsigned char* der = nullptr;
        const int len = i2d_PUBKEY(m_key.get(), &der);
        QByteArray out(reinterpret_cast<const char*>(der), len);
        OPENSSL_free(der);
        return out;
    }
    QByteArray point() const { return *p256PointFromPublicKey(publicKeyDer()); }

private:
    OsslPtr<EVP_PKEY, EVP_PKEY_free> m_key;
};

class FixedSealStream final : public OsSealStream {
public:
    explicit FixedSealStream(const QByteArray& aad)
        : m_ctx(EVP_CIPHER_CTX_new()) {
        int len = 0;
        const auto* u = reinterpret_cast<const unsigned char*>(kImageKey.constData());
        EVP_EncryptInit_ex(m_ctx.get(), EVP_aes_256_gcm(), nullptr, u,
                           reinterpret_cast<const unsigned char*>(m_iv.constData()));
        EVP_EncryptUpdate(m_ctx.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(aad.constData()), int(aad.size()));
    }
    QByteArray iv() const override { return m_iv; }
    Result<QByteArray> update(QByteArrayView p) override {
        QByteArray out(p.size(), '\0');
        int len = 0;
        EVP_EncryptUpdate(m_ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                          reinterpret_cast<const unsigned char*>(p.data()), int(p.size()));
        return out;
    }
    Result<Tail> finish() override {
        unsigned char rest[16];
        int len = 0;
        EVP_EncryptFinal_ex(m_ctx.get(), rest, &len);
        Tail t{{}, QByteArray(16, '\0')};
        EVP_CIPHER_CTX_ctrl(m_ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, t.tag.data());
        return t;
    }

private:
    OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> m_ctx;
    QByteArray m_iv = QByteArray(12, '\x07'); // seeds only: a real sealer's IV is random
};

class FixedSealer final : public OsSealer {
public:
    Result<std::unique_ptr<OsSealStream>> begin(const QByteArray& aad) override {
        return std::unique_ptr<OsSealStream>(new FixedSealStream(aad));
    }
};

DeviceTrustAnchors* g_anchors = nullptr;

void writeSeeds(const QString& dir, const PemSigner& app) {
    QDir().mkpath(dir);
    for (int i = 0; i < 3; ++i) {
        AppRelease rel{QStringLiteral("fuzz-co"),
                       Environment::Development,
                       QStringLiteral("app"),
                       QStringLiteral("1.0"),
                       quint64(i),
                       {QStringLiteral("KW-1 rev B")}};
        auto signedApp = buildSignedApp(rel, QByteArray(40 + i, 'a'), app);
        PackageInput in{
            QStringLiteral("1.0.%1").arg(i), 2, {QStringLiteral("KW-1 rev B")}, {}, *signedApp};
        for (int c = 0; c <= i; ++c)
            in.components.push_back({QStringLiteral("c%1").arg(c), QStringLiteral("1"),
                                     QByteArray(64 + c, char('k' + c))});
        FixedSealer sealer;
        QBuffer out;
        out.open(QIODevice::WriteOnly);
        if (!writePackage(in, sealer, &app, out).ok())
            std::abort();
        QFile f(QDir(dir).filePath(QStringLiteral("seed-%1.klpk").arg(i)));
        f.open(QIODevice::WriteOnly);
        f.write(out.data());
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static PemSigner vendor(kVendorPem), app(kAppPem), other(kVendorPem);
    KeystoreContent ks;
    ks.customerId = QStringLiteral("fuzz-co");
    ks.serial = 1;
    ks.entries = {{KeyPurpose::ApplicationSigning, KeyAlgorithm::EcdsaP256, app.point()},
                  {KeyPurpose::UpdateAuthorisation, KeyAlgorithm::EcdsaP256, vendor.point()},
                  {KeyPurpose::BackendE2e, KeyAlgorithm::EcdhP256, other.point()}};
    static DeviceTrustAnchors anchors{kImageKey,
                                      *PublicKey::parse(vendor.publicKeyDer()),
                                      *buildKeystore(ks, vendor),
                                      QStringLiteral("KW-1 rev B"),
                                      0,
                                      0};
    g_anchors = &anchors;
    if (const QByteArray dir = qgetenv("KEYLINE_FUZZ_PACKAGE_SEEDS"); !dir.isEmpty())
        writeSeeds(QString::fromLocal8Bit(dir), app);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 1024 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char*>(data), qsizetype(size));
    auto parsed = parsePackage(input);
    if (parsed.ok()) {
        const auto& s = parsed->spans;
        auto again = pkg::encodeManifest(parsed->manifest);
        if (!again.ok() || *again != input.mid(s.manifest.offset, s.manifest.size))
            std::abort(); // the reader accepted something the writer would not produce
        if (s.application.offset + s.application.size != input.size())
            std::abort();
    } else if (regionOf(parsed.error()) == PackageRegion::None) {
        std::abort();
    }
    auto verified = verifyPackageForInstall(input, *g_anchors);
    if (verified.ok() && !parsed.ok())
        std::abort();
    if (!verified.ok() && regionOf(verified.error()) == PackageRegion::None)
        std::abort(); // every refusal names a region
    return 0;
}
