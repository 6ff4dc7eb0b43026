#include "provisioning/chip_authenticator.h"

#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

namespace keyline::provisioning {
namespace {

QString nameText(const X509_NAME* name) {
    char buffer[512];
    X509_NAME_oneline(name, buffer, sizeof(buffer));
    return QString::fromUtf8(buffer);
}

QString serialNumberOf(const X509_NAME* name) {
    int index = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
    if (index < 0)
        return {};
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    return QString::fromLatin1(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                               ASN1_STRING_length(data));
}

Error notGenuine(const QString& why) {
    return Error(ErrorCode::VerificationFailed, QStringLiteral("chip is not genuine: %1").arg(why));
}

} // namespace

QByteArray freshNonce() {
    QByteArray nonce(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), int(nonce.size())) != 1)
        qFatal("OpenSSL RAND_bytes failed: no entropy for challenge nonces");
    return nonce;
}

ChipAuthenticator::ChipAuthenticator(std::shared_ptr<X509_STORE> roots)
    : m_roots(std::move(roots)) {}

Result<ChipAuthenticator> ChipAuthenticator::fromRootFile(const QString& rootsPemPath) {
    auto roots = ossl::certificatesFromPemFile(rootsPemPath);
    if (!roots)
        return std::move(roots).error().context(
            QStringLiteral("silicon vendor root ([trust] silicon_vendor_root)"));
    std::shared_ptr<X509_STORE> store(X509_STORE_new(), &X509_STORE_free);
    for (const auto& cert : *roots)
        X509_STORE_add_cert(store.get(), cert.get());
    return ChipAuthenticator(std::move(store));
}

Result<GenuineChip> ChipAuthenticator::verify(const QByteArray& chipUid, const QByteArray& nonce,
                                              const protocol::ChallengeResponse& answer) const {
    auto cert = ossl::certificateFromDer(answer.chipCertificate);
    if (!cert)
        return notGenuine(cert.error().message());

    OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free> ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), m_roots.get(), cert->get(), nullptr);
    if (X509_verify_cert(ctx.get()) != 1)
        return notGenuine(QStringLiteral("identity certificate (issuer %1) does not chain to the "
                                         "silicon vendor root: %2")
                              .arg(nameText(X509_get_issuer_name(cert->get())),
                                   QString::fromLatin1(X509_verify_cert_error_string(
                                       X509_STORE_CTX_get_error(ctx.get())))));

    const X509_NAME* subject = X509_get_subject_name(cert->get());
    QString expectedSerial = QString::fromLatin1(chipUid.toHex());
    if (serialNumberOf(subject).compare(expectedSerial, Qt::CaseInsensitive) != 0)
        return notGenuine(QStringLiteral("identity certificate is for chip %1, the chip says %2")
                              .arg(serialNumberOf(subject), expectedSerial));

    EVP_PKEY* key = X509_get0_pubkey(cert->get());
    if (!ossl::isP256(key))
        return notGenuine(QStringLiteral("identity key is not a P-256 key"));
    auto sig = ossl::verifySha256Signature(key, protocol::challengeMessage(chipUid, nonce),
                                           answer.signature);
    if (!sig)
        return notGenuine(QStringLiteral("challenge signature does not verify with the "
                                         "certified identity key"));

    EVP_PKEY_up_ref(key);
    GenuineChip chip;
    chip.chipUid = chipUid;
    chip.certificateSubject = nameText(subject);
    chip.certificateIssuer = nameText(X509_get_issuer_name(cert->get()));
    chip.identityKey = ossl::SharedPkey(key, &EVP_PKEY_free);
    return chip;
}

Result<void>
ChipAuthenticator::verifyEphemeralKey(const GenuineChip& chip,
                                      const protocol::EphemeralKeyResponse& answer) const {
    auto sig = ossl::verifySha256Signature(
        chip.identityKey.get(), protocol::ephemeralKeyMessage(chip.chipUid, answer.publicKey),
        answer.signature);
    if (!sig)
        return notGenuine(QStringLiteral("ephemeral key is not signed by the chip's identity key"));
    return success();
}

} // namespace keyline::provisioning
