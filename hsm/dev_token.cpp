#include "hsm/dev_token.h"

#include "hsm/dev_tls_certs.h"
#include "hsm/key_inventory.h"
#include "hsm/key_objects.h"
#include "hsm/module.h"
#include "hsm/softhsm_token_guard.h"
#include "hsm/x509_sign.h"

#include <QDir>
#include <QFile>
#include <QSaveFile>
#include <QSysInfo>
#include <cstring>
#include <openssl/rand.h>

namespace keyline::hsm {

namespace {

Result<void> writeFile(const QString& path, const QByteArray& data) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write '%1': %2").arg(path, f.errorString()));
    return success();
}

QByteArray keyId(const QString& label) {
    // CKA_ID ties a key to its certificate (pkcs11-helper looks keys up this way). The label's
    // bytes make it readable in pkcs11-tool listings.
    return label.toUtf8();
}

} // namespace

Result<QString> writeSoftHsmConfig(const QString& dataDir) {
    const QString dir = QDir(dataDir).filePath(QStringLiteral("softhsm"));
    const QString tokens = QDir(dir).filePath(QStringLiteral("tokens"));
    if (!QDir().mkpath(tokens))
        return Error(ErrorCode::Io, QStringLiteral("cannot create '%1'").arg(tokens));
    QFile::setPermissions(dir,
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    const QString conf = QDir(dir).filePath(QStringLiteral("softhsm2.conf"));
    if (!QFile::exists(conf)) {
        const QString text = QStringLiteral("# Written by keyline hsm init-dev\n"
                                            "directories.tokendir = %1\n"
                                            "objectstore.backend = file\n"
                                            "log.level = ERROR\n"
                                            "slots.removable = false\n")
                                 .arg(tokens);
        KL_TRY(writeFile(conf, text.toUtf8()));
    }
    return conf;
}

Result<bool> ensureToken(const QString& modulePath, const QString& label, const QByteArray& soPin,
                         const QByteArray& userPin) {
    KL_TRY_ASSIGN(auto module, Module::load(modulePath));
    if (module->findToken(label).ok())
        return false;
    KL_TRY_ASSIGN(const auto all, module->tokens());
    const Module::TokenSlot* free = nullptr;
    for (const auto& t : all)
        if (!(t.flags & CKF_TOKEN_INITIALIZED))
            free = &t;
    if (!free)
        return Error(
            ErrorCode::EnvironmentNotReady,
            QStringLiteral("module '%1' has no free slot for a new token").arg(modulePath));
    QByteArray so = soPin;
    if (so.isEmpty()) {
        unsigned char r[16];
        if (RAND_bytes(r, sizeof r) != 1)
            return Error(ErrorCode::Internal, QStringLiteral("no randomness for the SO PIN"));
        so = QByteArray(reinterpret_cast<const char*>(r), sizeof r).toHex();
    }
    unsigned char padded[32];
    std::memset(padded, ' ', sizeof padded);
    const QByteArray l = label.toUtf8().left(32);
    std::memcpy(padded, l.constData(), std::size_t(l.size()));
    auto* f = module->fn();
    CK_RV rv = f->C_InitToken(free->slot, reinterpret_cast<CK_UTF8CHAR*>(so.data()),
                              CK_ULONG(so.size()), padded);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("initialising token '%1'").arg(label), rv);
    // SoftHSM2 moved the token to a new slot: look it up again by label.
    KL_TRY_ASSIGN(const auto token, module->findToken(label));
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    rv = f->C_OpenSession(token.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("opening a session on new token '%1'").arg(label), rv);
    rv = f->C_Login(s, CKU_SO, reinterpret_cast<CK_UTF8CHAR*>(so.data()), CK_ULONG(so.size()));
    if (rv == CKR_OK) {
        QByteArray pin = userPin;
        rv = f->C_InitPIN(s, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), CK_ULONG(pin.size()));
        pin.fill('\0');
        f->C_Logout(s);
    }
    so.fill('\0');
    f->C_CloseSession(s);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("setting the user PIN of token '%1'").arg(label), rv);
    return true;
}

Result<void> ensureDevKeys(Pkcs11Hsm& hsm, int caValidityDays, InitDevReport& report) {
    return ensureDevKeys(hsm, caValidityDays, {}, report);
}

