#pragma once

// keyline-registry as a process on a free loopback port, and a Qt HTTPS client that talks to it
// with a chosen client certificate (or none), over real mutual TLS.

#include "test_pki.h"

#include <QJsonObject>
#include <QNetworkReply>
#include <QProcess>
#include <QStringList>
#include <optional>

QString registryPath();
// Starts keyline-registry with `arguments` and waits for its "ready https://…" line: the URL.
QString startRegistry(QProcess& process, const QStringList& arguments);

struct RegistryProcess {
    // Starts the registry with the PKI's files, an ACL "station-01: acme" (and `extraArgs`), and
    // waits for its "ready https://…" line.
    RegistryProcess(const TestPki& pki, const QStringList& extraArgs = {},
                    const QByteArray& acl = "station-01: acme\nstation-02: acme\n");
    ~RegistryProcess();
    // SIGTERM and wait: the exit code.
    int stop();
    QString dbPath() const;

    const TestPki& pki;
    QProcess process;
    QString url; // https://127.0.0.1:PORT
    QStringList arguments;
};

struct HttpsReply {
    int status = 0; // 0: no HTTP answer at all
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QString errorString;
    QJsonObject json;
    QByteArray body;
};

struct HttpsClient {
    const TestPki& pki;
    QString baseUrl;
    QString identity; // the PKI name whose certificate and key to present; empty: none

    HttpsReply get(const QString& path) const;
    HttpsReply post(const QString& path, const QByteArray& body,
                    const QByteArray& contentType = "application/json") const;

private:
    HttpsReply send(const QString& method, const QString& path, const QByteArray& body,
                    const QByteArray& contentType) const;
};
