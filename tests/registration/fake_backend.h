#pragma once

// A tiny HTTPS server that answers every request with fixed bytes (garbage, a truncated body,
// an oversized one), or trickles them, or sends a body without end: what a broken back-end or a
// proxy in between might send. keyline-registry, the reference back-end, answers correctly by
// design and cannot be made to misbehave like this, so these answers come from here. It runs
// on its own thread because the registration client blocks the calling one.

#include <QFile>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QThread>
#include <QTimer>
#include <atomic>
#include <catch2/catch.hpp>

namespace keyline::test {

class FakeBackend {
public:
    // How the fake answers. It speaks mutual TLS when `clientCa` is set, as the registry does:
    // the misbehaviour is then past the handshake, where only an answer can be wrong.
    struct Behaviour {
        QByteArray answer;      // written once the request (headers and body) has arrived
        bool closeAfter = true; // close the connection after `answer` (and `slowly`)
        QByteArray slowly;      // then these bytes, one per `everyMs` (a trickling back-end)
        QByteArray forever;     // then these, again every `everyMs` without end (an endless body)
        int everyMs = 0;
        QString clientCa; // PEM file: require a client certificate that chains to it
    };

    // `answer` is written once the request (headers and Content-Length body) has arrived; with
    // `closeAfter` the connection is closed right after it.
    FakeBackend(const QString& certPem, const QString& keyPem, QByteArray answer,
                bool closeAfter = true)
        : FakeBackend(certPem, keyPem, Behaviour{std::move(answer), closeAfter, {}, {}, 0, {}}) {}

    FakeBackend(const QString& certPem, const QString& keyPem, Behaviour behaviour) {
        QFile keyFile(keyPem);
        REQUIRE(keyFile.open(QIODevice::ReadOnly));
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificateChain(QSslCertificate::fromPath(certPem));
        tls.setPrivateKey(QSslKey(&keyFile, QSsl::Ec));
        if (behaviour.clientCa.isEmpty()) {
            tls.setPeerVerifyMode(QSslSocket::VerifyNone);
        } else {
            tls.setCaCertificates(QSslCertificate::fromPath(behaviour.clientCa));
            tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
        }
        m_thread.start();
        m_server = new QSslServer;
        m_server->setSslConfiguration(tls);
        m_server->moveToThread(&m_thread);
        quint16 port = 0;
        QMetaObject::invokeMethod(
            m_server,
            [this, &port, behaviour] {
                QObject::connect(m_server, &QTcpServer::pendingConnectionAvailable, m_server,
                                 [this, behaviour] { accept(behaviour); });
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
    // Bytes of answer handed to the sockets so far.
    qint64 bytesSent() const { return m_sent; }

private:
    void accept(const Behaviour& b) {
        while (QTcpSocket* raw = m_server->nextPendingConnection()) {
            auto* socket = qobject_cast<QSslSocket*>(raw);
            auto buffer = std::make_shared<QByteArray>();
            QObject::connect(socket, &QSslSocket::readyRead, socket, [this, socket, buffer, b] {
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
                socket->write(b.answer);
                m_sent += b.answer.size();
                if (b.slowly.isEmpty() && b.forever.isEmpty()) {
                    if (b.closeAfter)
                        socket->disconnectFromHost();
                    return;
                }
                stream(socket, b);
            });
            QObject::connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
        }
    }

    // `slowly` a byte at a time, then `forever` without end, while the client is there; never
    // more than 256 KiB queued, so the fake's own memory stays bounded too.
    void stream(QSslSocket* socket, const Behaviour& b) {
        auto* timer = new QTimer(socket);
        auto next = std::make_shared<qsizetype>(0);
        QObject::connect(timer, &QTimer::timeout, socket, [this, socket, timer, next, b] {
            if (socket->state() != QAbstractSocket::ConnectedState) {
                timer->stop();
                return;
            }
            if (*next < b.slowly.size()) {
                socket->write(b.slowly.mid((*next)++, 1));
                ++m_sent;
            } else if (!b.forever.isEmpty()) {
                if (socket->bytesToWrite() < 256 * 1024) {
                    socket->write(b.forever);
                    m_sent += b.forever.size();
                }
            } else {
                timer->stop();
                if (b.closeAfter)
                    socket->disconnectFromHost();
            }
        });
        timer->start(std::max(b.everyMs, 1));
    }

    QThread m_thread;
    QSslServer* m_server = nullptr;
    std::atomic<qint64> m_sent{0};
};

} // namespace keyline::test
