#pragma once

// The HTTPS side of the registry: mutual TLS (TLS 1.2 or later, a client certificate required
// and verified against the device root and station CAs) on QtHttpServer's QAbstractHttpServer,
// handing each request with the client's certificate chain to RegistryApi. Subclassing the
// abstract server rather than using QHttpServer's router is what gives access to the socket,
// and so to the peer certificate, for every request.

#include "common/result.h"
#include "sim/registry/registry_api.h"

#include <QAbstractHttpServer>
#include <QHostAddress>
#include <QSslCertificate>
#include <QSslKey>
#include <functional>

namespace keyline::registry {

struct TlsSettings {
    QList<QSslCertificate> serverChain; // leaf first
    QSslKey serverKey;
    QList<QSslCertificate> clientCas; // device root (+ intermediates) and station CA
};

// Reads the server certificate chain and key (EC or RSA, PEM, unencrypted).
Result<TlsSettings> loadServerTls(const QString& certPath, const QString& keyPath);

class RegistryServer : public QAbstractHttpServer {
    Q_OBJECT
public:
    using Logger = std::function<void(const QString&)>;
    RegistryServer(RegistryApi& api, Logger log, QObject* parent = nullptr);

    // Listens on address:port (0 = a free port) and returns the port.
    Result<quint16> start(const QHostAddress& address, quint16 port, const TlsSettings& tls);

protected:
    bool handleRequest(const QHttpServerRequest& request, QTcpSocket* socket) override;
    void missingHandler(const QHttpServerRequest& request, QTcpSocket* socket) override;

private:
    void watchConnection(QSslSocket* socket);
    void respond(const QHttpServerRequest& request, QTcpSocket* socket,
                 const ApiResponse& response);

    RegistryApi& m_api;
    Logger m_log;
};

} // namespace keyline::registry
