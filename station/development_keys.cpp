#include "station/development_keys.h"

#include "firmware_image/keystore.h"
#include "hsm/key_inventory.h"

#include <QDir>
#include <QFile>

namespace keyline::station {

QList<QByteArray> knownDevelopmentKeys(hsm::Hsm* hsm, const QString& exportDir) {
    static const QString labels[3] = {hsm::labels::devAppSigning, hsm::labels::devUpdateAuth,
                                      hsm::labels::devBackendE2e};
    QList<QByteArray> keys;
    if (hsm)
        for (const QString& label : labels) {
            hsm::KeyUri uri;
            uri.object = label;
            if (auto spki = hsm->publicKey(uri); spki.ok())
                keys << *spki;
        }
    for (const char* file :
         {"dev-app-signing.pub.pem", "dev-update-auth.pub.pem", "dev-backend-e2e.pub.pem"}) {
        QFile f(QDir(exportDir).filePath(QLatin1String(file)));
        if (f.size() < 4096 && f.open(QIODevice::ReadOnly))
            if (auto point = firmware::p256PointFromPublicKey(f.readAll()); point.ok())
                keys << *point;
    }
    return keys;
}

} // namespace keyline::station
