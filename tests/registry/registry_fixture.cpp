#include "registry_fixture.h"

#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QSslConfiguration>
#include <QSslKey>
#include <QTimer>
#include <catch2/catch.hpp>

QString registryPath() {
    return QDir(qEnvironmentVariable("KEYLINE_BUILD_DIR"))
        .filePath(QStringLiteral("sim/registry/keyline-registry"));
}

RegistryProcess::RegistryProcess(const TestPki& testPki, const QStringList& extraArgs,
                                 const QByteArray& acl)
    : pki(testPki) {
    QFile aclFile(pki.path(QStringLiteral("stations.acl")));
    REQUIRE(aclFile.open(QIODevice::WriteOnly));
    aclFile.write(acl);
    aclFile.close();
    arguments = QStringList{QStringLiteral("--listen"),      QStringLiteral("127.0.0.1:0"),
                            QStringLiteral("--cert"),        pki.cert(QStringLiteral("server")),
                            QStringLiteral("--key"),         pki.key(QStringLiteral("server")),
                            QStringLiteral("--device-ca"),   pki.deviceCa(),
                            QStringLiteral("--station-acl"), aclFile.fileName(),
                            QStringLiteral("--db"),          dbPath()} +
                extraArgs;
    url = startRegistry(process, arguments);
}

QString startRegistry(QProcess& process, const QStringList& arguments) {
    process.setProcessChannelMode(QProcess::SeparateChannels);
    process.start(registryPath(), arguments);
    REQUIRE(process.waitForStarted(5000));
    QByteArray out;
    while (!out.contains('\n')) {
        if (!process.waitForReadyRead(10000)) {
            INFO(process.readAllStandardError().toStdString());
            FAIL("keyline-registry did not print its ready line");
        }
        out += process.readAllStandardOutput();
    }
    const QByteArray line = out.left(out.indexOf('\n'));
    REQUIRE(line.startsWith("ready https://127.0.0.1:"));
    return QString::fromLatin1(line.mid(6));
}

RegistryProcess::~RegistryProcess() {
    if (process.state() != QProcess::NotRunning) {
        process.kill();
        process.waitForFinished(5000);
    }
}

int RegistryProcess::stop() {
    process.terminate();
    REQUIRE(process.waitForFinished(10000));
    return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
}

QString RegistryProcess::dbPath() const {
    return pki.path(QStringLiteral("registry.db"));
}

HttpsReply HttpsClient::get(const QString& path) const {
    return send(QStringLiteral("GET"), path, {}, {});
}

HttpsReply HttpsClient::post(const QString& path, const QByteArray& body,
                             const QByteArray& contentType) const {
    return send(QStringLiteral("POST"), path, body, contentType);
}

HttpsReply HttpsClient::send(const QString& method, const QString& path, const QByteArray& body,
                             const QByteArray& contentType) const {
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates(QSslCertificate::fromPath(pki.rootCa()));
    if (!identity.isEmpty()) {
        const QList<QSslCertificate> chain = QSslCertificate::fromPath(pki.cert(identity));
        REQUIRE(!chain.isEmpty());
        tls.setLocalCertificateChain(chain);
        QFile keyFile(pki.key(identity));
        REQUIRE(keyFile.open(QIODevice::ReadOnly));
        const QSslKey key(&keyFile, QSsl::Ec);
        REQUIRE(!key.isNull());
        tls.setPrivateKey(key);
    }
    QNetworkRequest request(QUrl(baseUrl + path));
    request.setSslConfiguration(tls);
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (!contentType.isEmpty())
        request.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    // A manager per request: connections are never reused across client identities.
    QNetworkAccessManager manager;
    QNetworkReply* reply = method == QLatin1String("GET")
                               ? manager.get(request)
                               : manager.sendCustomRequest(request, method.toLatin1(), body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(15000, &loop, &QEventLoop::quit);
    loop.exec();
    REQUIRE(reply->isFinished());
    HttpsReply out;
    out.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    out.error = reply->error();
    out.errorString = reply->errorString();
    out.body = reply->readAll();
    out.json = QJsonDocument::fromJson(out.body).object();
    delete reply;
    return out;
}
