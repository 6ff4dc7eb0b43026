#include "sim/registry/registry_server.h"

#include "sim/registry/registration_request.h"

#include <QFile>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QJsonDocument>
#include <QMetaEnum>
#include <QSslConfiguration>
#include <QSslServer>
#include <QSslSocket>

namespace keyline::registry {

namespace {

// QtHttpServer 6.4 buffers a whole request before handing it over, so the 16 KiB body limit
// alone would let a client make it buffer gigabytes first. A connection that sends more than
// this without getting an answer is cut off instead.
constexpr qint64 kMaxUnansweredBytes = 4 * kMaxBodyBytes;

Result<QByteArray> readFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    return file.readAll();
}

QString methodName(QHttpServerRequest::Method method) {
    return QString::fromLatin1(QMetaEnum::fromType<QHttpServerRequest::Method>().valueToKey(
                                   static_cast<int>(method)))
        .toUpper();
}

} // namespace

Result<TlsSettings> loadServerTls(const QString& certPath, const QString& keyPath) {
    TlsSettings tls;
    KL_TRY_ASSIGN(const QByteArray certPem, readFile(certPath));
    tls.serverChain = QSslCertificate::fromData(certPem, QSsl::Pem);
    if (tls.serverChain.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 holds no PEM certificate").arg(certPath));
    KL_TRY_ASSIGN(const QByteArray keyPem, readFile(keyPath));
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Ec, QSsl::Rsa}) {
        tls.serverKey = QSslKey(keyPem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!tls.serverKey.isNull())
            return tls;
    }
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("%1 is not an unencrypted PEM EC or RSA private key").arg(keyPath));
}

RegistryServer::RegistryServer(RegistryApi& api, Logger log, QObject* parent)
    : QAbstractHttpServer(parent)
    , m_api(api)
    , m_log(std::move(log)) {}

Result<quint16> RegistryServer::start(const QHostAddress& address, quint16 port,
                                      const TlsSettings& tls) {
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setProtocol(QSsl::TlsV1_2OrLater);
    config.setLocalCertificateChain(tls.serverChain);
    config.setPrivateKey(tls.serverKey);
    // Only our CAs: setting the list also stops Qt from consulting the system's roots.
    config.setCaCertificates(tls.clientCas);
    config.setPeerVerifyMode(QSslSocket::VerifyPeer); // no client certificate: no session
    sslSetup(config);
    const quint16 bound = listen(address, port);
    if (bound == 0)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot listen on %1:%2 (in use, or not an address of this "
                                    "machine)")
                         .arg(address.toString())
                         .arg(port));
    const QList<QTcpServer*> listeners = servers();
    for (QTcpServer* listener : listeners) {
        auto* ssl = qobject_cast<QSslServer*>(listener);
        if (!ssl)
            continue;
        connect(ssl, &QSslServer::startedEncryptionHandshake, this,
                &RegistryServer::watchConnection);
        // Refused handshakes are the registry's main security event: say who and why.
        connect(ssl, &QSslServer::sslErrors, this,
                [this](QSslSocket* socket, const QList<QSslError>& errors) {
                    QStringList reasons;
                    for (const QSslError& e : errors)
                        reasons.append(e.errorString());
                    m_log(QStringLiteral("refused TLS client %1: %2")
                              .arg(socket->peerAddress().toString(),
                                   reasons.join(QStringLiteral("; "))));
                });
        connect(ssl, &QSslServer::errorOccurred, this,
                [this](QSslSocket* socket, QAbstractSocket::SocketError) {
                    m_log(QStringLiteral("TLS client %1: %2")
                              .arg(socket->peerAddress().toString(), socket->errorString()));
                });
    }
    return bound;
}

void RegistryServer::watchConnection(QSslSocket* socket) {
    // Connected before QtHttpServer's own readyRead handler, so this sees each piece first.
    auto unanswered = std::make_shared<qint64>(0);
    connect(socket, &QSslSocket::readyRead, socket, [this, socket, unanswered] {
        *unanswered += socket->bytesAvailable();
        if (*unanswered > kMaxUnansweredBytes) {
            m_log(QStringLiteral("client %1 sent more than %2 bytes without an answer: cut off")
                      .arg(socket->peerAddress().toString())
                      .arg(kMaxUnansweredBytes));
            socket->abort();
        }
    });
    connect(socket, &QSslSocket::encryptedBytesWritten, socket,
            [unanswered](qint64) { *unanswered = 0; });
}

bool RegistryServer::handleRequest(const QHttpServerRequest& request, QTcpSocket* socket) {
    ApiRequest api;
    api.method = methodName(request.method());
    api.path = request.url().path();
    api.query = request.query();
    api.body = request.body();
    const auto headers = request.headers();
    for (const auto& [name, value] : headers)
        if (name.compare("content-type", Qt::CaseInsensitive) == 0)
            api.contentType = value;
    if (auto* ssl = qobject_cast<QSslSocket*>(socket)) {
        const QSslCertificate leaf = ssl->peerCertificate();
        if (!leaf.isNull()) {
            api.clientChain.append(leaf.toDer());
            const QList<QSslCertificate> chain = ssl->peerCertificateChain();
            for (const QSslCertificate& cert : chain)
                if (cert != leaf)
                    api.clientChain.append(cert.toDer());
        }
    }
    const ApiResponse response = m_api.handle(api);
    m_log(QStringLiteral("%1 %2 %3 -> %4")
              .arg(socket->peerAddress().toString(), api.method, api.path)
              .arg(response.status));
    respond(request, socket, response);
    return true;
}

void RegistryServer::missingHandler(const QHttpServerRequest& request, QTcpSocket* socket) {
    // Not reached: handleRequest answers everything, but the base class requires it.
    respond(
        request, socket,
        errorResponse({404, QStringLiteral("not-found"), QStringLiteral("no such endpoint"), {}}));
}

void RegistryServer::respond(const QHttpServerRequest& request, QTcpSocket* socket,
                             const ApiResponse& response) {
    QHttpServerResponder responder = makeResponder(request, socket);
    const auto status = static_cast<QHttpServerResponder::StatusCode>(response.status);
    const QJsonDocument body(response.body);
    if (response.location.isEmpty())
        responder.write(body, status);
    else
        responder.write(body, {{"Location", response.location.toUtf8()}}, status);
}

} // namespace keyline::registry
