#include "provisioning/openssl_util.h"

#include <QFile>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace keyline::ossl {

QString lastError() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0)
        return QStringLiteral("unknown OpenSSL error");
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    return QString::fromLatin1(buffer);
}

Result<Certificate> certificateFromDer(const QByteArray& der) {
    auto p = reinterpret_cast<const unsigned char*>(der.constData());
    Certificate cert(d2i_X509(nullptr, &p, long(der.size())));
    if (!cert || p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("not a DER X.509 certificate (%1)").arg(lastError()));
    return cert;
}

Result<std::vector<Certificate>> certificatesFromPemFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    QByteArray pem = file.read(1024 * 1024);
    OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    std::vector<Certificate> out;
    while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        out.emplace_back(raw);
    ERR_clear_error(); // the loop ends on "no start line"
    if (out.empty())
        return Error(ErrorCode::BadInput, QStringLiteral("%1 holds no PEM certificate").arg(path));
    return out;
}

Result<void> verifySha256Signature(EVP_PKEY* key, const QByteArray& message,
                                   const QByteArray& signature) {
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
        return Error(ErrorCode::Internal,
                     QStringLiteral("signature check setup: %1").arg(lastError()));
    int ok = EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(signature.constData()),
        size_t(signature.size()), reinterpret_cast<const unsigned char*>(message.constData()),
        size_t(message.size()));
    ERR_clear_error();
    if (ok != 1)
        return Error(ErrorCode::VerificationFailed, QStringLiteral("signature does not verify"));
    return success();
}

bool isP256(EVP_PKEY* key) {
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return false;
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len) != 1)
        return false;
    return QLatin1String(group) == QLatin1String("prime256v1");
}

} // namespace keyline::ossl
