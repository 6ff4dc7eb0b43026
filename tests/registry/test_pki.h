#pragma once

// A throwaway PKI made with the openssl command line, shaped like production
// (docs/certificate-profile.md): device root → issuing CA → devices; a server certificate for
// 127.0.0.1/localhost; station certificates (OU=station) under the root and under a separate
// station CA. Everything lives in a temporary directory that goes away with the object.

#include <QString>
#include <QTemporaryDir>

struct TestPki {
    TestPki();

    QString path(const QString& name) const { return dir.filePath(name); }
    // name.pem (leaf, plus the issuing CA for devices) and name.key
    QString cert(const QString& name) const { return path(name + QStringLiteral(".pem")); }
    QString key(const QString& name) const { return path(name + QStringLiteral(".key")); }
    QString leaf(const QString& name) const { return path(name + QStringLiteral("-leaf.pem")); }
    // The leaf's PEM text, as the station's outbox puts it into a registration.
    QByteArray leafPem(const QString& name) const;
    // A registration body for device `name` with the given fields.
    QByteArray
    registration(const QString& name, const QString& deviceId, const QString& customer,
                 const QString& chipUid = QStringLiteral("00112233445566778899aabbccddeeff")) const;

    QString rootCa() const { return path(QStringLiteral("root.pem")); }
    QString deviceCa() const { return path(QStringLiteral("device-ca.pem")); } // root + issuing
    QString stationCa() const { return path(QStringLiteral("station-ca.pem")); }

    QTemporaryDir dir;
};
