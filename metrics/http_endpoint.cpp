#include "metrics/http_endpoint.h"

#include "metrics/exposition.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace keyline::metrics {
namespace {

// A scrape request is a few hundred bytes; anything bigger is not a scraper.
constexpr qsizetype kMaxRequestHead = 8192;
// A client that has not sent its request by then holds a socket for nothing.
constexpr int kRequestTimeoutMs = 5000;
constexpr int kMaxConnections = 32;

QByteArray answer(const char* status, const char* contentType, const QByteArray& body,
                  const char* extraHeaders = "") {
    return QByteArray("HTTP/1.1 ") + status + "\r\nContent-Type: " + contentType +
           "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n" + extraHeaders +
           "Connection: close\r\n\r\n" + body;
}

const char kPlain[] = "text/plain; charset=utf-8";

void serve(QTcpSocket* socket, const Registry& registry) {
    struct Request {
        QByteArray head;
        bool answered = false;
    };
    auto request = std::make_shared<Request>();
    QTimer::singleShot(kRequestTimeoutMs, socket, [socket] { socket->abort(); });
    QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    QObject::connect(socket, &QTcpSocket::errorOccurred, socket, &QObject::deleteLater);
    QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, request, &registry] {
        if (request->answered) {
            socket->readAll(); // one request per connection: the rest is ignored
            return;
        }
        request->head += socket->readAll();
        const bool complete = request->head.contains("\r\n\r\n") || request->head.contains("\n\n");
        if (!complete && request->head.size() <= kMaxRequestHead)
            return;
        request->answered = true;
        socket->write(complete ? httpResponse(request->head, registry)
                               : answer("431 Request Header Fields Too Large", kPlain,
                                        "request too large\n"));
        socket->disconnectFromHost();
    });
}

} // namespace

Result<ListenAddress> parseListenAddress(const QString& text) {
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    const Error bad(ErrorCode::BadInput,
                    QStringLiteral("\"%1\" is not HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)")
                        .arg(text.left(80)));
    if (colon <= 0)
        return bad;
    QString host = text.left(colon);
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    else if (host.contains(QLatin1Char(':')))
        return bad; // an IPv6 address needs brackets
    bool ok = false;
    const uint port = text.mid(colon + 1).toUInt(&ok);
    ListenAddress a;
    if (!ok || port > 65535 || !a.host.setAddress(host))
        return bad;
    a.port = quint16(port);
    return a;
}

QByteArray httpResponse(const QByteArray& requestHead, const Registry& registry) {
    const QByteArray line = requestHead.left(requestHead.indexOf('\n')).trimmed();
    const QList<QByteArray> parts = line.split(' ');
    if (parts.size() != 3 || !parts[2].startsWith("HTTP/1."))
        return answer("400 Bad Request", kPlain, "bad request\n");
    QByteArray path = parts[1];
    if (const qsizetype q = path.indexOf('?'); q >= 0)
        path.truncate(q);
    if (path != "/metrics")
        return answer("404 Not Found", kPlain, "not found: metrics are at GET /metrics\n");
    if (parts[0] != "GET")
        return answer("405 Method Not Allowed", kPlain, "only GET is allowed\n", "Allow: GET\r\n");
    return answer("200 OK", kContentType, registry.expose());
}

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(const Registry& registry,
                                                          const ListenAddress& address) {
    std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint);
    endpoint->m_thread.setObjectName(QStringLiteral("metrics-http"));
    endpoint->m_context = new QObject;
    endpoint->m_context->moveToThread(&endpoint->m_thread);
    endpoint->m_thread.start();
    QObject* context = endpoint->m_context;
    QString problem;
    quint16 bound = 0;
    QMetaObject::invokeMethod(
        context,
        [&] {
            auto* server = new QTcpServer(context);
            server->setMaxPendingConnections(kMaxConnections);
            if (!server->listen(address.host, address.port)) {
                problem = server->errorString();
                delete server;
                return;
            }
            bound = server->serverPort();
            QObject::connect(server, &QTcpServer::newConnection, server, [server, &registry] {
                while (QTcpSocket* socket = server->nextPendingConnection()) {
                    // Sockets are the server's children until they are deleted.
                    if (server->children().size() > kMaxConnections) {
                        socket->abort();
                        socket->deleteLater();
                        continue;
                    }
                    serve(socket, registry);
                }
            });
        },
        Qt::BlockingQueuedConnection);
    if (!problem.isEmpty())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("metrics endpoint %1:%2: %3; change [metrics] listen or "
                                    "stop what holds the port")
                         .arg(address.host.toString())
                         .arg(address.port)
                         .arg(problem));
    endpoint->m_port = bound;
    return endpoint;
}

HttpEndpoint::~HttpEndpoint() {
    if (!m_context)
        return;
    // Objects of a thread are deleted in it; then the thread's loop can stop.
    QObject* context = m_context;
    QMetaObject::invokeMethod(
        context,
        [context] {
            const QObjectList children = context->children(); // deleting one changes the list
            qDeleteAll(children);
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_context;
}

} // namespace keyline::metrics
