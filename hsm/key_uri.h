#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

namespace keyline::hsm {

// An RFC 7512 PKCS#11 URI naming a key in configuration, e.g.
// "pkcs11:token=keyline-dev;object=keyline-issuing-ca;type=private".
// Only the attributes the station matches on are kept; others are parsed and ignored.
struct KeyUri {
    QString token;  // token label; empty: the configured token
    QString object; // CKA_LABEL; required
    QByteArray id;  // CKA_ID; empty: any
    QString type;   // "private", "public", "secret", "cert" or empty

    // BadInput with the reason for anything p11-kit does not accept or without object=.
    static Result<KeyUri> parse(const QString& uri);
    // Canonical text form (p11-kit formats it, so it round-trips).
    QString toString() const;
};

} // namespace keyline::hsm
