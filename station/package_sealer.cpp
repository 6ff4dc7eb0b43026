#include "station/package_sealer.h"

#include "common/ossl_ptr.h"
#include "station/command_util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace keyline::station {

namespace {

class SealStream final : public firmware::OsSealStream {
public:
    explicit SealStream(std::unique_ptr<hsm::GcmEncryption> op)
        : m_op(std::move(op)) {}
    QByteArray iv() const override { return m_op->iv(); }
    Result<QByteArray> update(QByteArrayView plaintext) override { return m_op->update(plaintext); }
    Result<Tail> finish() override {
        KL_TRY_ASSIGN(hsm::GcmEncryption::Tail t, m_op->finish());
        return Tail{std::move(t.ciphertext), std::move(t.tag)};
    }

private:
    std::unique_ptr<hsm::GcmEncryption> m_op;
};

class OpenStream final : public firmware::OsOpenStream {
public:
    explicit OpenStream(std::unique_ptr<hsm::GcmDecryption> op)
        : m_op(std::move(op)) {}
    Result<QByteArray> update(QByteArrayView ciphertext) override {
        return m_op->update(ciphertext);
    }
    Result<QByteArray> finish() override { return m_op->finish(); }

private:
    std::unique_ptr<hsm::GcmDecryption> m_op;
};

class PemSigner final : public Signer {
public:
    explicit PemSigner(EVP_PKEY* key)
        : m_key(key) {}
    Result<QByteArray> signDigest(const QByteArray& digest) const override {
        OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(m_key.get(), nullptr));
        unsigned char sig[80];
        size_t len = sizeof sig;
        if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
            EVP_PKEY_sign(ctx.get(), sig, &len,
                          reinterpret_cast<const unsigned char*>(digest.constData()),
                          std::size_t(digest.size())) != 1)
            return Error(ErrorCode::Internal, QStringLiteral("signing with the PEM key failed"));
        return QByteArray(reinterpret_cast<const char*>(sig), int(len));
    }
    QByteArray publicKeyDer() const override {
        unsigned char* der = nullptr;
        const int len = i2d_PUBKEY(m_key.get(), &der);
        QByteArray out(reinterpret_cast<const char*>(der), qMax(len, 0));
        OPENSSL_free(der);
        return out;
    }

private:
    OsslPtr<EVP_PKEY, EVP_PKEY_free> m_key;
};

} // namespace

Result<std::unique_ptr<Signer>> loadPemSigner(const QString& path) {
    KL_TRY_ASSIGN(QByteArray pem, readArgumentFile(path, QStringLiteral("private key"), 16 * 1024));
    OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    pem.fill('\0'); // key material does not linger in our buffers
    if (!key)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 is not an unencrypted PEM private key").arg(path));
    auto signer = std::make_unique<PemSigner>(key);
    if (!firmware::p256PointFromPublicKey(signer->publicKeyDer()).ok())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("%1 is not a P-256 key").arg(path));
    return std::unique_ptr<Signer>(std::move(signer));
}

Result<std::unique_ptr<firmware::OsSealStream>> HsmOsSealer::begin(const QByteArray& aad) {
    KL_TRY_ASSIGN(auto op, m_hsm.beginGcmEncrypt(m_key, aad));
    return std::unique_ptr<firmware::OsSealStream>(std::make_unique<SealStream>(std::move(op)));
}

Result<std::unique_ptr<firmware::OsOpenStream>>
HsmOsOpener::begin(const QByteArray& iv, const QByteArray& aad, const QByteArray& tag) {
    KL_TRY_ASSIGN(auto op, m_hsm.beginGcmDecrypt(m_key, iv, aad, tag));
    return std::unique_ptr<firmware::OsOpenStream>(std::make_unique<OpenStream>(std::move(op)));
}

} // namespace keyline::station