Result<void> ensureDevKeys(Pkcs11Hsm& hsm, int caValidityDays, const QString& stationName,
                           InitDevReport& report) {
    const QString station = stationName.isEmpty() ? QSysInfo::machineHostName() : stationName;
    auto& pool = hsm.pool();
    for (const KeySpec& spec : keyInventory()) {
        bool exists = false;
        {
            KL_TRY_ASSIGN(SessionLease s, pool.acquire());
            const CK_OBJECT_CLASS cls =
                spec.algorithm == KeyAlgorithm::Aes256 ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
            KL_TRY_ASSIGN(const auto found, findOne(s, {cls, spec.label, {}}));
            exists = found.has_value();
            if (!exists) {
                if (spec.algorithm == KeyAlgorithm::Aes256) {
                    KL_TRY(generateAes256(s, spec.label, keyId(spec.label), spec.extractable));
                } else {
                    const EcUsage usage = spec.algorithm == KeyAlgorithm::EcP256Derive
                                              ? EcUsage::Derive
                                              : EcUsage::Sign;
                    KL_TRY(generateP256(
                        s, {spec.label, keyId(spec.label), usage, true, spec.extractable}));
                }
            }
        }
        (exists ? report.present : report.created) << spec.label;
        if (!spec.certificate)
            continue;

        const QString certName = spec.label + QStringLiteral(" (certificate)");
        {
            KL_TRY_ASSIGN(SessionLease s, pool.acquire());
            KL_TRY_ASSIGN(const auto cert, findOne(s, {CKO_CERTIFICATE, spec.label, {}}));
            if (cert) {
                report.present << certName;
                continue;
            }
        }
        KL_TRY_ASSIGN(const QByteArray spki, hsm.publicKey(hsm.uriFor(spec.label)));
        KL_TRY_ASSIGN(auto issuerSigner, hsm.signer(hsm.uriFor(spec.issuerLabel)));
        QByteArray der;
        if (spec.issuerLabel == spec.label) {
            KL_TRY_ASSIGN(der, makeCaCertificate(spec.certificateSubject, spki, nullptr,
                                                 *issuerSigner, caValidityDays * 2, -1));
        } else {
            KL_TRY_ASSIGN(const QByteArray issuerDer,
                          hsm.certificate(hsm.uriFor(spec.issuerLabel, QStringLiteral("cert"))));
            KL_TRY_ASSIGN(X509Ptr issuer, parseCertificate(issuerDer));
            if (spec.label == labels::stationTls) {
                KL_TRY_ASSIGN(der, makeStationTlsCertificate(station, spki, issuer.get(),
                                                             *issuerSigner, caValidityDays));
            } else if (spec.label == labels::issuingCa) {
                KL_TRY_ASSIGN(der, makeCaCertificate(spec.certificateSubject, spki, issuer.get(),
                                                     *issuerSigner, caValidityDays, 0));
            } else {
                KL_TRY_ASSIGN(der,
                              makeSigningCertificate(spec.certificateSubject, spki, issuer.get(),
                                                     *issuerSigner, caValidityDays));
            }
        }
        KL_TRY_ASSIGN(SessionLease s, pool.acquire());
        KL_TRY(storeCertificate(s, spec.label, keyId(spec.label), der));
        report.created << certName;
    }
    return success();
}

Result<InitDevReport> initDevToken(const DevTokenOptions& options) {
    if (options.userPin.isEmpty())
        return Error(
            ErrorCode::InvalidArgument,
            QStringLiteral("init-dev needs a user PIN: set [hsm] pin or $KEYLINE_HSM_PIN"));
    InitDevReport report;
    KL_TRY_ASSIGN(report.softhsmConfig, writeSoftHsmConfig(options.dataDir));
    qputenv("SOFTHSM2_CONF", QFile::encodeName(report.softhsmConfig));
    {
        // Creating the token writes token.object, as a login does (see softhsm_token_guard.h);
        // released before Pkcs11Hsm::open, which takes the same lock.
        KL_TRY_ASSIGN(
            const softhsm::TokenFileLock lock,
            softhsm::TokenFileLock::acquire(report.softhsmConfig, std::chrono::seconds(60)));
        KL_TRY_ASSIGN(report.tokenCreated, ensureToken(options.modulePath, options.tokenLabel,
                                                       options.soPin, options.userPin));
    }
    HsmConfig config;
    config.modulePath = options.modulePath;
    config.tokenLabel = options.tokenLabel;
    config.pin = PinSource::fixed(options.userPin);
    config.softhsmConfig = report.softhsmConfig;
    KL_TRY_ASSIGN(auto hsm, Pkcs11Hsm::open(config));
    KL_TRY(ensureDevKeys(*hsm, options.caValidityDays, options.stationName, report));

    // Public halves for the rest of the world: the trust anchor for the registry and devices,
    // the issuing CA for chains, the keystore signing key for device secure boot.
    report.exportDir = QDir(options.dataDir).filePath(QStringLiteral("export"));
    if (!QDir().mkpath(report.exportDir))
        return Error(ErrorCode::Io, QStringLiteral("cannot create '%1'").arg(report.exportDir));
    const QDir out(report.exportDir);
    for (const auto& [label, file] :
         {std::pair{labels::deviceRootCa, QStringLiteral("device-root-ca.pem")},
          std::pair{labels::issuingCa, QStringLiteral("issuing-ca.pem")},
          std::pair{labels::auditSigning, QStringLiteral("audit-signing.pem")},
          std::pair{labels::stationTls, QStringLiteral("station-tls.pem")}}) {
        KL_TRY_ASSIGN(const QByteArray der,
                      hsm->certificate(hsm->uriFor(label, QStringLiteral("cert"))));
        KL_TRY(writeFile(out.filePath(file), toPem(der, "CERTIFICATE")));
    }
    for (const auto& [label, file] :
         {std::pair{labels::keystoreSigning, QStringLiteral("keystore-signing.pub.pem")},
          std::pair{labels::devAppSigning, QStringLiteral("dev-app-signing.pub.pem")},
          std::pair{labels::devUpdateAuth, QStringLiteral("dev-update-auth.pub.pem")},
          std::pair{labels::devBackendE2e, QStringLiteral("dev-backend-e2e.pub.pem")}}) {
        KL_TRY_ASSIGN(const QByteArray spki, hsm->publicKey(hsm->uriFor(label)));
        KL_TRY(writeFile(out.filePath(file), toPem(spki, "PUBLIC KEY")));
    }
    // The development back-end's server certificate, so `keyline-registry` runs on loopback.
    KL_TRY_ASSIGN(const bool registryCert,
                  ensureRegistryDevCertificate(*hsm, report.exportDir, options.caValidityDays));
    (registryCert ? report.created : report.present)
        << QStringLiteral("keyline-registry-dev (export/%1)").arg(kRegistryDevCertFile);
    return report;
}

} // namespace keyline::hsm
