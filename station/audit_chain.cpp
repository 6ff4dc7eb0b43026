#include "station/audit_chain.h"

#include "hsm/x509_sign.h"
#include "station/command_util.h"

#include <QFileInfo>

namespace keyline::station {

Result<QByteArray> auditChainPem(hsm::Pkcs11Hsm& hsm, const hsm::KeyUri& auditKey,
                                 const QString& rootPath) {
    hsm::KeyUri certUri = auditKey;
    certUri.type = QStringLiteral("cert");
    KL_TRY_ASSIGN(const QByteArray der,
                  hsm.certificate(certUri).context(QStringLiteral("audit certificate")));
    QByteArray chain = hsm::toPem(der, "CERTIFICATE");
    if (QFileInfo::exists(rootPath)) {
        KL_TRY_ASSIGN(const QByteArray root,
                      readArgumentFile(rootPath, QStringLiteral("root certificate"), 64 * 1024));
        chain += root;
    }
    return chain;
}

} // namespace keyline::station
