#pragma once

#include "sim/ossl.h"

#include <QByteArray>
#include <QString>

// The simulated silicon vendor: a root CA that certifies each chip's identity key at
// manufacture, and a counterfeiter's root with the same name but another key.
namespace keyline::sim {

class SiliconVendor {
public:
    // Loads the roots from the state directory, creating them on first use:
    //   silicon-vendor-root.pem          the genuine root (the station trusts this file)
    //   ca/vendor-root-key.pem           its private key
    //   ca/counterfeit-root.pem, ca/counterfeit-root-key.pem
    Result<void> loadOrCreate(const QString& stateDir);

    QString rootPath() const { return m_rootPath; }

    // Certifies a chip identity key: subject serialNumber = chip UID in lowercase hex,
    // CN "Keyline wearable chip". `counterfeit` signs with the counterfeiter's root.
    Result<QByteArray> issueChipCertificate(EVP_PKEY* chipKey, const QByteArray& chipUid,
                                            bool counterfeit) const;

private:
    struct Root {
        ossl::Pkey key;
        ossl::Cert cert;
    };
    static Result<Root> loadOrCreateRoot(const QString& certPath, const QString& keyPath);

    QString m_rootPath;
    Root m_genuine;
    Root m_counterfeit;
};

} // namespace keyline::sim
