#pragma once

// A tiny HTTPS server that answers every request with fixed bytes (garbage, a truncated body,
// an oversized one): what a broken back-end or a proxy in between might send. It runs on its
// own thread because the registration client blocks the calling one.

#include <QFile>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QThread>
#include <catch2/catch.hpp>

namespace keyline::test {

class FakeBackend {
public:
    // `answer` is written once the request (headers and Content-Length body) has arrived; with
    // `closeAfter` the connection is closed right after it.
    FakeBackend(const QString& certPem, const QString& keyPem, QByteArray answer,
                bool closeAfter = true) {
        QFile keyFile(keyPem);
        REQUIRE(keyFile.open(QIODevice::ReadOnly));
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificateChain(QSslCertificate::fromPath(certPem));
        tls.setPrivateKey(QSslKey(&keyFile, QSsl::Ec));
        tls.setPeerVerifyMode(QSslSocket::VerifyNone);
        m_thread.start();
        m_server = new QSslServer;
        m_server->setSslConfiguration(tls);
        m_server->moveToThread(&m_thread);
        quint16 port = 0;
        QMetaObject::invokeMethod(
            m_server,
            [this, &port, answer, closeAfter] {
                QObject::connect(m_server, &QTcpServer::pendingConnectionAvailable, m_server,
                                 [this, answer, closeAfter] { accept(answer, closeAfter); });
                if (m_server->listen(QHostAddress::LocalHost, 0))
                    port = m_server->serverPort();
            },
            Qt::BlockingQueuedConnection);
        REQUIRE(port != 0);
        url = QStringLiteral("https://127.0.0.1:%1").arg(port);
    }
    ~FakeBackend() {
        QMetaObject::invokeMethod(
            m_server, [this] { delete m_server; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }

    QString url;

private:
    void accept(const QByteArray& answer, bool closeAfter) {
        while (QTcpSocket* raw = m_server->nextPendingConnection()) {
            auto* socket = qobject_cast<QSslSocket*>(raw);
            auto buffer = std::make_shared<QByteArray>();
            QObject::connect(
                socket, &QSslSocket::readyRead, socket, [socket, buffer, answer, closeAfter] {
                    *buffer += socket->readAll();
                    const qsizetype end = buffer->indexOf("\r\n\r\n");
                    if (end < 0)
                        return;
                    qsizetype length = 0;
                    const qsizetype at = buffer->toLower().indexOf("content-length:");
                    if (at >= 0 && at < end)
                        length = buffer->mid(at + 15, buffer->indexOf('\r', at) - at - 15)
                                     .trimmed()
                                     .toLongLong();
                    if (buffer->size() < end + 4 + length)
                        return;
                    buffer->clear();
                    socket->write(answer);
                    if (closeAfter)
                        socket->disconnectFromHost();
                });
            QObject::connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
        }
    }

    QThread m_thread;
    QSslServer* m_server = nullptr;
};

} // namespace keyline::test
