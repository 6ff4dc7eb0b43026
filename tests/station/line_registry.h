#pragma once

// keyline-registry as a process for a development line: the registry-dev server certificate
// and key that `keyline hsm init-dev` exported, the device root (+ issuing CA for device
// chains), and an ACL that lets this station serve acme. Plus the station's side of it: the
// [backend] section and `keyline registry list`.

#include "line_fixture.h"
#include "registry_fixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSslCertificate>
#include <QTcpServer>

namespace keyline::test {

struct LineRegistry {
    QProcess process;
    QString url;
    QString dbPath; // the registry's own store

    LineRegistry(const LineFixture& f, quint16 port) {
        const QString deviceCa =
            f.writeFile(QStringLiteral("registry-device-ca.pem"),
                        readAll(f.exportFile(QStringLiteral("device-root-ca.pem"))) +
                            readAll(f.exportFile(QStringLiteral("issuing-ca.pem"))));
        const QString acl =
            f.writeFile(QStringLiteral("stations.acl"), stationName(f).toUtf8() + ": acme\n");
        dbPath = f.path(QStringLiteral("registry.db"));
        url = startRegistry(
            process, {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:%1").arg(port),
                      QStringLiteral("--cert"), f.exportFile(QStringLiteral("registry-dev.pem")),
                      QStringLiteral("--key"), f.exportFile(QStringLiteral("registry-dev.key")),
                      QStringLiteral("--device-ca"), deviceCa, QStringLiteral("--station-acl"), acl,
                      QStringLiteral("--db"), dbPath});
    }
    ~LineRegistry() {
        process.terminate();
        if (!process.waitForFinished(5000))
            process.kill();
        process.waitForFinished(5000);
    }

    static QByteArray readAll(const QString& path) {
        QFile f(path);
        REQUIRE(f.open(QIODevice::ReadOnly));
        return f.readAll();
    }
    // The CN init-dev wrote into the station's TLS certificate.
    static QString stationName(const LineFixture& f) {
        const auto cert =
            QSslCertificate::fromPath(f.exportFile(QStringLiteral("station-tls.pem")));
        REQUIRE(cert.size() == 1);
        return cert.constFirst().subjectInfo(QSslCertificate::CommonName).value(0);
    }
};

inline quint16 freePort() {
    QTcpServer s;
    REQUIRE(s.listen(QHostAddress::LocalHost, 0));
    return s.serverPort();
}

// Adds [backend] to the line's keyline.conf.
inline void configureBackend(LineFixture& f, const QString& url) {
    QFile conf(f.config);
    REQUIRE(conf.open(QIODevice::Append));
    conf.write("[backend]\nurl = " + url.toUtf8() + "\ntimeout_ms = 3000\n");
}

inline QJsonObject registryList(const LineFixture& f) {
    const CliRun r =
        f.expect({QStringLiteral("registry"), QStringLiteral("list"), QStringLiteral("--customer"),
                  QStringLiteral("acme"), QStringLiteral("--json")},
                 0);
    return QJsonDocument::fromJson(r.out.toUtf8()).object();
}

inline QStringList registryDeviceIds(const QJsonObject& list, const QString& state) {
    QStringList ids;
    for (const QJsonValue& v : list.value(QStringLiteral("devices")).toArray())
        if (v.toObject().value(QStringLiteral("state")).toString() == state)
            ids << v.toObject().value(QStringLiteral("deviceId")).toString();
    return ids;
}

} // namespace keyline::test
