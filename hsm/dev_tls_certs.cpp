#include "hsm/dev_tls_certs.h"

#include "hsm/key_inventory.h"
#include "hsm/pkcs11_hsm.h"
#include "hsm/x509_sign.h"

#include <QDir>
#include <QFile>
#include <QSaveFile>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace keyline::hsm {

namespace {

using BioPtr = OsslPtr<BIO, BIO_free>;

Result<X509Ptr> endEntity(const QList<std::pair<const char*, QByteArray>>& subject,
                          const QByteArray& spki, X509* issuer, int validityDays) {
    X509Ptr x(X509_new());
    KL_TRY_ASSIGN(EvpPkeyPtr pub, publicKeyFromSpki(spki));
    X509_NAME* name = X509_get_subject_name(x.get());
    for (const auto& [field, value] : subject)
        if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(value.constData()),
                                        int(value.size()), -1, 0))
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("certificate subject %1=%2 is not valid")
                             .arg(QLatin1String(field), QString::fromUtf8(value)));
    if (!X509_set_version(x.get(), X509_VERSION_3) || !X509_set_pubkey(x.get(), pub.get()) ||
        !X509_set_issuer_name(x.get(), X509_get_subject_name(issuer)) ||
        !X509_gmtime_adj(X509_getm_notBefore(x.get()), -300) ||
        !X509_gmtime_adj(X509_getm_notAfter(x.get()), long(validityDays) * 86400))
        return Error(ErrorCode::Internal, QStringLiteral("cannot fill the certificate"));
    KL_TRY(setRandomSerial(x.get()));
    KL_TRY(addExtension(x.get(), issuer, NID_subject_key_identifier, "hash"));
    KL_TRY(addExtension(x.get(), issuer, NID_authority_key_identifier, "keyid:always"));
    KL_TRY(addExtension(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE"));
    KL_TRY(addExtension(x.get(), issuer, NID_key_usage, "critical,digitalSignature"));
    return x;
}

Result<void> writeFile(const QString& path, const QByteArray& data, bool secret) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write '%1': %2").arg(path, f.errorString()));
    if (secret)
        f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    if (f.write(data) != data.size() || !f.commit())
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write '%1': %2").arg(path, f.errorString()));
    if (secret)
        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return success();
}

// The pair on disk is usable: the certificate parses, is valid now and matches the key.
bool usablePair(const QString& certPath, const QString& keyPath) {
    QFile c(certPath), k(keyPath);
    if (!c.open(QIODevice::ReadOnly) || !k.open(QIODevice::ReadOnly))
        return false;
    const QByteArray certPem = c.read(64 * 1024), keyPem = k.read(64 * 1024);
    BioPtr cb(BIO_new_mem_buf(certPem.constData(), int(certPem.size())));
    BioPtr kb(BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())));
    X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    return cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
           X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0;
}

} // namespace

Result<QByteArray> makeStationTlsCertificate(const QString& stationName,
                                             const QByteArray& subjectSpki, X509* issuer,
                                             const Signer& signer, int validityDays) {
    if (stationName.isEmpty() || stationName.size() > 64)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("the station name must be 1 to 64 characters for its TLS "
                                    "certificate; set [station] name"));
    KL_TRY_ASSIGN(X509Ptr x, endEntity({{"O", QByteArrayLiteral("Keyline")},
                                        {"OU", QByteArrayLiteral("station")},
                                        {"CN", stationName.toUtf8()}},
                                       subjectSpki, issuer, validityDays));
    KL_TRY(addExtension(x.get(), issuer, NID_ext_key_usage, "clientAuth"));
    return signCertificate(x.get(), signer);
}

Result<bool> ensureRegistryDevCertificate(Pkcs11Hsm& hsm, const QString& exportDir,
                                          int validityDays) {
    const QDir out(exportDir);
    const QString certPath = out.filePath(kRegistryDevCertFile);
    const QString keyPath = out.filePath(kRegistryDevKeyFile);
    if (usablePair(certPath, keyPath))
        return false;

    // A software key on purpose: it belongs to the (development) back-end, not the station.
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    if (!key)
        return Error(ErrorCode::Internal, QStringLiteral("cannot generate the registry key"));
    unsigned char* spkiRaw = nullptr;
    const int spkiLen = i2d_PUBKEY(key.get(), &spkiRaw);
    if (spkiLen <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the registry key"));
    const QByteArray spki(reinterpret_cast<const char*>(spkiRaw), spkiLen);
    OPENSSL_free(spkiRaw);

    KL_TRY_ASSIGN(const QByteArray rootDer,
                  hsm.certificate(hsm.uriFor(labels::deviceRootCa, QStringLiteral("cert"))));
    KL_TRY_ASSIGN(X509Ptr root, parseCertificate(rootDer));
    KL_TRY_ASSIGN(auto rootSigner, hsm.signer(hsm.uriFor(labels::deviceRootCa)));
    KL_TRY_ASSIGN(X509Ptr x, endEntity({{"O", QByteArrayLiteral("Keyline")},
                                        {"CN", QByteArrayLiteral("keyline-registry-dev")}},
                                       spki, root.get(), validityDays));
    KL_TRY(addExtension(x.get(), root.get(), NID_ext_key_usage, "serverAuth"));
    KL_TRY(addExtension(x.get(), root.get(), NID_subject_alt_name,
                        "IP:127.0.0.1,IP:::1,DNS:localhost"));
    KL_TRY_ASSIGN(const QByteArray der, signCertificate(x.get(), *rootSigner));

    BioPtr mem(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(mem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the registry key"));
    char* data = nullptr;
    const long len = BIO_get_mem_data(mem.get(), &data);
    QByteArray keyPem(data, int(len));
    auto written = writeFile(keyPath, keyPem, true);
    keyPem.fill('\0');
    KL_TRY(written);
    KL_TRY(writeFile(certPath, toPem(der, "CERTIFICATE"), false));
    return true;
}

} // namespace keyline::hsm
